/** A proplet is alive while its newest heartbeat is younger than the alive timeout (Decision 3). */
export function isAliveAt(
  lastHeartbeatMs: number | undefined,
  nowMs: number,
  aliveTimeoutMs: number,
): boolean {
  return lastHeartbeatMs !== undefined && nowMs - lastHeartbeatMs < aliveTimeoutMs;
}
