/** Suffixes under the channel base topic `m/{tenant}/c/{channel}` (spec §3.2). */
export const PROPLET_TOPICS = {
  create: 'control/proplet/create',
  alive: 'control/proplet/alive',
  results: 'control/proplet/results',
  taskMetrics: 'control/proplet/task_metrics',
  propletMetrics: 'control/proplet/metrics',
  invokeResults: 'control/proplet/invoke_results',
} as const;

export const MANAGER_TOPICS = {
  start: 'control/manager/start',
  stop: 'control/manager/stop',
  invoke: 'control/manager/invoke',
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
 * The ingress subscriptions. `shared` (MQTT 5) makes them shared subscriptions, so that several ingress
 * processes split the messages instead of each receiving all of them; MQTT 3.1.1 has none, so there the
 * topics are subscribed as they are and only one ingress process may run.
 *
 * - durable: discovery and results, kept by the broker in the ingress's persistent session while it is
 *   away, so none is lost.
 * - live: heartbeats and last wills, on a clean session. A heartbeat only means something when it is
 *   fresh: replayed from a session after a manager restart, it would make a proplet that died meanwhile
 *   look alive. Missed ones cost nothing; the alive timeout stands in for a missed last will. Metrics
 *   samples too: they are periodic, a missed one costs nothing and a replayed backlog is worthless.
 */
export function ingressSubscriptions(
  base: string,
  shareGroup: string,
  shared = true,
): { durable: string[]; live: string[] } {
  const topic = (group: string, kind: PropletTopicKind) =>
    subscription(`${base}/${PROPLET_TOPICS[kind]}`, group, shared);
  return {
    // Invoke results are durable too: one that arrives while the ingress restarts still reaches its waiter.
    durable: [topic(shareGroup, 'create'), topic(shareGroup, 'results'), topic(shareGroup, 'invokeResults')],
    live: [
      topic(`${shareGroup}-live`, 'alive'),
      topic(`${shareGroup}-live`, 'taskMetrics'),
      topic(`${shareGroup}-live`, 'propletMetrics'),
    ],
  };
}

/** What ingress sessions subscribed to before heartbeats moved to their own subscription. */
export function legacyIngressSubscription(base: string, shareGroup: string, shared = true): string {
  return subscription(`${base}/control/proplet/+`, shareGroup, shared);
}

function subscription(filter: string, group: string, shared: boolean): string {
  return shared ? `$share/${group}/${filter}` : filter;
}
