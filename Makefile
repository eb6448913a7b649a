# paddock: the two commands a user needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/paddock
FUZZTIME ?= 3s

.PHONY: all build run test test-go fuzz-brief fuzz deps vet clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/paddock

# A standalone server on 127.0.0.1:2181 with its data under ./data.
run: build
	./$(BIN) server --data-dir ./data

# Every test: installs what the tests need when missing, vets, runs the race-enabled suite,
# and runs every fuzz target briefly.
test: deps build vet fuzz-brief test-go

vet:
	$(GO) vet ./...

test-go:
	scripts/test.sh

fuzz-brief:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# Longer fuzzing: make fuzz FUZZTIME=5m
fuzz:
	FUZZTIME=$(if $(filter 3s,$(FUZZTIME)),60s,$(FUZZTIME)) scripts/fuzz.sh

deps:
	scripts/deps.sh

clean:
	rm -rf bin

# Many chaos runs (tests/chaos) with random fault schedules, each on a fresh three-member
# ensemble; prints the totals: runs, operations, faults, violations, lost writes.
# `make test` runs the short version (one run, every fault once).
CHAOS_ITERATIONS ?= 20
.PHONY: chaos
chaos:
	CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) $(GO) test -run '^TestChaos$$' -count=1 -timeout 180m -v ./tests/chaos/

# The container image: the static binary (CGO_ENABLED=0, -trimpath) in a FROM scratch image,
# tagged $(IMAGE). Nothing is pulled. See docs/containers.md.
IMAGE ?= paddock:dev
.PHONY: image test-containers
image:
	GO="$(GO)" deploy/image/build.sh $(IMAGE)

# The container tests alone (they also run in `make test`): image, Compose, Swarm, Kubernetes.
test-containers:
	$(GO) test -race -count=1 -v ./tests/containers/

# Apache ZooKeeper and paddock side by side (standalone, same machine, same run): prints the
# rows of docs/benchmarks.md. WORKLOADS, ROUNDS, DURATION, WARMUP change the run.
.PHONY: bench-compare
bench-compare: build
	scripts/bench-compare.sh

# Memory and restart time with 1M znodes (ZNODES=...), and read tail latency while snapshots
# are taken under load: Apache ZooKeeper and paddock, standalone. See docs/benchmarks.md.
.PHONY: bench-memory bench-snapshot
bench-memory: build
	scripts/bench-memory.sh

bench-snapshot: build
	scripts/bench-snapshot.sh
