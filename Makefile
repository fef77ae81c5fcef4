# Convenience targets. The README's two commands (run and test) work without make.
GO ?= go
FUZZTIME ?= 30s

.PHONY: test test-cluster run-dev lint fuzz bench bench-load compose-config

test: ## the CI test command (needs redis-server on PATH)
	$(GO) test -race -count=1 ./...

test-cluster: ## the end-to-end suite with each test on a fresh 3-master Redis Cluster (slow; not in CI)
	APPAUTHZ_E2E_REDIS=cluster $(GO) test -count=1 ./cmd/e2e/

run-dev: ## zero-setup daemon with an in-memory Redis and demo data
	$(GO) run ./cmd/authzd --dev

# The linters, pinned: `go run` fetches and builds them, so a clean machine
# needs nothing else. .ci/run reads these two lines, so CI runs the same.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOLANGCI_LINT ?= github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

lint: ## gofmt, go vet, staticcheck, golangci-lint (linters chosen in .golangci.yml)
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(GOLANGCI_LINT) run ./...

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: ## micro-benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./authz/... ./store/...

BENCH_DIR ?= /tmp/appauthz-bench
BENCH_ARGS ?=
bench-load: ## authzd over real gRPC, pinned: authzd on CPU 0 (GOMAXPROCS=1), load and Redis on CPU 1 (docs/performance.md)
	mkdir -p $(BENCH_DIR)
	$(GO) build -o $(BENCH_DIR)/authzd ./cmd/authzd
	$(GO) build -o $(BENCH_DIR)/authz-bench ./cmd/authz-bench
	taskset -c 1 $(BENCH_DIR)/authz-bench --authzd $(BENCH_DIR)/authzd --authzd-cpu 0 $(BENCH_ARGS)
	taskset -c 1 $(BENCH_DIR)/authz-bench --authzd $(BENCH_DIR)/authzd --authzd-cpu 0 --keys 1000000 --methods appcode,key $(BENCH_ARGS)

compose-config: ## validate docker-compose.yml offline
	docker-compose -f docker-compose.yml config -q
