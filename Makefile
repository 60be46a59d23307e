# Job Center — the README's commands. Every Go module of the workspace is listed once.
PKGS := ./... ./contracts/... ./shared/... ./services/api/... ./services/trigger/... ./services/executor/... ./clients/go/...
MODULES := . contracts shared services/api services/trigger services/executor clients/go

# The test recipe pipes go test into its report: bash, so that the pipeline fails with go test.
SHELL := /bin/bash

.PHONY: run test vet lint fmt tidy build modules rebuild chaos fuzz bench cron-vectors

## run: the whole system in one process, embedded NATS and FerretDB under ./data, API on :8001
## (built, then run itself rather than under go run, which exits 1 after Ctrl-C whatever the program did)
run:
	go build -o bin/jobcenter ./cmd/jobcenter && exec ./bin/jobcenter

## rebuild: with the center stopped, derive the projections under ./data again from the log
rebuild:
	go build -o bin/jobcenter ./cmd/jobcenter && exec ./bin/jobcenter rebuild

# Fuzz targets, as "package target": make test runs each briefly, make fuzz longer.
FUZZ := ./shared/cron:FuzzParse ./shared/jobcode:FuzzRun ./shared/job:FuzzParseRunDate \
	./shared/job:FuzzInput ./services/api/internal/httpapi:FuzzDecodeBodies
FUZZTIME ?= 1m

## test: vet, every test with the race detector (real embedded NATS and FerretDB), then the tests
## skipped and why; each fuzz target briefly: 500 inputs each (a count, not a time: a time limit can
## end in a spurious deadline error)
test: vet
	set -o pipefail; go test -race -count=1 -timeout 20m -json $(PKGS) 2>&1 | go run ./scripts/testreport
	$(MAKE) --no-print-directory fuzz FUZZTIME=500x

## fuzz: each fuzz target for FUZZTIME (default 1m; a count such as 5000x works too)
fuzz:
	@for f in $(FUZZ); do pkg=$${f%%:*}; target=$${f##*:}; \
		echo "fuzz $$target ($$pkg) for $(FUZZTIME)"; \
		go test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; done

## cron-vectors: ask real Quartz 2.3.2 again for shared/cron's test vectors (testdata/quartz_vectors.jsonl);
## needs a JDK and Debian's libquartz2-java, so neither make test nor CI runs it
cron-vectors:
	bash scripts/quartzoracle/gen.sh

## vet: go vet over every module
vet:
	go vet $(PKGS)

## lint: formatting and vet, failing on any finding
lint: vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## fmt: format every Go file
fmt:
	gofmt -w $(MODULES)

## tidy: tidy each module on its own (each must build without go.work)
tidy:
	for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy) || exit 1; done

## modules: build each module alone, without the workspace, as a consumer would
modules:
	for m in $(MODULES); do (cd $$m && GOWORK=off go build ./...) || exit 1; done

## chaos: minutes of kill -9 of random services, workers and the broker, and cuts of triggers, executors
## and workers off the broker or the store (network namespaces: root and iproute2), under load, then counts (CHAOS_FOR=3m)
CHAOS_FOR ?= 3m
chaos: build
	go run ./scripts/chaos -bin ./bin -duration $(CHAOS_FOR)

## bench: the performance figures (README, Performance): one table per section, JSON under bench/results;
## never part of make test. BENCH_FLAGS passes flags, e.g. BENCH_FLAGS="-only scheduler -runs 5 -api-for 10s"
BENCH_FLAGS ?=
bench: build
	go run ./scripts/bench -jobcenter ./bin/jobcenter $(BENCH_FLAGS)

## build: the four programs, the jobctl CLI and the example subscriber into ./bin
build:
	go build -o bin/ ./cmd/jobcenter ./cmd/jobctl ./services/api/cmd/api ./services/trigger/cmd/trigger ./services/executor/cmd/executor ./examples/subscriber ./examples/worker
