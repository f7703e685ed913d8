import { Batcher, type BatcherOptions } from './batcher.ts';

export interface Beat {
  propletId: string;
  receivedAt: number;
}

export type HeartbeatBatcherOptions = Omit<BatcherOptions<Beat>, 'what'>;

/** Heartbeats in batches (see Batcher): a newer beat of the same proplet supersedes a dropped one. */
export class HeartbeatBatcher extends Batcher<Beat> {
  constructor(options: HeartbeatBatcherOptions) {
    super({ ...options, what: 'heartbeats' });
  }
}
