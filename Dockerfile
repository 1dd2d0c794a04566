# One image for the three services; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@12.4.2

# Dependencies first, from the lockfile and the workspace's manifests only, so that this layer is reused
# until they change. Every workspace package's package.json (pnpm-workspace.yaml: packages/*, services/*,
# test/fakes) is listed: add a new package's here too (a missing one fails the frozen install).
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/db/package.json packages/db/
COPY packages/eval/package.json packages/eval/
COPY packages/gateway-client/package.json packages/gateway-client/
COPY packages/index-versions/package.json packages/index-versions/
COPY packages/stored-queries/package.json packages/stored-queries/
COPY packages/jobs/package.json packages/jobs/
COPY packages/keyword-index/package.json packages/keyword-index/
COPY packages/models/package.json packages/models/
COPY packages/server-kit/package.json packages/server-kit/
COPY services/gateway/package.json services/gateway/
COPY services/ingestion/package.json services/ingestion/
COPY services/retrieval/package.json services/retrieval/
COPY test/fakes/package.json test/fakes/
# Dev dependencies stay: the services run their TypeScript through tsx (`node --import tsx`), a root
# devDependency. onnxruntime-node's install script is not allowed to run (allowBuilds in
# pnpm-workspace.yaml); ONNXRUNTIME_NODE_INSTALL=skip says the same to it, so no CUDA download either way
# (local models run on the CPU binaries the package ships).
RUN ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile

# Sources last (.dockerignore keeps .env, data folders, logs and test output out).
COPY . .
# The services run as the unprivileged node user and only read /app, except /app/.quire: the local
# models' download cache (./.quire/models) and, with QUIRE_DATA_DIR=/app/.quire, the gateway's ledger
# journal. Owned by node, so a named volume mounted there starts owned by node too.
RUN mkdir -p /app/.quire/models && chown -R node:node /app/.quire
ENV NODE_ENV=production
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "services/gateway/src/main.ts"]
