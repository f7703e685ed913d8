import { setTimeout as sleep } from 'node:timers/promises';
import { NoAnswer, request, type Answer } from './http-client.ts';
import type { Random } from './random.ts';

/** The smallest valid Wasm module: magic and version. The simulated proplets run nothing. */
const WASM = Buffer.from('0061736d01000000', 'hex').toString('base64');
const REQUEST_TIMEOUT_MS = 10_000;
const PENDING = 0;

export interface LoadItem {
  index: number;
  /** Unique per item, in the task's metadata: how a create whose answer was lost is found again. */
  loadId: string;
  inputs: [number, number];
  /** Every task id the api returned or a lookup found for this item (more than one would be a duplicate create). */
  taskIds: string[];
  /** A create went unanswered (or failed with a 5xx), so the task may exist anyway. */
  createAnswerLost: boolean;
  /** When its start was accepted (or found to have happened). */
  startedAt?: number;
}

export interface LoadFigures {
  items: LoadItem[];
  /** Requests that failed for want of a dependency and were made again, by cause (HTTP status or no answer). */
  retried: Record<string, number>;
  /** Creates whose answer was lost but which had created the task: found by their metadata. */
  createsFoundByLookup: number;
  /** Starts whose answer was lost but which had scheduled the task. */
  startsFoundStarted: number;
  /** Starts answered 409: the task had been started already. */
  startConflicts: number;
  /** Answers no fault explains (a 400, a 404 for a task just created): each one fails the run. */
  anomalies: string[];
  startedAt: number;
  finishedAt: number;
}

export interface LoadSettings {
  tasks: number;
  seconds: number;
  concurrency: number;
  taskTimeoutSeconds: number;
  /** No request is made again after this moment (ms since the epoch): the suite gives up instead. */
  deadline: number;
}

const retryable = (status: number) => status >= 500;

/**
 * Submits the tasks through both apis in turn, spread evenly over the load period with a bounded number in
 * flight: create, then start. What fails because a dependency is down is tried again after a pause, on the
 * other api, and counted; an unanswered create is looked for by its metadata before it is made again, and an
 * unanswered start is checked before it is sent again (a start of a task that has already finished would
 * run it a second time).
 */
export class LoadGenerator {
  private turn = 0;
  private readonly figures: LoadFigures;

  constructor(
    private readonly apis: string[],
    private readonly settings: LoadSettings,
    private readonly random: Random,
    runId: string,
  ) {
    this.figures = {
      items: Array.from({ length: settings.tasks }, (_, index) => ({
        index,
        loadId: `${runId}-${index}`,
        inputs: [random.integer(0, 1_000_000), random.integer(0, 1_000_000)],
        taskIds: [],
        createAnswerLost: false,
      })),
      retried: {},
      createsFoundByLookup: 0,
      startsFoundStarted: 0,
      startConflicts: 0,
      anomalies: [],
      startedAt: 0,
      finishedAt: 0,
    };
  }

  get items(): readonly LoadItem[] {
    return this.figures.items;
  }

  /** Submitted so far (created and started). */
  get submitted(): number {
    return this.figures.items.filter((item) => item.startedAt !== undefined).length;
  }

