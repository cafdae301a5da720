# trigger-ops image: `trigger-ops controller` (the Railway service) by default; the compose stack runs `worker`. Debian (glibc), not Alpine: @temporalio/core-bridge ships no musl build.
# The TypeScript sources run through tsx (a runtime dependency), exactly as `npm start` and bin/trigger-ops.js do;
# only the workflow bundle is prepared at build time, so the worker starts without webpack.
#
#   docker build -t trigger-ops:<version> .
#   docker run --env-file .env -e TEMPORAL_ADDRESS=host:7233 -v trigger-ops-data:/data trigger-ops:<version>

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: all dependencies, then the workflow bundle ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
COPY vendor/cloud-init ./vendor/cloud-init
RUN node --import tsx scripts/bundle-workflows.ts dist/workflow-bundle.js
# The embedded Temporal server: the pinned CLI, checksum-verified (the same script a test runs).
RUN node --import tsx scripts/install-temporal.ts /app/dist/bin

# ---- runtime: production dependencies, the sources, the bundle; no compilers, no dev tools ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TRIGGER_OPS_DATA_DIR=/data \
    TRIGGER_OPS_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    TEMPORAL_CLI_PATH=/usr/local/bin/temporal
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
# The product only: the sandbox (sandbox/, beside src/) and the tests stay out (test/contract/production-image.test.ts).
COPY src ./src
COPY vendor/cloud-init ./vendor/cloud-init
# The webapp database's migration chains `db migrate` applies (src/activities/postgres/chain.ts reads them), each
# release's with its manifest and licence; all of vendor/trigger, so a chain vendored later ships without an edit.
COPY vendor/trigger ./vendor/trigger
COPY scripts/worker-healthcheck.ts ./scripts/worker-healthcheck.ts
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
COPY --from=build /app/dist/bin/temporal /usr/local/bin/temporal
# The data dir (codec key when generated, local secret store) belongs to the unprivileged user; mount a volume here.
RUN mkdir -p /data && chown node:node /data
USER node

# Healthy = the Temporal server has seen this container's worker poll its task queue within the last two minutes.
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
  CMD ["node", "--import", "tsx", "scripts/worker-healthcheck.ts"]

# On SIGTERM the worker lets running activities finish for up to 30 s (shutdownForceTime): give it longer than that
# before SIGKILL (compose: stop_grace_period; Railway: drainingSeconds). The controller serves HTTP on $PORT.
EXPOSE 8080
CMD ["node", "bin/trigger-ops.js", "controller"]
