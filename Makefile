# llmsweep — the two commands that matter: `make run` and `make test`.
# Go fetches every module it needs; nothing else is required on a Debian machine with Go.

GO      ?= go
BIN     := bin
# llmsweep --version prints these; a build outside git says dev/unknown.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/llmsweep/llmsweep/internal/cli.version=$(VERSION) -X github.com/llmsweep/llmsweep/internal/cli.commit=$(COMMIT)
# The plugin SDK is its own Go module (plugins/sdk/go.mod): the main module uses it
# through a replace directive, and every target that vets or tests runs in both.
SDK     := plugins/sdk
GOFLAGS ?= -buildvcs=false
export GOFLAGS
# go-nvml's cgo code calls NVML functions that NVIDIA marks deprecated, and gcc
# warns at each (about 150 lines on a fresh build, before anything else). Go
# has no per-package cgo flags: this silences that one warning class for every
# cgo package built here, go-nvml and the standard library's, which raise none.
# Go's defaults (-O2 -g) are kept.
CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
export CGO_CFLAGS

PLUGINS := vllm tgi lmdeploy sglang trtllm openai sim

.PHONY: all build run serve test e2e test-outage test-k8s test-argo test-timescale check check-generated fuzz generate proto bench clean

all: build

## build: compile the CLI and the framework plugins into bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/llmsweep ./cmd/llmsweep
	@for p in $(PLUGINS); do $(GO) build -o $(BIN)/llmsweep-plugin-$$p ./plugins/$$p || exit 1; done

## run: the main job — vet the catalog, campaigns and policies, show the campaigns, compile
## them, plan the quickstart, run it on the emulated engine (sim: no GPU, no server; its
## results are predictions and say so) into the store, with its views and reports (with
## every shipped policy's recommendations) in .llmsweep/reports/, then list its results and
## rank the store's newest under the balanced policy
run: build
	$(BIN)/llmsweep vet campaigns/ catalog/
	$(BIN)/llmsweep compile --out .llmsweep/generated
	$(BIN)/llmsweep plan campaigns/quickstart.cue
	$(BIN)/llmsweep run campaigns/quickstart.cue
	$(BIN)/llmsweep results --campaign quickstart
	$(BIN)/llmsweep rank --policy balanced --campaign quickstart

## serve: the catalog web app and JSON API on the store make run filled (http://localhost:8080/);
## set CACHE=redis://127.0.0.1:6379/0 to read through Redis, ADDR to listen elsewhere
ADDR  ?= :8080
CACHE ?=
serve: build
	$(BIN)/llmsweep serve --store sqlite://.llmsweep/results.db --addr $(ADDR) $(if $(CACHE),--cache $(CACHE))

## test: every test tier that exists (formatting, vet, unit, testscript, plain cue vet,
## golden manifests through Argo's validator, the report in real headless Chromium and
## poppler, installed by tools/chromium/ensure.sh; actionlint and shellcheck on the CI
## integration in ci/ and the docs' workflows, installed by tools/ci/ensure.sh) and a
## check that generated/ is current
test: check build
	tools/chromium/ensure.sh
	actionlint=$$(tools/ci/ensure.sh) && \
	  LLMSWEEP_BROWSER_TESTS=1 LLMSWEEP_CI_LINT=1 LLMSWEEP_ACTIONLINT=$$actionlint $(GO) test -count=1 ./...
	cd $(SDK) && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory check-generated

## e2e: the quickstart campaign against a real engine: ollama built from the Go module
## proxy (cached in .cache/ollama; minutes the first time), serving the project's tiny model
e2e: build
	tools/ollama/build.sh >/dev/null
	LLMSWEEP_E2E=1 $(GO) test -count=1 -v -run 'TestRealOllama|TestQuickstartOnOllama|TestTPOTAgreesWithOllama|TestGSM8KOnOllama' ./internal/ollama ./internal/e2e

## test-outage: stop the machine's PostgreSQL in the middle of a run and start it again;
## the results reach the store once each (run alone: it stops the shared server)
test-outage:
	LLMSWEEP_PG_OUTAGE=1 $(GO) test -count=1 -v -run '^TestPostgresOutage$$' ./internal/runner

## test-k8s: apply, dry-run, diff --live, prune and status against a real etcd and
## kube-apiserver with the full Argo CRDs; tools/k8s/build.sh builds both from the Go
## module proxy into ~/.cache/llmsweep/k8s (about 8 minutes the first time, then cached)
test-k8s:
	assets=$$(tools/k8s/build.sh) && LLMSWEEP_K8S=1 LLMSWEEP_K8S_ASSETS=$$assets $(GO) test -count=1 ./internal/kube/...

