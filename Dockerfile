FROM node:20-bookworm-slim

ENV NODE_ENV=production

WORKDIR /app

# Manifests first, so a source change reuses the dependency layer.
# tsx is a runtime dependency, so --omit=dev keeps it.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
# Migrations are applied at start-up by every role that uses Postgres.
COPY drizzle/ ./drizzle/
COPY src/ ./src/
COPY workers/ ./workers/

# Files stay root-owned: the manager only reads them.
USER node

# 7070: the api (and its /metrics); 7071: /metrics of a process without the api (MANAGER_METRICS_PORT).
EXPOSE 7070 7071

# No HEALTHCHECK here: only the api role serves /health, so compose sets it per service.
# node itself is PID 1 and gets Docker's SIGTERM, so the graceful shutdown runs: `npx tsx` would put npm and
# sh in between, and npm exits on SIGTERM without passing it on, so the manager would be SIGKILLed instead.
# The preload starts OpenTelemetry before the application loads, and only when MANAGER_OTEL_URL is set.
# Roles go as extra arguments, e.g. `docker run <image> node --import tsx --import
# ./src/observability/tracing-preload.mjs src/main.ts scheduler`; none means all.
CMD ["node", "--import", "tsx", "--import", "./src/observability/tracing-preload.mjs", "src/main.ts"]
