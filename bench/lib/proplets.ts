import { performance } from 'node:perf_hooks';
import type { StartMessage } from '../../src/mqtt/outbound-payloads.ts';
import { SimulatedProplet } from '../../test/support/simulated-proplet.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { HttpClient } from './http-client.ts';

/** What a simulated proplet answers for a run of `add`: the sum of its inputs, as text (as the Wasm would). */
export function sumOfInputs(inputs: readonly string[] | undefined): string {
  return String((inputs ?? []).reduce((total, input) => total + Number(input), 0));
}

/**
 * Simulated proplets (one MQTT connection each) that answer every start at once with the sum of its inputs,
 * and note when each start arrived (performance.now()), so dispatch latency and lost starts can be measured.
 */
export class PropletPool {
  /** First arrival of a start, by task id. */
  readonly received = new Map<string, number>();
  /** Starts received again for a task already started (a dispatch repeated). */
  repeatedStarts = 0;
  private readonly proplets: SimulatedProplet[];

  constructor(topics: { tenantId: string; channelId: string }, count: number) {
    const onStart = (start: StartMessage) => {
      if (this.received.has(start.id)) this.repeatedStarts++;
      else this.received.set(start.id, performance.now());
      return { results: sumOfInputs(start.inputs) };
    };
    this.proplets = Array.from(
      { length: count },
      () => new SimulatedProplet(topics, onStart, undefined, 1_000),
    );
  }

  get size(): number {
    return this.proplets.length;
  }

  /** Connects them and waits until the manager lists every one as active. */
  async start(http: HttpClient): Promise<void> {
    for (const proplet of this.proplets) await proplet.start();
    await waitFor(
      async () =>
        (await http.json<{ total: number }>('GET', '/proplets?status=active&limit=1')).total === this.size,
      `${this.size} proplets active`,
      60_000,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.proplets.map((proplet) => proplet.stop()));
  }
}
