# sluice: one image for every role (`serve`, `api`, `worker`); docker-compose.yml picks the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles if no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
# `prepare` builds dist/ during npm ci.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve", "--config", "/config/sluice.yaml"]
