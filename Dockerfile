FROM node:20-bookworm-slim

# The update check would reach for the registry on every `npx` start.
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

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

# Files stay root-owned: the manager only reads them (tsx caches in /tmp).
USER node

EXPOSE 7070

# No HEALTHCHECK here: only the api role serves /health, so compose sets it per service.
# Roles go as extra arguments, e.g. `docker run <image> npx tsx src/main.ts scheduler`; none means all.
CMD ["npx", "tsx", "src/main.ts"]