  async run(): Promise<LoadFigures> {
    const { items } = this.figures;
    const spacingMs = (this.settings.seconds * 1_000) / items.length;
    const t0 = Date.now();
    this.figures.startedAt = t0;
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < items.length; i = next++) {
        const due = t0 + i * spacingMs;
        if (due > Date.now()) await sleep(due - Date.now());
        await this.submit(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: this.settings.concurrency }, lane));
    await this.startLateDuplicates();
    this.figures.finishedAt = Date.now();
    return this.figures;
  }

  private async submit(item: LoadItem): Promise<void> {
    await this.create(item);
    for (const id of item.taskIds) await this.start(item, id);
  }

  private nextApi(): string {
    return this.apis[this.turn++ % this.apis.length]!;
  }

  /**
   * One request, again and again until it is answered with something other than a 5xx; each failure counted
   * and followed by a pause. `check`, when given, runs after each failure and may end the attempts: the
   * request may have taken effect although its answer was lost.
   */
  private async untilAnswered<T>(
    send: (api: string) => Promise<Answer>,
    check?: () => Promise<T | undefined>,
  ): Promise<{ answer: Answer } | { found: T }> {
    for (;;) {
      let cause: string;
      try {
        const answer = await send(this.nextApi());
        if (!retryable(answer.status)) return { answer };
        cause = String(answer.status);
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        cause = error.reason;
      }
      this.figures.retried[cause] = (this.figures.retried[cause] ?? 0) + 1;
      if (Date.now() > this.settings.deadline)
        throw new Error(`the apis kept failing (${cause}) past the load deadline`);
      await sleep(this.random.between(200, 700));
      if (check) {
        const found = await check();
        if (found !== undefined) return { found };
      }
    }
  }

  private async create(item: LoadItem): Promise<void> {
    const body = {
      name: `faults-${item.index}`,
      file: WASM,
      inputs: item.inputs,
      timeout: this.settings.taskTimeoutSeconds,
      metadata: { suite: 'faults', load_id: item.loadId },
    };
    const outcome = await this.untilAnswered(
      (api) => request(api, 'POST', '/tasks', body, REQUEST_TIMEOUT_MS),
      async () => {
        item.createAnswerLost = true;
        const found = await this.lookUp(item);
        return found.length > 0 ? found : undefined;
      },
    );
    if ('found' in outcome) {
      this.figures.createsFoundByLookup++;
      item.taskIds.push(...outcome.found);
      return;
    }
    if (outcome.answer.status !== 201) {
      this.anomaly(`create ${item.loadId}: ${outcome.answer.status} ${JSON.stringify(outcome.answer.body)}`);
      return;
    }
    item.taskIds.push(outcome.answer.body.id as string);
  }

  /** The ids of the tasks carrying this item's load_id, asked until an api answers. */
  private async lookUp(item: LoadItem): Promise<string[]> {
    const filter = encodeURIComponent(JSON.stringify({ load_id: item.loadId }));
    const outcome = await this.untilAnswered((api) =>
      request(api, 'GET', `/tasks?metadata=${filter}&limit=10`, undefined, REQUEST_TIMEOUT_MS),
    );
    if (!('answer' in outcome) || outcome.answer.status !== 200) {
      this.anomaly(`look-up of ${item.loadId}: ${'answer' in outcome ? outcome.answer.status : '?'}`);
      return [];
    }
    return (outcome.answer.body.tasks as Array<{ id: string }>).map((task) => task.id);
  }

  private async start(item: LoadItem, id: string): Promise<void> {
    const outcome = await this.untilAnswered(
      (api) => request(api, 'POST', `/tasks/${id}/start`, undefined, REQUEST_TIMEOUT_MS),
      async () => ((await this.stateOf(id)) === PENDING ? undefined : true),
    );
    item.startedAt ??= Date.now();
    if ('found' in outcome) {
      this.figures.startsFoundStarted++;
      return;
    }
    if (outcome.answer.status === 409) this.figures.startConflicts++;
    else if (outcome.answer.status !== 200)
      this.anomaly(`start ${id}: ${outcome.answer.status} ${JSON.stringify(outcome.answer.body)}`);
  }

  private async stateOf(id: string): Promise<number | undefined> {
    const outcome = await this.untilAnswered((api) =>
      request(api, 'GET', `/tasks/${id}`, undefined, REQUEST_TIMEOUT_MS),
    );
    if ('answer' in outcome && outcome.answer.status === 200) return outcome.answer.body.state as number;
    this.anomaly(`get ${id}: ${'answer' in outcome ? outcome.answer.status : '?'}`);
    return undefined;
  }

  /**
   * A create that timed out on our side may still have been committed after its look-up found nothing, and
   * the item created again: such a task must be started too, not left Pending.
   */
  private async startLateDuplicates(): Promise<void> {
    for (const item of this.figures.items.filter((candidate) => candidate.createAnswerLost)) {
      for (const id of await this.lookUp(item)) {
        if (item.taskIds.includes(id)) continue;
        item.taskIds.push(id);
        if ((await this.stateOf(id)) === PENDING) await this.start(item, id);
      }
    }
  }

  private anomaly(what: string): void {
    this.figures.anomalies.push(what);
  }
}
