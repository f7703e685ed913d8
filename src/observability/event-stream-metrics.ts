import { Counter, Gauge } from 'prom-client';
import { registry } from './metrics.ts';

export const eventStreamClients = new Gauge({
  name: 'propeller_event_stream_clients',
  help: 'Clients following GET /events on this api process',
  registers: [registry],
});

export const eventStreamDrops = new Counter({
  name: 'propeller_event_stream_dropped_total',
  help: 'Clients of GET /events disconnected because they fell too far behind',
  registers: [registry],
});
