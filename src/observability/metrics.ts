import { Counter, Registry } from 'prom-client';

/** The process's Prometheus registry. */
export const registry = new Registry();

export const mqttMessagesIn = new Counter({
  name: 'propeller_mqtt_messages_in_total',
  help: 'MQTT messages received by the ingress, by topic',
  labelNames: ['topic'] as const,
  registers: [registry],
});

export const mqttMessagesRejected = new Counter({
  name: 'propeller_mqtt_rejected_payloads_total',
  help: 'MQTT messages dropped because their payload was not valid JSON or did not match its schema',
  labelNames: ['topic', 'reason'] as const,
  registers: [registry],
});
