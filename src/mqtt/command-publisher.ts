import type { MqttClient } from 'mqtt';
import { NO_MESSAGE_TRACING, type MessageTracing } from '../observability/message-tracing.ts';
import { channelBase, MANAGER_TOPICS } from './topics.ts';
import { publishJson, type MqttSettings } from './client.ts';
import { mqttMessagesOut, mqttPublishFailures } from '../observability/metrics.ts';
import type { InvokeMessage, StartMessage, StopMessage } from './outbound-payloads.ts';

/**
 * Sends commands to proplets on the channel's manager topics. With tracing on, each command carries its
 * trace context in MQTT 5 user properties; the payload is the same either way, and MQTT 3.1.1 has no user
 * properties, so there the context stays behind.
 */
export class CommandPublisher {
  private readonly base: string;

  constructor(
    private readonly client: MqttClient,
    private readonly settings: MqttSettings,
    private readonly tracing: MessageTracing = NO_MESSAGE_TRACING,
  ) {
    this.base = channelBase(settings.tenantId, settings.channelId);
  }

  publishStart(message: StartMessage): Promise<void> {
    return this.publish(MANAGER_TOPICS.start, message, message.proplet_id);
  }

  publishStop(message: StopMessage): Promise<void> {
    return this.publish(MANAGER_TOPICS.stop, message, message.proplet_id);
  }

  publishInvoke(message: InvokeMessage): Promise<void> {
    return this.publish(MANAGER_TOPICS.invoke, message, message.proplet_id);
  }

  private async publish(
    suffix: string,
    message: { id: string },
    propletId: string | undefined,
  ): Promise<void> {
    const topic = `${this.base}/${suffix}`;
    try {
      await this.tracing.publish({ topic, name: suffix, taskId: message.id, propletId }, (userProperties) =>
        publishJson(
          this.client,
          topic,
          message,
          this.settings.qos,
          this.settings.timeoutMs,
          this.settings.protocolVersion === 5 ? userProperties : undefined,
        ),
      );
    } catch (error) {
      mqttPublishFailures.inc({ topic: suffix });
      throw error;
    }
    mqttMessagesOut.inc({ topic: suffix });
  }
}
