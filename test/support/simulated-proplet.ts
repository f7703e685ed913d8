import { randomUUID } from 'node:crypto';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import {
  invokeMessage,
  startMessage,
  stopMessage,
  type InvokeMessage,
  type StartMessage,
  type StopMessage,
} from '../../src/mqtt/outbound-payloads.ts';
import { TEST_MQTT_PROTOCOL_VERSION, TEST_MQTT_URL } from './test-database.ts';
import { waitFor } from './wait.ts';

/** What upstream proplets report for a run they were told to stop. */
export const CANCELLED = 'Task was cancelled or panicked';

export interface ProtocolTopics {
  tenantId: string;
  channelId: string;
}

/**
 * A broker other than the shared test broker, as a proplet of a real deployment reaches it: its own
 * password (the login is the proplet's id, as upstream's) and, for mqtts://, the CA to verify the broker
 * against and a client certificate for a broker that asks for one.
 */
export interface PropletConnection {
  url: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/** What the proplet answers to a start: a result (results/error), or nothing (keeps running until stopped). */
export type StartBehaviour = (
  start: StartMessage,
) => { results?: unknown; error?: string | null } | 'keep-running';

/** What the proplet answers to an invocation: results, an error, or nothing at all (never answers). */
export type InvokeBehaviour = (
  invoke: InvokeMessage,
) => { results?: string; error?: string | null } | 'no-answer';

/**
 * A proplet speaking the upstream protocol (spec §3), as the Rust proplet does: discovery once, heartbeats,
 * a last will, starts filtered by proplet_id, one result per run. It runs no Wasm: tests script the answers.
 */
export class SimulatedProplet {
  readonly id: string;
  readonly starts: StartMessage[] = [];
  readonly stops: StopMessage[] = [];
  readonly invokes: InvokeMessage[] = [];
  /**
   * Answers invocations as upstream proplets do: a task it has not deployed (no latent start received) has
   * "not been precompiled"; a deployed one answers `ran <task id>`. Tests replace it to script answers.
   */
  invokeBehaviour: InvokeBehaviour = (invoke) =>
    this.starts.some((start) => start.id === invoke.id && start.latent)
      ? { results: `ran ${invoke.id}` }
      : { error: `task ${invoke.id} has not been precompiled on proplet ${this.id}` };
  /**
   * Reports a stopped run as upstream proplets do, with the error "Task was cancelled or panicked"; off by
   * default, as most tests look only at the stop.
   */
  reportsCancellation = false;
  /**
   * Sends the W3C trace context of a start (MQTT 5 user properties) back on its result, as a proplet that
   * joins the manager's traces does. Set before start(): it connects with MQTT 5 where the broker has it.
   */
  echoesTraceContext = false;
  /** The user properties each start came with, by task id (none over MQTT 3.1.1). */
  readonly startProperties = new Map<string, Record<string, string | string[]>>();
  /** Runs started and not yet answered (keep-running), by task id. */
  private readonly running = new Set<string>();
  private client?: MqttClient;
  private heartbeat?: NodeJS.Timeout;
  private readonly base: string;

  constructor(
    topics: ProtocolTopics,
    // A latent start deploys, as upstream's: no result until invoked.
    private readonly behaviour: StartBehaviour = (start) =>
      start.latent ? 'keep-running' : { results: `ran ${start.name}` },
    id: string = randomUUID(),
    private readonly heartbeatMs = 200,
  ) {
    this.id = id;
    this.base = `m/${topics.tenantId}/c/${topics.channelId}`;
  }

  /** Connects (to the shared test broker unless told otherwise), subscribes to manager commands, announces itself and starts beating. */
  async start(
    options: { discovery?: boolean; heartbeats?: boolean; connection?: PropletConnection } = {},
  ): Promise<this> {
    const { url = TEST_MQTT_URL, password, ...tls } = options.connection ?? {};
    this.client = await mqtt.connectAsync(url, {
      ...(this.echoesTraceContext ? { protocolVersion: TEST_MQTT_PROTOCOL_VERSION } : {}),
      ...tls,
      clientId: this.id,
      username: this.id,
      password,
      clean: true,
      reconnectPeriod: 0,
      will: {
        topic: `${this.base}/control/proplet/alive`,
        payload: Buffer.from(JSON.stringify({ status: 'offline', proplet_id: this.id })),
        qos: 1,
        retain: false,
      },
    });
    this.client.on('message', (topic, payload, packet) => this.onCommand(topic, payload, packet));
    await this.client.subscribeAsync(
      ['start', 'stop', 'invoke'].map((command) => `${this.base}/control/manager/${command}`),
      { qos: 1 },
    );
    if (options.discovery !== false) await this.publishDiscovery();
    if (options.heartbeats !== false) this.beat();
    return this;
  }

