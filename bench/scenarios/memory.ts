import type { Scenario } from '../lib/scenario.ts';

/**
 * The long-lived manager's resident memory once fleet and stored-tasks have run against it (the fleet still
 * beating, the tasks still stored), and the most it had at any moment (sampled twice a second).
 */
export const memory: Scenario = {
  name: 'memory',
  summary: 'manager RSS after fleet and stored-tasks ran against the same manager process',
  async run(context) {
    const before = [...context.longLivedUsers];
    const system = await context.longLivedManager();
    const rss = system.usage().rssMiB;
    const notes = [
      before.length > 0
        ? `after ${before.join(' and ')} against the same all-in-one manager; peak seen ${context.longLivedPeakRssMiB()} MiB`
        : 'neither fleet nor stored-tasks ran: the RSS of an idle manager',
    ];
    return {
      figures: [
        { key: 'rssMiB', label: 'manager RSS', value: rss, unit: 'MiB', target: { op: '<=', value: 300 } },
      ],
      failures: system.deaths(),
      notes,
      details: { rssMiB: rss, peakRssMiB: Math.max(rss, context.longLivedPeakRssMiB()), after: before },
    };
  },
};
