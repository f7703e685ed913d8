/** Slot numbers are small: an ingress instance is one process, and a deployment runs a few. */
export const MAX_SLOTS = 256;

/**
 * Leases on ingress slots. Each ingress instance holds one slot while it runs and takes its MQTT client id
 * (and so its persistent broker session) from the slot number. A restarted instance takes the lowest free
 * slot, so it picks up a session it left behind; a slot whose lease lapsed while its session still exists
 * is an orphan, which a running instance adopts and retires (see workers/ingress.ts).
 */
export interface IngressSlots {
  readonly leaseMs: number;
  /** Takes the lowest free slot for `token`; throws when all are taken. */
  claimLowest(token: string): Promise<number>;
  /** Takes one given slot if nobody holds it (to adopt an orphan). */
  claim(slot: number, token: string): Promise<boolean>;
  /** Extends the lease; false when it was lost (it lapsed and another instance took the slot). */
  renew(slot: number, token: string): Promise<boolean>;
  release(slot: number, token: string): Promise<void>;
  /**
   * Slots once used whose lease has lapsed: their broker sessions may still hold messages. With `probeBelow`,
   * also every unheld slot under that number, used or not: the store may have lost the record of slots whose
   * sessions the broker still keeps.
   */
  orphans(probeBelow?: number): Promise<number[]>;
  /** The slot's session was retired: it is no longer an orphan to look after. */
  retire(slot: number, token: string): Promise<void>;
  /** Every slot ever used, for tests and tools that clean up broker sessions. */
  used(): Promise<number[]>;
}