  async publishDiscovery(): Promise<void> {
    await this.publish('control/proplet/create', {
      proplet_id: this.id,
      namespace: 'default',
      metadata: {
        environment: 'binary',
        os: 'linux',
        hostname: 'sim-host',
        cpu_arch: 'x86_64',
        total_memory_bytes: 8221675520,
        proplet_version: '0.0.0-sim',
        wasm_runtime: 'simulated',
      },
    });
  }

  beat(): void {
    const send = () =>
      void this.publish('control/proplet/alive', {
        proplet_id: this.id,
        status: 'alive',
        namespace: 'default',
      }).catch(() => undefined);
    send();
    this.heartbeat = setInterval(send, this.heartbeatMs);
  }

  /** Stops heartbeats but stays connected: the manager must notice the silence. */
  silence(): void {
    clearInterval(this.heartbeat);
  }

  async publish(
    suffix: string,
    payload: unknown,
    userProperties?: Record<string, string | string[]>,
  ): Promise<void> {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    await this.client!.publishAsync(`${this.base}/${suffix}`, body, {
      qos: 1,
      ...(userProperties ? { properties: { userProperties } } : {}),
    });
  }

  async publishResult(
    taskId: string,
    results: unknown,
    error: string | null = null,
    propletId = this.id,
  ): Promise<void> {
    const started = this.echoesTraceContext ? this.startProperties.get(taskId) : undefined;
    const echoed = started
      ? Object.fromEntries(
          Object.entries(started).filter(([name]) => name === 'traceparent' || name === 'tracestate'),
        )
      : undefined;
    await this.publish(
      'control/proplet/results',
      { task_id: taskId, proplet_id: propletId, results, error },
      echoed,
    );
  }

  async waitForStart(taskId: string, timeoutMs = 10_000): Promise<StartMessage> {
    return waitFor(
      () => this.starts.find((start) => start.id === taskId),
      `start of ${taskId} on ${this.id}`,
      timeoutMs,
    );
  }

  async waitForStop(taskId: string, timeoutMs = 10_000): Promise<StopMessage> {
    return waitFor(
      () => this.stops.find((stop) => stop.id === taskId),
      `stop of ${taskId} on ${this.id}`,
      timeoutMs,
    );
  }

  /** Disconnects abruptly, so the broker publishes the last will. */
  crash(): void {
    clearInterval(this.heartbeat);
    this.client?.stream.destroy();
    this.client?.end(true);
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.client?.endAsync();
  }

  private onCommand(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const json: unknown = JSON.parse(payload.toString());
    if (topic.endsWith('/control/manager/stop')) {
      const stop = stopMessage.parse(json);
      if (stop.broadcast || stop.proplet_id === undefined || stop.proplet_id === this.id) {
        this.stops.push(stop);
        if (this.running.delete(stop.id) && this.reportsCancellation)
          void this.publishResult(stop.id, null, CANCELLED).catch(() => undefined);
      }
      return;
    }
    if (topic.endsWith('/control/manager/invoke')) {
      const invoke = invokeMessage.parse(json);
      if (invoke.proplet_id !== this.id) return;
      this.invokes.push(invoke);
      const answer = this.invokeBehaviour(invoke);
      if (answer === 'no-answer') return;
      void this.publish('control/proplet/invoke_results', {
        task_id: invoke.id,
        invocation_id: invoke.invocation_id,
        proplet_id: this.id,
        results: answer.results ?? '',
        error: answer.error ?? null,
      }).catch(() => undefined);
      return;
    }
    if (!topic.endsWith('/control/manager/start')) return;
    // Upstream rule: a start for another proplet is ignored (spec §3.3.4, rule 2).
    const start = startMessage.parse(json);
    if (!start.broadcast && start.proplet_id !== undefined && start.proplet_id !== this.id) return;
    this.starts.push(start);
    const userProperties = packet.properties?.userProperties;
    if (userProperties) this.startProperties.set(start.id, userProperties);
    const answer = this.behaviour(start);
    if (answer === 'keep-running') {
      this.running.add(start.id);
      return;
    }
    void this.publishResult(start.id, answer.results ?? null, answer.error ?? null).catch(() => undefined);
  }
}
