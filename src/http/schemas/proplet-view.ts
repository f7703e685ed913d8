import type { PropletView } from '../../services/proplet-service.ts';

/** The proplet as upstream clients read it (spec §1.5.1). */
export function toPropletJson(proplet: PropletView): Record<string, unknown> {
  return {
    id: proplet.id,
    name: proplet.name,
    task_count: proplet.taskCount,
    alive: proplet.alive,
    last_alive_at: proplet.lastAliveAt?.toISOString(),
    metadata: proplet.metadata,
  };
}
