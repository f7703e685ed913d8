import type { MqttClient } from 'mqtt';
import { channelBase, MANAGER_TOPICS } from './topics.ts';
import { publishJson, type MqttSettings } from './client.ts';
import { mqttMessagesOut, mqttPublishFailures } from '../observability/metrics.ts';
import type { InvokeMessage, StartMessage, StopMessage } from './outbound-payloads.ts';

/** Sends commands to proplets on the channel's manager topics. */
export class CommandPublisher {
  private readonly base: string;

  constructor(
    private readonly client: MqttClient,
    private readonly settings: MqttSettings,
  ) {
    this.base = channelBase(settings.tenantId, settings.channelId);
  }

  publishStart(message: StartMessage): Promise<void> {
    return this.publish(MANAGER_TOPICS.start, message);
  }

  publishStop(message: StopMessage): Promise<void> {
    return this.publish(MANAGER_TOPICS.stop, message);
  }

  publishInvoke(message: InvokeMessage): Promise<void> {
    return this.publish(MANAGER_TOPICS.invoke, message);
  }

  private async publish(suffix: string, message: unknown): Promise<void> {
    try {
      await publishJson(
        this.client,
        `${this.base}/${suffix}`,
        message,
        this.settings.qos,
        this.settings.timeoutMs,
      );
    } catch (error) {
      mqttPublishFailures.inc({ topic: suffix });
      throw error;
    }
    mqttMessagesOut.inc({ topic: suffix });
  }
}
