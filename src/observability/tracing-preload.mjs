// The --import entry of every manager start (npm start, the image, docker-compose.yml):
//   node --import tsx --import ./src/observability/tracing-preload.mjs src/main.ts
// Plain JavaScript, since worker threads (the reference proplet runs each task in one) inherit --import but
// not the tsx loader; tracing is for the main thread only. With MANAGER_OTEL_URL unset or empty it loads
// nothing: tracing-bootstrap.ts parses the variable, with the rest of the configuration, only when it is set.
import { isMainThread } from 'node:worker_threads';

if (isMainThread && process.env.MANAGER_OTEL_URL) await import('./tracing-bootstrap.ts');
