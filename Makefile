# keygate: the two commands a newcomer needs are `make synth` and `make test`.
# Both install what they need (the pinned CDK CLI from package-lock.json, the
# Go modules from go.sum) and work offline afterwards: no Docker, no AWS
# credentials.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# jsii prints a screen-wide end-of-life banner on Node 20 for every process.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20

CDK := node_modules/.bin/cdk
FUZZTIME ?= 30s
# Fuzz targets as package:FuzzName.
FUZZ_TARGETS := ./internal/bearer:FuzzParseAgreesWithValidationExpression ./lambda/authorizer/authorize:FuzzAuthorizeNeverAllowsWhatTheParserRefuses

.PHONY: help synth test fuzz lint bench bench-local diff tools check-tools clean local

help:
	@echo "make synth   synthesize every environment into cdk.out/ (keygate-dev, keygate-staging, keygate-prod)"
	@echo "make test    run every test (config, authorizer, template assertions, golden snapshots)"
	@echo "make diff    offline CloudFormation diff of the working tree against BASE (default: merge base with main)"
	@echo "make lint    gofmt, go mod tidy, go vet, actionlint (+ shellcheck if installed), CloudFormation validation of the templates"
	@echo "make fuzz    fuzz the bearer parser for FUZZTIME per target (default $(FUZZTIME))"
	@echo "make bench   authorizer benchmarks"
	@echo "make bench-local  load the local gateway with vegeta: cold start, first uncached request, req/s and p50/p99"
	@echo "make local   serve ENV (default dev) on ADDR (default 127.0.0.1:8787) from cdk.out, as API Gateway would; KEYS=<file> gives key values"

## synth: every environment's template into cdk.out/, through the pinned CDK CLI.
synth: tools
	$(CDK) synth --quiet
	@ls cdk.out/keygate-*.template.json

## test: every test of the module.
test: tools
	go test ./...

fuzz: tools
	@for target in $(FUZZ_TARGETS); do \
	  pkg=$${target%%:*}; name=$${target##*:}; \
	  echo "fuzzing $$name in $$pkg for $(FUZZTIME)"; \
	  go test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME); \
	done

bench: tools
	go test ./lambda/... ./internal/... -run '^$$' -bench . -benchmem -count 6

lint: tools
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	@# go.mod and go.sum must be what go mod tidy makes them: a direct
	@# dependency marked // indirect, or a stale go.sum line, shows here.
	@tidy=$$(go mod tidy -diff 2>&1) || { echo "go.mod/go.sum are not tidy; run go mod tidy and commit:"; echo "$$tidy"; exit 1; }
	go vet ./...
	@# actionlint runs shellcheck on every run: step when shellcheck is on PATH
	go tool actionlint
	@if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh && echo "shellcheck: scripts/*.sh pass"; \
	  else echo "shellcheck not installed: run: steps and scripts/*.sh not shell-checked (apt-get install shellcheck)"; fi
	@# aws-cdk-lib's CloudFormation validation of every template (about 5 s)
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	  CDK_VALIDATION=true $(CDK) synth --quiet --output "$$out" >/dev/null && \
	  echo "CloudFormation validation: every template passes"

# BASE is the git ref to compare against; FAIL_ON=replace makes a guarded
# change (a replaced or deleted API key, plan, stage, API or log group) fail.
# make exits 2 whenever the recipe fails; scripts/diff.sh's own status tells
# a refusal (3) from a guarded change (1) and an error (2).
BASE ?=
FAIL_ON ?=
diff: tools
	BASE='$(BASE)' FAIL_ON='$(FAIL_ON)' scripts/diff.sh

## tools: check Go and Node, install the pinned CDK CLI and the Go modules.
tools: check-tools node_modules/.package-lock.json .cache/go-modules

check-tools:
	@command -v go >/dev/null || { echo "keygate needs Go (1.26.6 or newer) on PATH: https://go.dev/dl/"; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "keygate needs Node.js (20 or newer) with npm on PATH: https://nodejs.org/"; exit 1; }

node_modules/.package-lock.json: package-lock.json package.json | check-tools
	npm ci --no-audit --no-fund --loglevel=error

.cache/go-modules: go.mod go.sum | check-tools
	go mod download
	@mkdir -p .cache && touch $@

## bench-local: the local gateway as a process under vegeta (WORKERS
## concurrent connections for DURATION), with cold-start timings.
WORKERS ?= 8
DURATION ?= 10s
bench-local: tools
	KEYGATE_BENCH=1 KEYGATE_BENCH_WORKERS=$(WORKERS) KEYGATE_BENCH_DURATION=$(DURATION) go test ./test/local -run '^TestLoadWithVegeta$$' -count=1 -v

## local: synthesize, then serve ENV's stage from cdk.out on ADDR in the
## foreground (Ctrl-C stops it). KEYS is an optional JSON file of key values;
## CONTROL_ADDR starts the local control plane beside it, where there is one.
ENV ?= dev
ADDR ?= 127.0.0.1:8787
KEYS ?=
CONTROL_ADDR ?=
local: synth
	@mkdir -p .cache
	go build -o .cache/keygate ./cmd/keygate
	exec .cache/keygate local -env '$(ENV)' -addr '$(ADDR)' $(if $(KEYS),-keys '$(KEYS)') $(if $(CONTROL_ADDR),-control-addr '$(CONTROL_ADDR)')

clean:
	rm -rf cdk.out .cache
