import type { Redis } from 'ioredis';
import { MAX_SLOTS, type IngressSlots } from '../coordination/ingress-slots.ts';

/** KEYS[1] used-slots set; ARGV slotKeyPrefix token ttlMs maxSlots. The lowest free slot, claimed, or -1. */
const CLAIM_SCRIPT = `
for n = 0, tonumber(ARGV[4]) - 1 do
  if redis.call('SET', ARGV[1] .. n, ARGV[2], 'NX', 'PX', ARGV[3]) then
    redis.call('SADD', KEYS[1], n)
    return n
  end
end
return -1
`;

/** KEYS[1] slot key; ARGV token ttlMs. 1 when the lease was still ours and is extended. */
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1] slot key; ARGV token. Deletes the lease if it is ours. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface SlotCommands {
  propellerClaimSlot(...keysThenArgs: Array<string | number>): Promise<number>;
  propellerRenewSlot(...keysThenArgs: Array<string | number>): Promise<number>;
  propellerReleaseSlot(...keysThenArgs: Array<string | number>): Promise<number>;
}

/** Ingress slot leases in Redis: one key with a TTL per held slot, and a set of the slots ever used. */
export class RedisIngressSlots implements IngressSlots {
  private readonly scripts: SlotCommands;
  private readonly usedKey: string;
  private readonly slotPrefix: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly leaseMs: number,
  ) {
    this.usedKey = `${prefix}:ingress:slots`;
    this.slotPrefix = `${prefix}:ingress:slot:`;
    redis.defineCommand('propellerClaimSlot', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    redis.defineCommand('propellerRenewSlot', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    redis.defineCommand('propellerReleaseSlot', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    this.scripts = redis as unknown as SlotCommands;
  }

  /** Takes the lowest free slot for `token`; throws when all are taken. */
  async claimLowest(token: string): Promise<number> {
    const slot = await this.scripts.propellerClaimSlot(
      this.usedKey,
      this.slotPrefix,
      token,
      this.leaseMs,
      MAX_SLOTS,
    );
    if (slot < 0) throw new Error(`all ${MAX_SLOTS} ingress slots are taken`);
    return slot;
  }

  /** Takes one given slot if nobody holds it (to adopt an orphan). */
  async claim(slot: number, token: string): Promise<boolean> {
    return (await this.redis.set(this.slotKey(slot), token, 'PX', this.leaseMs, 'NX')) === 'OK';
  }

  /** Extends the lease; false when it was lost (it lapsed and another instance took the slot). */
  async renew(slot: number, token: string): Promise<boolean> {
    return (await this.scripts.propellerRenewSlot(this.slotKey(slot), token, this.leaseMs)) === 1;
  }

  async release(slot: number, token: string): Promise<void> {
    await this.scripts.propellerReleaseSlot(this.slotKey(slot), token);
  }

  /**
   * Slots once used whose lease has lapsed: their broker sessions may still hold messages. With `probeBelow`,
   * also every unheld slot under that number, used or not: Redis may have lost the record of slots whose
   * sessions the broker still keeps.
   */
  async orphans(probeBelow = 0): Promise<number[]> {
    const recorded = (await this.redis.smembers(this.usedKey)).map(Number);
    const probed = Array.from({ length: probeBelow }, (_, slot) => slot);
    const used = [...new Set([...recorded, ...probed])].sort((a, b) => a - b);
    if (used.length === 0) return [];
    const held = await this.redis.exists(...used.map((slot) => this.slotKey(slot)));
    if (held === used.length) return [];
    const pipeline = this.redis.pipeline();
    for (const slot of used) pipeline.exists(this.slotKey(slot));
    const replies = (await pipeline.exec()) ?? [];
    return used.filter((_, i) => replies[i]?.[1] === 0);
  }

  /** The slot's session was retired: it is no longer an orphan to look after. */
  async retire(slot: number, token: string): Promise<void> {
    await this.redis.srem(this.usedKey, slot);
    await this.release(slot, token);
  }

  /** Every slot ever used, for tests and tools that clean up broker sessions. */
  async used(): Promise<number[]> {
    return (await this.redis.smembers(this.usedKey)).map(Number);
  }

  private slotKey(slot: number): string {
    return `${this.slotPrefix}${slot}`;
  }
}
