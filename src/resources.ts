import type { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import type { Config } from './config/config.ts';
import type { IngressSlots } from './coordination/ingress-slots.ts';
import type { InvocationMailbox } from './coordination/invocation-mailbox.ts';
import type { LivenessStore } from './coordination/liveness-store.ts';
import type { StoppedRuns } from './coordination/stopped-runs.ts';
import { connectPostgres, poolConfig, type PostgresHandle } from './db/connection.ts';
import { PostgresIngressSlots } from './db/postgres-ingress-slots.ts';
import { PostgresInvocationMailbox } from './db/postgres-invocation-mailbox.ts';
import { PostgresLivenessStore } from './db/postgres-liveness-store.ts';
import { PostgresStoppedRuns } from './db/postgres-stopped-runs.ts';
import { AttemptRepository } from './db/attempt-repository.ts';
import { GroupRepository } from './db/group-repository.ts';
import { MetricsRepository } from './db/metrics-repository.ts';
import { PropletRepository } from './db/proplet-repository.ts';
import { TaskRepository } from './db/task-repository.ts';
import { RunRecovery } from './services/run-recovery.ts';
import { CommandPublisher } from './mqtt/command-publisher.ts';
import { closeClient, connectPublisher, waitConnected, type MqttSettings } from './mqtt/client.ts';
import type { Logger } from './observability/logger.ts';
import { NO_MESSAGE_TRACING, type MessageTracing } from './observability/message-tracing.ts';
import type { TracingHooks } from './observability/tracing-hooks.ts';
import { JobQueues } from './queue/job-queues.ts';
import type { QueueConnection } from './queue/queue-connection.ts';
import { connectRedis, connectRedisForRequests } from './redis/connection.ts';
import { RedisIngressSlots } from './redis/ingress-slots.ts';
import { RedisInvocationMailbox } from './redis/invocation-mailbox.ts';
import { RedisLivenessStore } from './redis/liveness-store.ts';
import { RedisStoppedRuns } from './redis/stopped-runs.ts';
import { CronRegistry } from './services/cron-registry.ts';
import { TaskService } from './services/task-service.ts';
import { StartMessageLimit } from './services/start-message-limit.ts';
import { channelBase, MANAGER_TOPICS } from './mqtt/topics.ts';

/** Connections per queue and per worker on BullMQ's Postgres backend (each owns a pool). */
const QUEUE_POOL_SIZE = 4;
/** PGlite's socket does not pass NOTIFY between connections, so idle workers look for jobs this often. */
const PGLITE_POLL_SECONDS = 0.1;
/** How long a request's queue operation waits for a queue's connection before it counts as unavailable. */
const REQUEST_QUEUE_READY_MS = 2_000;

/**
 * The composition root's shared connections and repositories, created on first use so that each role
 * opens only what it needs (the ingress never connects to Postgres, the api never to the broker). Queues
 * and coordination state go to Redis or to Postgres, as config.queueStore says.
 */
export class Resources {
  private postgresHandle?: PostgresHandle;
  private redisClient?: Redis;
  private jobQueues?: JobQueues;
  private publisherClient?: MqttClient;
  private taskRepository?: TaskRepository;
  private propletRepository?: PropletRepository;
  private groupRepository?: GroupRepository;
  private metricsRepository?: MetricsRepository;
  private recovery?: RunRecovery;
  private livenessStore?: LivenessStore;
  private commandPublisher?: CommandPublisher;
  private stoppedRunMarks?: StoppedRuns;
  private mailbox?: InvocationMailbox;
  private requestScope?: Resources;

  constructor(
    readonly config: Config,
    readonly logger: Logger,
    /** Set when tracing is on in this process (see src/observability/tracing-preload.mjs). */
    private readonly tracing?: TracingHooks,
    /** Set for the resources of forRequests(), which share their parent's Postgres. */
    private readonly parent?: Resources,
  ) {}

  /** Spans around MQTT messages, carrying their trace context; nothing at all with tracing off. */
  get messageTracing(): MessageTracing {
    return this.tracing?.messages ?? NO_MESSAGE_TRACING;
  }

  get mqttSettings(): MqttSettings {
    return { ...this.config.mqtt, instanceId: this.config.instanceId };
  }

  get postgres(): PostgresHandle {
    if (this.parent) return this.parent.postgres;
    return (this.postgresHandle ??= connectPostgres(this.config.postgres));
  }

  /** Only where config.queueStore is redis. */
  get redis(): Redis {
    if (this.config.queueStore !== 'redis') throw new Error('this manager keeps its queues in Postgres');
    const server = this.config.redis;
    return (this.redisClient ??= this.parent ? connectRedisForRequests(server) : connectRedis(server));
  }

  /**
   * The same resources for work a client waits on (the api role), sharing this Postgres pool, but with
   * queues and coordination state on a Redis connection of their own that fails commands while Redis is
   * away, where the workers' connection holds them until it is back: a request then answers 503 at once
   * instead of hanging. Without Redis these are the process's own resources: Postgres fails fast already.
   */
  forRequests(): Resources {
    if (this.parent || this.config.queueStore !== 'redis') return this;
    return (this.requestScope ??= new Resources(this.config, this.logger, this.tracing, this));
  }

  get queueConnection(): QueueConnection {
    const { config } = this;
    const telemetry = this.tracing?.queueTelemetry;
    if (config.queueStore === 'redis')
      return { store: 'redis', redis: this.redis, prefix: config.queuePrefix, telemetry };
    return {
      telemetry,
      store: 'postgres',
      postgres: {
        ...poolConfig(config.postgres),
        password: config.postgres.password,
        max: QUEUE_POOL_SIZE,
        // PGlite's socket drops the search_path BullMQ sets per connection; its own schema works there.
        schema: config.postgres.sharedSession ? 'public' : 'bullmq',
        migrate: true,
      },
      pollSeconds: config.postgres.sharedSession ? PGLITE_POLL_SECONDS : undefined,
    };
  }

  get queues(): JobQueues {
    return (this.jobQueues ??= new JobQueues(
      this.queueConnection,
      this.logger,
      this.parent ? { readyWithinMs: REQUEST_QUEUE_READY_MS } : {},
    ));
  }

  get tasks(): TaskRepository {
    // Connections to PGlite share one session, where a named statement of one would clash with another's.
    return (this.taskRepository ??= new TaskRepository(this.postgres.db, this.postgres.pool, {
      namedStatements: !this.config.postgres.sharedSession,
    }));
  }

  get proplets(): PropletRepository {
    return (this.propletRepository ??= new PropletRepository(this.postgres.db));
  }

  get groups(): GroupRepository {
    return (this.groupRepository ??= new GroupRepository(this.postgres.db));
  }

  get metrics(): MetricsRepository {
    return (this.metricsRepository ??= new MetricsRepository(this.postgres.db));
  }

  get liveness(): LivenessStore {
    const { config } = this;
    return (this.livenessStore ??=
      config.queueStore === 'redis'
        ? new RedisLivenessStore(this.redis, config.queuePrefix, config.propletAliveTimeoutMs)
        : new PostgresLivenessStore(this.postgres.db, config.propletAliveTimeoutMs));
  }

  get stoppedRuns(): StoppedRuns {
    return (this.stoppedRunMarks ??=
      this.config.queueStore === 'redis'
        ? new RedisStoppedRuns(this.redis, this.config.queuePrefix)
        : new PostgresStoppedRuns(this.postgres.db));
  }

  /** What a task's start command may weigh: MANAGER_PROPLET_MAX_PACKET_SIZE, on this channel's start topic. */
  get startMessageLimit(): StartMessageLimit {
    const { tenantId, channelId } = this.config.mqtt;
    return new StartMessageLimit(
      this.config.propletMaxPacketBytes,
      `${channelBase(tenantId, channelId)}/${MANAGER_TOPICS.start}`,
    );
  }

  /** The task use cases, for the roles that start, stop or create tasks (api, scheduler, results). */
  taskService(logger: Logger): TaskService {
    return new TaskService(
      this.tasks,
      this.queues,
      this.stoppedRuns,
      this.groups,
      logger,
      this.config.jobExecutionMode,
      new CronRegistry(this.tasks, this.queues, logger),
      this.runRecovery,
      new AttemptRepository(this.postgres.db),
      this.startMessageLimit,
    );
  }

  /** Retries of runs that ended without a result to keep (lost proplet, timeout, Wasm error on request). */
  get runRecovery(): RunRecovery {
    return (this.recovery ??= new RunRecovery(this.tasks, this.queues, this.config.retries));
  }

  /** Invocation answers, from the results role to the api process waiting for them. */
  get invocationMailbox(): InvocationMailbox {
    return (this.mailbox ??=
      this.config.queueStore === 'redis'
        ? new RedisInvocationMailbox(this.redis, this.config.queuePrefix)
        : new PostgresInvocationMailbox(this.postgres.db));
  }

  /** Leases of ingress slots, for the ingress role. */
  ingressSlots(leaseMs: number): IngressSlots {
    return this.config.queueStore === 'redis'
      ? new RedisIngressSlots(this.redis, this.config.queuePrefix, leaseMs)
      : new PostgresIngressSlots(this.postgres.db, leaseMs);
  }

  get publisher(): CommandPublisher {
    if (!this.commandPublisher) {
      this.publisherClient = connectPublisher(this.mqttSettings, this.logger);
      this.commandPublisher = new CommandPublisher(
        this.publisherClient,
        this.mqttSettings,
        this.messageTracing,
      );
    }
    return this.commandPublisher;
  }

  /** Resolves once this process's command publisher is connected to the broker, or fails after timeoutMs. */
  async publisherConnected(timeoutMs: number): Promise<void> {
    if (!this.publisherClient) throw new Error('this process publishes no commands');
    await waitConnected(this.publisherClient, timeoutMs);
  }

  /** Closes what was opened, producers before the connections they use. */
  async close(): Promise<void> {
    await this.requestScope?.close();
    await this.mailbox?.close();
    await this.jobQueues?.close();
    if (this.publisherClient) await closeClient(this.publisherClient);
    if (this.redisClient) await this.redisClient.quit().catch(() => this.redisClient?.disconnect());
    await this.postgresHandle?.close();
  }
}
