# sidecar-operator — run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# npm scripts and everything below run on the Node the project pins (the `node` devDependency),
# not on whatever Node the machine has.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

ENVTEST_BIN = $(shell hack/envtest/build.sh)
# The one reference of this release's image: the chart, the init container default and the uninstall
# hook name it too (a test checks they agree).
VERSION := $(shell node -p 'require("./package.json").version' 2>/dev/null)
IMAGE := ghcr.io/sidecar-operator/sidecar-operator:v$(VERSION)

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Set-up

.PHONY: deps
deps: node_modules/.deps-stamp ## Install Node dependencies (npm ci) and the pinned Node toolchain.

node_modules/.deps-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: system-deps
system-deps: ## Install the Debian packages the tests need (iptables, containerd, runc, CNI plugins, debootstrap, gcc…), when missing.
	hack/system-deps.sh

.PHONY: envtest
envtest: ## Build the control plane and node binaries (kube-apiserver … kubelet, kube-proxy, kubectl), etcd and helm into the cache (reused).
	@echo "envtest binaries: $$(hack/envtest/build.sh)"

.PHONY: envoy-validate
envoy-validate: ## Build the Envoy bootstrap validator (Envoy's API schema, no Envoy) into the cache (reused).
	@echo "envoy-validate: $$(hack/envoy-validate/build.sh)"

.PHONY: promql-check
promql-check: ## Build the PromQL checker (promtool's rule-file check, from Prometheus' Go module) into the cache (reused).
	@echo "promql-check: $$(hack/promql-check/build.sh)"

##@ Development

.PHONY: generate
generate: deps ## Generate TypeScript types from the CRD schema.
	node hack/generate-api.ts

.PHONY: manifests
manifests: ## Copy the CRDs into the Helm chart.
	hack/manifests.sh

.PHONY: verify
verify: deps ## Regenerate everything generated and fail on any difference.
	node hack/generate-api.ts
	hack/manifests.sh
	git diff --exit-code -- src/api charts/sidecar-operator/crds || { echo "generated files are stale: run make generate manifests"; exit 1; }

.PHONY: lint
lint: deps ## Lint (typescript-eslint), check formatting (prettier) and the import graph (no cycle, none upward).
	npm run --silent lint

.PHONY: format
format: deps ## Format the code.
	npm run --silent format

.PHONY: typecheck
typecheck: deps ## Type-check everything, tests included.
	npm run --silent typecheck

.PHONY: build
build: deps dist/.build-stamp ## Compile to dist/ (skipped when no source, tsconfig or lockfile changed).

# Every file and folder under src/ (a folder changes when a file in it is added or removed), the
# tsconfigs and the lockfile: when none is newer than the stamp, dist/ is current.
BUILD_INPUTS := $(shell find src -type d -o -type f -name '*.ts') $(wildcard tsconfig*.json) package-lock.json

dist/.build-stamp: $(BUILD_INPUTS) node_modules/.deps-stamp
	npm run --silent build
	@touch $@

.PHONY: run
run: build ## Run the operator against the current kubeconfig.
	node dist/cli/main.js run $(ARGS)

.PHONY: demo
demo: build envtest ## Start a local control plane, the operator, and inject a sample workload (ARGS=--node: on a real node).
	@if [[ " $(ARGS) " == *" --node "* ]]; then $(MAKE) --no-print-directory system-deps images; fi
	node dist/cli/main.js demo $(ARGS)

##@ Test

.PHONY: test
test: deps system-deps envtest envoy-validate promql-check build images ## Run every test: unit, integration (real control plane), then e2e (real node).
	node --version
	npx vitest run --project unit --project integration
	npx vitest run --project e2e

.PHONY: test-e2e
test-e2e: deps system-deps envtest build images ## Run the end-to-end tests on a real node (kubelet, containerd, kube-proxy).
	npx vitest run --project e2e

.PHONY: test-unit
test-unit: deps ## Run the unit tests only (no control plane).
	npx vitest run --project unit

.PHONY: test-integration
test-integration: deps system-deps envtest envoy-validate promql-check build ## Run the integration tests (real kube-apiserver + etcd).
	npx vitest run --project integration

.PHONY: helm-lint
helm-lint: envtest ## Lint and template the chart with the built helm.
	hack/helm-lint.sh "$(ENVTEST_BIN)/helm"

.PHONY: bench
bench: build envtest ## Run the benchmarks under bench/.
	@for b in bench/*/run.sh; do case $$b in bench/scale/*) continue;; esac; echo "== $$b"; $$b; done

.PHONY: bench-scale
bench-scale: build envtest ## The operator at cluster size (bench/scale: pods over 10,000 namespaces, 80 policies; minutes).
	bench/scale/run.sh

.PHONY: bench-replica
bench-replica: build envtest ## One replica's memory: compiled tree, shipped bundle, chart settings (bench/replica; minutes).
	bench/replica/run.sh

.PHONY: bench-soak
bench-soak: build envtest ## One replica as shipped in a 256 MiB memory cgroup under 30 min of valid, fuzzed and hostile reviews (bench/soak; root, cgroup v1).
	bench/soak/run.sh

.PHONY: bench-workers
bench-workers: build ## One webhook process against node:cluster workers sharing its port (bench/workers; a minute or two).
	bench/workers/run.sh

.PHONY: bench-peers
bench-peers: build envtest ## Run ours against Istio (istioctl, Istio's webhook) interleaved; builds them first (about half an hour the first time).
	bench/peers/compare.sh

##@ Packaging

.PHONY: dist
dist: deps ## Build the CLI as single-file executables (linux/amd64, linux/arm64; Node inside) into release/, with SHA256SUMS.
	node hack/dist/build.ts

.PHONY: docker-build
docker-build: ## Build the operator image with Docker (tagged as the chart and the init container name it).
	docker build -t $(IMAGE) .

.PHONY: images
images: deps system-deps build envtest ## Build the operator and test images without Docker (OCI archives, cached).
	node hack/image/build.ts

.PHONY: clean
clean: ## Remove build outputs (the envtest cache is kept).
	rm -rf dist coverage release
