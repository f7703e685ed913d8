import { randomUUID } from 'node:crypto';
import { arch, hostname, platform, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import mqtt, { type MqttClient } from 'mqtt';
import { z } from 'zod';
import type { PropletConfig } from '../config/proplet-config.ts';
import { brokerAddress, brokerRefusal } from '../mqtt/broker-refusal.ts';
import { startMessage, stopMessage, type StartMessage } from '../mqtt/outbound-payloads.ts';
import type { Logger } from '../observability/logger.ts';
import type { RunRequest } from './run-wasm.ts';
import type { TaskOutcome } from './task-thread.ts';
import { WasmSource } from './wasm-source.ts';

const VERSION = '0.1.0';
const RUNTIME = `node-${process.versions.node}-v8-${process.versions.v8}`;
/** What upstream proplets report when a run is stopped; the manager keys nothing on it but people do. */
const CANCELLED = 'Task was cancelled or panicked';

const invokeMessage = z.object({
  id: z.string().min(1),
  broadcast: z.boolean().optional(),
  proplet_id: z.string().optional(),
  invocation_id: z.string().min(1),
  inputs: z.array(z.union([z.string(), z.number().transform(String)])).nullish(),
  env: z.record(z.string(), z.string()).nullish(),
});

/** Rust reports cpu_arch as its target architecture name. */
const CPU_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'arm', ia32: 'x86' };

interface RunningTask {
  worker: Worker;
  stopped: boolean;
}

/**
 * A proplet in TypeScript that speaks what the upstream Rust proplet speaks (spec §3): discovery once,
 * heartbeats, a last will, start/stop/invoke on the manager topics with the same targeting rules, one result
 * per run. Each run is a worker thread, so stop ends it at once and a task that never yields cannot hold up
 * heartbeats.
 */
export class Proplet {
  private client?: MqttClient;
  private readonly base: string;
  private readonly running = new Map<string, RunningTask>();
  private readonly latent = new Map<string, StartMessage & { wasm: Uint8Array }>();
  private readonly source: WasmSource;
  private readonly timers: NodeJS.Timeout[] = [];
  /** CPU time and wall time at the previous metrics sample, to report CPU use as a percentage. */
  private lastSample = { cpuMicros: 0, at: performance.now() };

  constructor(
    readonly config: PropletConfig,
    private readonly logger: Logger,
  ) {
    this.base = `m/${config.tenantId}/c/${config.channelId}`;
    this.source = new WasmSource(config.maxDownloadBytes);
  }

  get id(): string {
    return this.config.entityId;
  }

  async start(): Promise<void> {
    const { config } = this;
    this.client = await mqtt
      .connectAsync(config.mqttUrl, {
        ...config.tls,
        clientId: config.entityId,
        username: config.username ?? config.entityId,
        password: config.apiKey === '' ? undefined : config.apiKey,
        clean: true,
        keepalive: 30,
        reconnectPeriod: 1_000,
        will: {
          topic: `${this.base}/control/proplet/alive`,
          payload: Buffer.from(
            JSON.stringify({ status: 'offline', proplet_id: config.entityId, namespace: 'default' }),
          ),
          qos: 1,
          retain: false,
        },
      })
      .catch((error: unknown) => {
        throw connectionError(config.mqttUrl, error);
      });
    this.client.on('error', (error) => this.logger.warn({ err: error }, 'mqtt error'));
    this.client.on('message', (topic, payload) => this.onCommand(topic, payload));
    await this.client.subscribeAsync(
      ['start', 'stop', 'invoke'].map((command) => `${this.base}/control/manager/${command}`),
      { qos: config.qos },
    );
    await this.announce();
    // Upstream announces once, at start-up; announcing again after a reconnect costs nothing (the manager
    // updates the row) and registers the metadata with a manager that started after this proplet.
    this.client.on('connect', () => void this.announce().catch(() => undefined));
    const beat = () =>
      this.publish('control/proplet/alive', {
        proplet_id: config.entityId,
        status: 'alive',
        namespace: 'default',
      });
    await beat();
    this.timers.push(setInterval(() => void beat().catch(() => undefined), config.livelinessIntervalMs));
    this.timers.push(
      setInterval(() => void this.publishMetrics().catch(() => undefined), config.metricsIntervalMs),
    );
    this.logger.info({ propletId: config.entityId, base: this.base }, 'proplet ready');
  }

  private announce(): Promise<void> {
    return this.publish('control/proplet/create', {
      proplet_id: this.config.entityId,
      namespace: 'default',
      metadata: {
        environment: 'binary',
        os: platform(),
        hostname: hostname(),
        cpu_arch: CPU_ARCH[arch()] ?? arch(),
        total_memory_bytes: totalmem(),
        proplet_version: VERSION,
        wasm_runtime: RUNTIME,
      },
    });
  }

