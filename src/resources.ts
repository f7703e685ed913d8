import type { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import type { Config } from './config/config.ts';
import { connectPostgres, type PostgresHandle } from './db/connection.ts';
import { PropletRepository } from './db/proplet-repository.ts';
import { TaskRepository } from './db/task-repository.ts';
import { CommandPublisher } from './mqtt/command-publisher.ts';
import { closeClient, connectPublisher, type MqttSettings } from './mqtt/client.ts';
import type { Logger } from './observability/logger.ts';
import { JobQueues } from './queue/job-queues.ts';
import { connectRedis } from './redis/connection.ts';
import { LivenessStore } from './redis/liveness-store.ts';
import { StoppedRuns } from './redis/stopped-runs.ts';

/**
 * The composition root's shared connections and repositories, created on first use so that each role
 * opens only what it needs (the ingress never connects to Postgres, the api never to the broker).
 */
export class Resources {
  private postgresHandle?: PostgresHandle;
  private redisClient?: Redis;
  private jobQueues?: JobQueues;
  private publisherClient?: MqttClient;
  private taskRepository?: TaskRepository;
  private propletRepository?: PropletRepository;
  private livenessStore?: LivenessStore;
  private commandPublisher?: CommandPublisher;
  private stoppedRunMarks?: StoppedRuns;

  constructor(
    readonly config: Config,
    readonly logger: Logger,
  ) {}

  get mqttSettings(): MqttSettings {
    return { ...this.config.mqtt, instanceId: this.config.instanceId };
  }

  get postgres(): PostgresHandle {
    return (this.postgresHandle ??= connectPostgres(this.config.postgres));
  }

  get redis(): Redis {
    return (this.redisClient ??= connectRedis(this.config.redis.url));
  }

  get queues(): JobQueues {
    return (this.jobQueues ??= new JobQueues(this.redis, this.config.queuePrefix, this.logger));
  }

  get tasks(): TaskRepository {
    return (this.taskRepository ??= new TaskRepository(this.postgres.db));
  }

  get proplets(): PropletRepository {
    return (this.propletRepository ??= new PropletRepository(this.postgres.db));
  }

  get liveness(): LivenessStore {
    return (this.livenessStore ??= new LivenessStore(
      this.redis,
      this.config.queuePrefix,
      this.config.propletAliveTimeoutMs,
    ));
  }

  get stoppedRuns(): StoppedRuns {
    return (this.stoppedRunMarks ??= new StoppedRuns(this.redis, this.config.queuePrefix));
  }

  get publisher(): CommandPublisher {
    if (!this.commandPublisher) {
      this.publisherClient = connectPublisher(this.mqttSettings, this.logger);
      this.commandPublisher = new CommandPublisher(this.publisherClient, this.mqttSettings);
    }
    return this.commandPublisher;
  }

  /** Closes what was opened, producers before the connections they use. */
  async close(): Promise<void> {
    await this.jobQueues?.close();
    if (this.publisherClient) await closeClient(this.publisherClient);
    if (this.redisClient) await this.redisClient.quit().catch(() => this.redisClient?.disconnect());
    await this.postgresHandle?.close();
  }
}
