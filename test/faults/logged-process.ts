import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

/** Output kept in memory for readiness checks; the whole of it is in the log file. */
const MEMORY_BYTES = 64 * 1024;

export interface ProcessSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
}

/**
 * A child process whose output goes to a log file (appended across restarts, each start marked), which can
 * be killed with SIGKILL and started again with the same command.
 */
export class LoggedProcess {
  private child?: ChildProcess;
  private log?: WriteStream;
  private recent = '';
  private readonly waiters: Array<{ text: string; resolve: () => void }> = [];
  starts = 0;

  constructor(
    readonly name: string,
    private readonly spec: ProcessSpec,
    /** Told of every exit the harness did not cause (a crash, a refusal to start). */
    private readonly onUnexpectedExit: (code: number | null, signal: string | null) => void = () => {},
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.recent = '';
    this.log ??= createWriteStream(this.spec.logFile, { flags: 'a' });
    this.log.write(`\n===== start ${this.starts} of ${this.name} at ${new Date().toISOString()}\n`);
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const take = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.recent = (this.recent + chunk.toString()).slice(-MEMORY_BYTES);
      for (const waiter of [...this.waiters])
        if (this.recent.includes(waiter.text)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error) => this.log?.write(`\n===== ${this.name} could not run: ${error.message}\n`));
    child.on('exit', (code, signal) => {
      this.log?.write(`\n===== ${this.name} exited (code ${code}, signal ${signal})\n`);
      if (!expected.has(child)) this.onUnexpectedExit(code, signal);
    });
    this.child = child;
  }

  /** Resolves once the output of the current run contains `text`; rejects if it exits first or time runs out. */
  async waitForOutput(text: string, timeoutMs: number): Promise<void> {
    if (this.recent.includes(text)) return;
    const child = this.child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no "${text}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        text,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
      child?.once('exit', () => {
        clearTimeout(timer);
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) {
          this.waiters.splice(index, 1);
          reject(new Error(`${this.name} exited before "${text}"`));
        }
      });
    });
  }

  /** Kills it (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    expected.add(child);
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** The last lines of its log file (every run of it). */
  tail(lines: number): string {
    return tailFile(this.spec.logFile, lines);
  }

  get logFile(): string {
    return this.spec.logFile;
  }

  async close(): Promise<void> {
    await this.kill();
    const log = this.log;
    this.log = undefined;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }
}

/** Children the harness itself killed: their exits are no news. */
const expected = new WeakSet<ChildProcess>();

/** The last lines of a log file, or a note that there is none. */
export function tailFile(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
