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
 * The ingress subscription: every proplet topic, as an MQTT 5 shared subscription so that several ingress
 * processes split the messages instead of each receiving all of them.
 */
export function ingressSubscription(base: string, shareGroup: string): string {
  return `$share/${shareGroup}/${base}/control/proplet/+`;
}