  /** Ends every run (without reporting them) and disconnects; the broker does not send the last will. */
  async stop(): Promise<void> {
    this.timers.forEach(clearInterval);
    for (const task of this.running.values()) {
      task.stopped = true;
      await task.worker.terminate();
    }
    // Offline, a graceful end would wait forever for the queued heartbeats to be acknowledged.
    await this.client?.endAsync(!this.client.connected);
  }

  private onCommand(topic: string, payload: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.logger.warn({ topic }, 'command is not JSON: ignored');
      return;
    }
    const command = topic.slice(topic.lastIndexOf('/') + 1);
    if (command === 'start') this.onStart(json);
    else if (command === 'stop')
      void this.onStop(json).catch((error: unknown) => this.logger.warn({ err: error }, 'stop failed'));
    else if (command === 'invoke') this.onInvoke(json);
  }

  private isForMe(message: { broadcast?: boolean; proplet_id?: string }): boolean {
    // Upstream rule: a targeted command names its proplet; without a name, every proplet takes it.
    return Boolean(message.broadcast) || message.proplet_id === undefined || message.proplet_id === this.id;
  }

  private onStart(json: unknown): void {
    const parsed = startMessage.safeParse(json);
    if (!parsed.success) {
      // As upstream: a start that does not decode gets no result (the manager validates before sending).
      this.logger.warn({ error: parsed.error.message }, 'start does not decode: ignored');
      return;
    }
    const start = parsed.data;
    if (!this.isForMe(start)) return;
    const log = this.logger.child({ taskId: start.id });
    if (this.running.has(start.id) || this.latent.has(start.id)) {
      log.info('start for a task already running: ignored');
      return;
    }
    if (start.encrypted) {
      void this.report(start.id, '', 'encrypted tasks need a TEE runtime, which this proplet does not have');
      return;
    }
    if (!start.file && !start.image_url) {
      log.warn('start without file or image_url: ignored');
      return;
    }
    if (this.running.size >= this.config.maxTasks) {
      void this.report(
        start.id,
        '',
        `proplet ${this.id} already runs its limit of ${this.config.maxTasks} tasks`,
      );
      return;
    }
    void this.run(start, log).catch((error: unknown) => log.error({ err: error }, 'run failed'));
  }

  private async run(start: StartMessage, log: Logger): Promise<void> {
    let wasm: Uint8Array;
    try {
      wasm = await this.source.load(start);
    } catch (error) {
      await this.report(start.id, '', (error as Error).message);
      return;
    }
    if (start.latent) {
      // Deployed, not run: invocations run it on demand. No result on success, as upstream.
      this.latent.set(start.id, { ...start, wasm });
      log.info('latent task deployed');
      return;
    }
    const request: RunRequest = {
      wasm,
      name: start.name,
      inputs: start.inputs ?? [],
      env: { PROPLET_ID: this.id, ...(start.env ?? {}) },
      cliArgs: start.cli_args ?? [],
      maxMemoryBytes: this.config.maxMemoryBytes,
    };
    log.info('task started');
    const outcome = await this.execute(start.id, request);
    if (outcome === 'stopped') {
      await this.report(start.id, '', CANCELLED);
      log.info('task stopped');
      return;
    }
    await this.report(start.id, outcome.ok ? outcome.results : '', outcome.ok ? null : outcome.error);
    log.info({ ok: outcome.ok }, 'task finished');
  }

  /** Runs one request in a worker thread; 'stopped' when a stop ended it. */
  private execute(taskId: string, request: RunRequest): Promise<TaskOutcome | 'stopped'> {
    const worker = new Worker(new URL('./task-thread-entry.mjs', import.meta.url), {
      workerData: request,
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    const task: RunningTask = { worker, stopped: false };
    this.running.set(taskId, task);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: TaskOutcome | 'stopped') => {
        if (settled) return;
        settled = true;
        this.running.delete(taskId);
        resolve(outcome);
      };
      worker.once('message', (outcome: TaskOutcome) => {
        settle(outcome);
        void worker.terminate();
      });
      worker.once('error', (error) => settle({ ok: false, error: error.message }));
      worker.once('exit', () => settle(task.stopped ? 'stopped' : { ok: false, error: CANCELLED }));
    });
  }

  private async onStop(json: unknown): Promise<void> {
    const parsed = stopMessage.safeParse(json);
    if (!parsed.success) return;
    // Upstream proplets act on the id alone.
    const { id } = parsed.data;
    if (this.latent.delete(id)) {
      // Its invocations in flight end with it, as upstream's do.
      for (const [key, invocation] of this.running) {
        if (!key.startsWith(`${id}:`)) continue;
        invocation.stopped = true;
        await invocation.worker.terminate();
      }
      this.logger.info({ taskId: id }, 'latent task removed');
      return;
    }
    const task = this.running.get(id);
    if (!task) {
      this.logger.info({ taskId: id }, 'stop for a task not running here');
      return;
    }
    task.stopped = true;
    await task.worker.terminate();
  }

  private onInvoke(json: unknown): void {
    const parsed = invokeMessage.safeParse(json);
    if (!parsed.success || !this.isForMe(parsed.data)) return;
    const invoke = parsed.data;
    const deployed = this.latent.get(invoke.id);
    const reply = (results: string, error: string | null) =>
      this.publish('control/proplet/invoke_results', {
        task_id: invoke.id,
        invocation_id: invoke.invocation_id,
        proplet_id: this.id,
        results,
        error,
      }).catch((failure: unknown) =>
        this.logger.warn({ taskId: invoke.id, err: failure }, 'invoke result not published'),
      );
    if (!deployed) {
      void reply('', `task ${invoke.id} has not been precompiled on proplet ${this.id}`);
      return;
    }
    const request: RunRequest = {
      wasm: deployed.wasm,
      name: deployed.name,
      inputs: invoke.inputs ?? deployed.inputs ?? [],
      env: { PROPLET_ID: this.id, ...(deployed.env ?? {}), ...(invoke.env ?? {}) },
      cliArgs: deployed.cli_args ?? [],
      maxMemoryBytes: this.config.maxMemoryBytes,
    };
    // Keyed by task and invocation, so a stop of the task finds its invocations.
    void this.execute(`${invoke.id}:${invoke.invocation_id}`, request).then((outcome) =>
      outcome === 'stopped'
        ? reply('', CANCELLED)
        : reply(outcome.ok ? outcome.results : '', outcome.ok ? null : outcome.error),
    );
  }

  /** Publishes a run's result; a result that cannot be sent (the proplet is closing) is logged, not thrown. */
  private async report(taskId: string, results: string, error: string | null): Promise<void> {
    try {
      await this.publish('control/proplet/results', { task_id: taskId, proplet_id: this.id, results, error });
    } catch (failure) {
      this.logger.warn({ taskId, err: failure }, 'result not published');
    }
  }

  private async publishMetrics(): Promise<void> {
    const usage = process.resourceUsage();
    const memory = process.memoryUsage();
    const now = Date.now();
    const cpuMicros = usage.userCPUTime + usage.systemCPUTime;
    const elapsedMicros = (performance.now() - this.lastSample.at) * 1_000;
    const percent = elapsedMicros > 0 ? ((cpuMicros - this.lastSample.cpuMicros) / elapsedMicros) * 100 : 0;
    this.lastSample = { cpuMicros, at: performance.now() };
    await this.publish('control/proplet/metrics', {
      proplet_id: this.id,
      namespace: 'default',
      // Rust's SystemTime, as the upstream proplet sends it.
      timestamp: { secs_since_epoch: Math.floor(now / 1000), nanos_since_epoch: (now % 1000) * 1e6 },
      cpu_metrics: {
        user_seconds: usage.userCPUTime / 1e6,
        system_seconds: usage.systemCPUTime / 1e6,
        percent: Math.round(percent * 10) / 10,
      },
      memory_metrics: {
        rss_bytes: memory.rss,
        heap_alloc_bytes: memory.heapUsed,
        heap_sys_bytes: memory.heapTotal,
        heap_inuse_bytes: memory.heapUsed,
      },
    });
  }

  private async publish(suffix: string, payload: unknown): Promise<void> {
    await this.client!.publishAsync(`${this.base}/${suffix}`, JSON.stringify(payload), {
      qos: this.config.qos,
    });
  }
}

export const newPropletId = (): string => randomUUID();

/** Why the first connection failed, naming the broker (without any login the URL may carry). */
function connectionError(mqttUrl: string, error: unknown): Error {
  const { protocol, hostname, port } = new URL(mqttUrl);
  const broker = brokerAddress({
    protocol: protocol.slice(0, -1),
    hostname,
    port: Number(port) || undefined,
  });
  const reason = brokerRefusal(error)?.reason ?? (error instanceof Error ? error.message : String(error));
  return new Error(`proplet: could not connect to the MQTT broker at ${broker}: ${reason}`, { cause: error });
}
