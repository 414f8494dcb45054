# One image for both jobs: the operator (controller + webhook) and the init container that writes the
# pod's iptables rules (`sidecar-operator iptables …`, run as root with NET_ADMIN and NET_RAW).

# --- build: compile TypeScript -------------------------------------------------------------------
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The `node` devDependency only pins the toolchain for development; its install script would fetch a
# second Node binary the image already has, so scripts are skipped.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The demo and the test harness (src/dev) are not part of the operator: left out of the image.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && rm -rf dist/dev

# --- production dependencies only ----------------------------------------------------------------
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------------
FROM node:24-slim
# iptables (nf_tables backend by default on Debian) and iproute2 for the init container's rules and
# TPROXY policy routing.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY crds ./crds
# `sidecar-operator` on PATH: the init container runs `sidecar-operator iptables …`.
COPY hack/image/sidecar-operator /usr/local/bin/sidecar-operator
# Non-root by default (numeric, so runAsNonRoot can verify it); the injected init container asks for
# UID 0 and the NET_ADMIN/NET_RAW capabilities explicitly.
USER 65532:65532
ENTRYPOINT ["sidecar-operator"]