## test-argo: the compiled campaigns under Argo's real workflow-controller v3.7.4, with the
## real kube-scheduler and kube-apiserver v1.34.4 and kwok v0.8.0 playing the GPU nodes and
## the pods (internal/kube/argoenv): happy path, spot shortage, preemption, a batch that
## fails every retry, schedule, model fetch, metrics. tools/k8s/build.sh and
## tools/argo/build.sh build the binaries from the Go module proxy into ~/.cache/llmsweep
## (minutes the first time, then cached)
test-argo:
	k8s=$$(tools/k8s/build.sh) && argo=$$(tools/argo/build.sh) && \
	  LLMSWEEP_ARGO=1 LLMSWEEP_K8S_ASSETS=$$k8s LLMSWEEP_ARGO_ASSETS=$$argo $(GO) test -count=1 -v -timeout 30m ./internal/kube/argoenv/

## test-timescale: the store's whole suite (internal/store and every package whose tests
## use storetest) and the outage test against PostgreSQL with TimescaleDB 2.28.3, the
## Apache-2 edition: tools/timescale/cluster.sh builds it from ../shared/timescaledb
## (cached in ~/.cache/llmsweep/timescaledb; minutes the first time) and starts a second
## cluster on port 5433 with it preloaded, leaving the main server untouched
test-timescale:
	url=$$(tools/timescale/cluster.sh) && \
	  pkgs=$$($(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '/internal\/store\/storetest/ {print $$1}') && \
	  LLMSWEEP_TEST_POSTGRES="$$url" LLMSWEEP_TEST_TIMESCALE=1 $(GO) test -count=1 $$pkgs && \
	  LLMSWEEP_TEST_POSTGRES="$$url" LLMSWEEP_TEST_TIMESCALE=1 LLMSWEEP_PG_OUTAGE=1 $(GO) test -count=1 -v -run '^TestPostgresOutage$$' ./internal/runner

## check-generated: fail when generated/ is not what `make generate` would write
check-generated: build
	@$(BIN)/llmsweep diff --max 5 || { echo "generated/ is stale (or edited): run make generate and commit the result"; exit 1; }

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd $(SDK) && $(GO) vet ./... && $(GO) mod tidy -diff

## fuzz: run the parsers' fuzzers, FUZZTIME each (5m by default): the CUE loader, the
## SSE parser, the stream chunk decoder and client, the ShareGPT loader, Argo's
## workflow.failures (notify), PagerDuty's answers (notify), the published points
## file (plan --validate), the accuracy tasks' Parquet data (taskdata) and the other
## tools' result files (results import: JSON and YAML)
FUZZTIME ?= 5m
fuzz:
	$(GO) test ./internal/campaign -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	cd $(SDK) && $(GO) test ./sse -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME)
	cd $(SDK) && $(GO) test ./stream -run '^$$' -fuzz '^FuzzDecodeChunk$$' -fuzztime $(FUZZTIME)
	cd $(SDK) && $(GO) test ./stream -run '^$$' -fuzz '^FuzzDo$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/sharegpt -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/notify -run '^$$' -fuzz '^FuzzParseArgoFailures$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/notify -run '^$$' -fuzz '^FuzzPagerDutyOutcome$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/sim -run '^$$' -fuzz '^FuzzReadPoints$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/taskdata -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/benchfmt -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/benchfmt -run '^$$' -fuzz '^FuzzImportYAML$$' -fuzztime $(FUZZTIME)

## generate: rewrite generated/ from the campaigns, and docs/campaign.md from the schema
generate: build
	$(GO) generate ./...
	$(BIN)/llmsweep compile
	$(GO) test ./internal/schemadoc -run TestCampaignReference -update

## proto: regenerate the plugin protocol's Go code (protoc from Debian, pinned generators)
TOOLS := $(CURDIR)/.cache/tools
proto:
	@command -v protoc >/dev/null || { echo "installing protoc (Debian protobuf-compiler)"; apt-get install -y protobuf-compiler >/dev/null; }
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
	PATH=$(TOOLS):$$PATH protoc -I plugins/sdk/proto \
	  --go_out=plugins/sdk/proto --go_opt=paths=source_relative \
	  --go-grpc_out=plugins/sdk/proto --go-grpc_opt=paths=source_relative \
	  plugins/sdk/proto/framework.proto

## bench: the benchmarks, each against a baseline measured in the same run
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/generated/
	$(GO) test -run '^$$' -bench CompileCommand -benchtime 5x ./internal/cli/
	$(GO) test -run '^$$' -bench . -benchmem ./internal/matrix/ ./internal/diff/
	$(GO) test -run '^$$' -bench VetSize -benchtime 1x -benchmem ./internal/campaign/
	$(GO) test -run '^$$' -bench Validate -benchtime 1x ./internal/argo/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/rank/
	$(GO) test -run '^$$' -bench Leaderboard -benchtime 1x ./internal/serve/
	cd $(SDK) && $(GO) test -run '^$$' -bench . -benchmem ./sse/ ./stream/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/testing/loadgenbench/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./plugins/sim/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/store/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/sim/
	$(BIN)/llmsweep plan --validate | tail -n 8
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/report/

clean:
	rm -rf $(BIN)
