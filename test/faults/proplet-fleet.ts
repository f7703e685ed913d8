import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoggedProcess } from './logged-process.ts';
import { openRuns, readPropletLog } from './proplet-log.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./proplet-process.ts', import.meta.url));

export interface SimulatedPropletProcess {
  readonly id: string;
  /** Its event log (JSON lines): what the checks read. */
  readonly eventLog: string;
  /** Publishes some results twice (and now and then a third time later). */
  readonly duplicates: boolean;
  readonly process: LoggedProcess;
}

/** The simulated proplets, each a child process that can be killed -9 and started again under its id. */
export class PropletFleet {
  readonly proplets: SimulatedPropletProcess[];
  readonly unexpectedExits: Array<{
    proplet: string;
    at: number;
    code: number | null;
    signal: string | null;
  }> = [];

  constructor(
    root: string,
    count: number,
    settings: { mqttUrl: string; tenantId: string; channelId: string; seed: number },
  ) {
    const dir = join(root, 'proplets');
    mkdirSync(dir, { recursive: true });
    // A third of the fleet injects the duplicate results.
    const duplicating = Math.max(1, Math.round(count / 3));
    this.proplets = Array.from({ length: count }, (_, i) => {
      const id = `proplet-${i + 1}`;
      const eventLog = join(dir, `${id}.jsonl`);
      const duplicates = i < duplicating;
      const process = new LoggedProcess(
        id,
        {
          command: globalThis.process.execPath,
          args: ['--import', 'tsx', SCRIPT],
          cwd: ROOT,
          env: {
            FAULTS_PROPLET_ID: id,
            FAULTS_PROPLET_LOG: eventLog,
            FAULTS_MQTT_URL: settings.mqttUrl,
            FAULTS_TENANT_ID: settings.tenantId,
            FAULTS_CHANNEL_ID: settings.channelId,
            FAULTS_SEED: String(settings.seed),
            FAULTS_PROPLET_DUPLICATES: duplicates ? '0.5' : '0',
          },
          logFile: join(dir, `${id}.out`),
        },
        (code, signal) => this.unexpectedExits.push({ proplet: id, at: Date.now(), code, signal }),
      );
      return { id, eventLog, duplicates, process };
    });
  }

  startAll(): void {
    for (const proplet of this.proplets) proplet.process.start();
  }

  /** Kills it with SIGKILL; says which runs it had begun and not finished, now lost with it. */
  async kill(proplet: SimulatedPropletProcess): Promise<string[]> {
    await proplet.process.kill('SIGKILL');
    return [...openRuns(readPropletLog(proplet.eventLog))];
  }

  /** Runs begun and not finished right now, from its log. */
  openRuns(proplet: SimulatedPropletProcess): Set<string> {
    return openRuns(readPropletLog(proplet.eventLog));
  }

  restart(proplet: SimulatedPropletProcess): void {
    proplet.process.start();
  }

  /** Those killed (or crashed) and not started again: restarted now. */
  restartStopped(): string[] {
    const restarted: string[] = [];
    for (const proplet of this.proplets)
      if (!proplet.process.running) {
        proplet.process.start();
        restarted.push(proplet.id);
      }
    return restarted;
  }

  async close(): Promise<void> {
    await Promise.all(this.proplets.map((proplet) => proplet.process.close()));
  }
}
