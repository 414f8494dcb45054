# One image for both jobs: the operator (controller + webhook) and the init container that writes the
# pod's iptables rules (`sidecar-operator iptables …`, run as root with NET_ADMIN and NET_RAW).

# --- build: bundle the CLI with its dependencies (hack/bundle.ts: esbuild, one entry and a chunk per
# lazily loaded command). A replica then loads a few files instead of some 1,500 modules: about
# 60 MiB less memory (docs/benchmarks.md#replica-memory), and no node_modules in the image.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The `node` devDependency only pins the toolchain for development; its install script would fetch a
# second Node binary the image already has, so scripts are skipped (esbuild's binary comes from its
# platform package).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY hack/bundle.ts ./hack/
COPY src ./src
# The demo and the test harness (src/dev) are not part of the operator: the bundle leaves them out.
RUN node hack/bundle.ts /src/bundle

# --- runtime -------------------------------------------------------------------------------------
FROM node:24-slim
# iptables (nf_tables backend by default on Debian) and iproute2 for the init container's rules and
# TPROXY policy routing.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# One malloc arena per thread keeps memory a webhook never needs again (the chart sets it too).
ENV MALLOC_ARENA_MAX=2
COPY --from=build /src/bundle /app
COPY crds ./crds
# `sidecar-operator` on PATH: the init container runs `sidecar-operator iptables …`.
COPY hack/image/sidecar-operator /usr/local/bin/sidecar-operator
# Non-root by default (numeric, so runAsNonRoot can verify it); the injected init container asks for
# UID 0 and the NET_ADMIN/NET_RAW capabilities explicitly.
USER 65532:65532
ENTRYPOINT ["sidecar-operator"]
