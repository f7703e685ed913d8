import { Gauge, Registry } from 'prom-client';
import { enableDefaultMetrics, registry } from './metrics.ts';
import { registerStateGauges, type StateGaugeOptions, type StateSources } from './prometheus-state.ts';

/** What `/metrics` answers: the Prometheus text format of this process's series. */
export interface PrometheusExposition {
  readonly contentType: string;
  text(): Promise<string>;
}

/**
 * The series one process exports: Node's process metrics, the event series of every role it runs
 * (metrics.ts), which build and roles it is, and, when given their sources, the state gauges.
 */
export function prometheusExposition(
  about: { version: string; roles: readonly string[] },
  state?: { sources: StateSources; options?: StateGaugeOptions },
): PrometheusExposition {
  enableDefaultMetrics();
  // Separate from the process's registry: tests run several managers in one process, each with its own.
  const own = new Registry();
  new Gauge({
    name: 'propeller_build_info',
    help: 'Always 1; the labels say which version this process runs and which roles',
    labelNames: ['version', 'roles'] as const,
    registers: [own],
  }).set({ version: about.version, roles: [...about.roles].sort().join(',') }, 1);
  if (state) registerStateGauges(own, state.sources, state.options);
  const merged = Registry.merge([registry, own]);
  return { contentType: merged.contentType, text: () => merged.metrics() };
}
