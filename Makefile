# llmsweep — the two commands that matter: `make run` and `make test`.
# Go fetches every module it needs; nothing else is required on a Debian machine with Go.

GO      ?= go
BIN     := bin
GOFLAGS ?= -buildvcs=false
export GOFLAGS

.PHONY: all build run test check check-generated fuzz generate bench clean

all: build

## build: compile the CLI into bin/
build:
	$(GO) build -o $(BIN)/llmsweep ./cmd/llmsweep

## run: the main job — vet the catalog, campaigns and policies, show the campaigns, compile them
run: build
	$(BIN)/llmsweep vet campaigns/ catalog/
	$(BIN)/llmsweep compile --out .llmsweep/generated

## test: every test tier that exists (formatting, vet, unit, testscript, plain cue vet,
## golden manifests through Argo's validator) and a check that generated/ is current
test: check build
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory check-generated

## check-generated: fail when generated/ is not what `make generate` would write
check-generated: build
	@$(BIN)/llmsweep diff --max 5 || { echo "generated/ is stale (or edited): run make generate and commit the result"; exit 1; }

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run the loader fuzzer (FUZZTIME=5m by default)
FUZZTIME ?= 5m
fuzz:
	$(GO) test ./internal/campaign -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)

## generate: rewrite generated/ from the campaigns
generate: build
	$(GO) generate ./...
	$(BIN)/llmsweep compile

## bench: the benchmarks, each against a baseline measured in the same run
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/generated/
	$(GO) test -run '^$$' -bench . -benchmem ./internal/matrix/ ./internal/diff/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/rank/

clean:
	rm -rf $(BIN)
