# sluice: one image for every role (`serve`, `api`, `worker`); docker-compose.yml picks the command.
# Node: the current LTS line (even majors are LTS); `--build-arg NODE_VERSION=24` picks another.
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
# better-sqlite3 compiles if no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
# The npm workspaces (packages/client) are part of the lockfile, so npm ci needs them; the image
# runs none of their code.
COPY packages ./packages
# `prepare` builds dist/ during npm ci.
RUN npm ci && npm prune --omit=dev

FROM node:${NODE_VERSION}-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# A valid default config (0.0.0.0:8080, database and secret from the environment, no permissions):
# mount your own over it.
COPY deploy/sluice.yaml /config/sluice.yaml
USER node
EXPOSE 8080
# SIGTERM: /readyz answers 503 for server.drainDelayMs, then running requests finish (bounded by
# limits.queryTimeout) and the process exits 0. Give `docker stop -t` / the orchestrator's grace
# period at least drainDelayMs + queryTimeout + a few seconds.
STOPSIGNAL SIGTERM
# `serve` and `api` answer /readyz on the HTTP port; a worker's probe is on its --metrics-port
# (docker-compose.yml overrides the check for it). Node's fetch: no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/src/cli.js", "healthcheck"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve", "--config", "/config/sluice.yaml"]
