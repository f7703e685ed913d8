/** Suffixes under the channel base topic `m/{tenant}/c/{channel}` (spec §3.2). */
export const PROPLET_TOPICS = {
  create: 'control/proplet/create',
  alive: 'control/proplet/alive',
  results: 'control/proplet/results',
} as const;

export const MANAGER_TOPICS = {
  start: 'control/manager/start',
  stop: 'control/manager/stop',
} as const;

export function channelBase(tenantId: string, channelId: string): string {
  return `m/${tenantId}/c/${channelId}`;
}

export type PropletTopicKind = keyof typeof PROPLET_TOPICS;

/** Which proplet topic a message arrived on; undefined for topics the manager does not handle. */
export function propletTopicKind(base: string, topic: string): PropletTopicKind | undefined {
  if (!topic.startsWith(`${base}/`)) return undefined;
  const suffix = topic.slice(base.length + 1);
  return (Object.keys(PROPLET_TOPICS) as PropletTopicKind[]).find((kind) => PROPLET_TOPICS[kind] === suffix);
}

/**
 * The ingress subscriptions, MQTT 5 shared subscriptions so that several ingress processes split the
 * messages instead of each receiving all of them.
 *
 * - durable: discovery and results, kept by the broker in the ingress's persistent session while it is
 *   away, so none is lost.
 * - live: heartbeats and last wills, on a clean session. A heartbeat only means something when it is
 *   fresh: replayed from a session after a manager restart, it would make a proplet that died meanwhile
 *   look alive. Missed ones cost nothing; the alive timeout stands in for a missed last will.
 */
export function ingressSubscriptions(
  base: string,
  shareGroup: string,
): { durable: string[]; live: string[] } {
  const shared = (group: string, kind: PropletTopicKind) => `$share/${group}/${base}/${PROPLET_TOPICS[kind]}`;
  return {
    durable: [shared(shareGroup, 'create'), shared(shareGroup, 'results')],
    live: [shared(`${shareGroup}-live`, 'alive')],
  };
}

/** What ingress sessions subscribed to before heartbeats moved to their own subscription. */
export function legacyIngressSubscription(base: string, shareGroup: string): string {
  return `$share/${shareGroup}/${base}/control/proplet/+`;
}
