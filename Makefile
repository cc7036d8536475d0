# llmsweep — the two commands that matter: `make run` and `make test`.
# Go fetches every module it needs; nothing else is required on a Debian machine with Go.

GO      ?= go
BIN     := bin
GOFLAGS ?= -buildvcs=false
export GOFLAGS

.PHONY: all build run test check fuzz generate bench clean

all: build

## build: compile the CLI into bin/
build:
	$(GO) build -o $(BIN)/llmsweep ./cmd/llmsweep

## run: the main job — vet the catalog, the campaigns and the policies, and show the campaigns
run: build
	$(BIN)/llmsweep vet campaigns/ catalog/

## test: every test tier that exists (formatting, vet, unit, testscript, plain cue vet)
test: check
	$(GO) test -count=1 ./...

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run the loader fuzzer (FUZZTIME=5m by default)
FUZZTIME ?= 5m
fuzz:
	$(GO) test ./internal/campaign -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)

## generate: rewrite generated files
generate:
	$(GO) generate ./...

## bench: Go benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
