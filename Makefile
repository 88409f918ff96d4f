# rsvpbot — every target needs only Go: tools are fetched, pinned, through
# the Go module proxy.

GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME      ?= 10s
PKGS          := ./...
# The race detector needs cgo and a C compiler; without one the tests still
# run, without -race, and say so.
RACE          ?= $(shell (command -v gcc || command -v cc) >/dev/null 2>&1 && echo -race)

.PHONY: run playground screenshots build test lint fmt-check vet staticcheck unit unit-postgres bench fuzz clean

## run: run the bot (needs TELEGRAM_BOT_TOKEN; SQLite file at data/rsvpbot.db)
run:
	$(GO) run ./cmd/rsvpbot

## playground: try the bot in a browser against the built-in Telegram
## emulator (no token; data in data/playground.db; open the URL it prints)
playground:
	$(GO) run ./cmd/rsvpbot playground

## screenshots: rewrite docs/playground.png from the browser test (needs Chromium)
screenshots:
	RSVPBOT_BROWSER_TESTS=require RSVPBOT_SCREENSHOT=docs/playground.png \
		$(GO) test -count=1 -run '^TestBrowserFlow$$' ./playground/

## build: build the binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: formatting, vet, staticcheck, then every test with the race detector,
## then the store, outbox, scheduler and ops tests again on PostgreSQL
## (RSVPBOT_TEST_POSTGRES=postgres://...; without it they are skipped, and
## so are the replica tests)
test: lint unit unit-postgres

unit:
	@[ -n "$(RACE)" ] || echo "warning: no C compiler found; running tests without -race"
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)

# The same tests, not copies: store/storetest opens PostgreSQL schemas
# instead of SQLite files when RSVPBOT_TEST_BACKEND=postgres.
PG_PKGS       := ./store/... ./outbox/... ./scheduler/... ./ops/...
unit-postgres:
	@if [ -z "$$RSVPBOT_TEST_POSTGRES" ]; then \
		echo "PostgreSQL tests skipped: set RSVPBOT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (CI does)"; \
	else \
		echo "== the store, outbox, scheduler and ops tests on PostgreSQL"; \
		RSVPBOT_TEST_BACKEND=postgres $(GO) test $(RACE) -count=1 -timeout 20m $(PG_PKGS); \
	fi

## lint: gofmt check, go vet and staticcheck
lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

## bench: Go benchmarks and a short load run of each mode (rsvpload against
## the Telegram emulator); rewrites the generated blocks of docs/benchmarks.md
## and the charts in docs/charts/. About 15 minutes on 2 cores (the first run
## seeds the large database for the scale benchmarks, ~2.5 min, cached in $TMPDIR).
BENCH_DIR     ?= $(or $(TMPDIR),/tmp)/rsvpbot-bench
BENCH_STEADY  ?= -mode steady -rate 20 -duration 30s
BENCH_RAMP    ?= -mode ramp -rate 5 -ramp-step 10s -ramp-factor 1.5
BENCH_SPIKE   ?= -mode spike -spike 10000 -global 100 -rate 5
BENCH_CHAOS   ?= -mode chaos -rate 15 -duration 2m -kill-every 10s
bench:
	@rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR) docs/charts
	$(GO) build -o $(BENCH_DIR)/ ./cmd/rsvpbot ./cmd/rsvpload
	@start=$$(date +%s); status=0; \
	echo "== go test -p 1 -timeout 60m -run '^$$' -bench . -benchmem $(PKGS)"; \
	$(GO) test -p 1 -timeout 60m -run '^$$' -bench . -benchmem $(PKGS) > $(BENCH_DIR)/go-bench.txt 2>&1 || status=1; \
	grep -E '^(Benchmark|ok|FAIL|---)' $(BENCH_DIR)/go-bench.txt; \
	for run in "steady:$(BENCH_STEADY)" "ramp:$(BENCH_RAMP)" "spike:$(BENCH_SPIKE)" "chaos:$(BENCH_CHAOS)"; do \
		name=$${run%%:*}; \
		echo "== rsvpload $${run#*:}"; \
		$(BENCH_DIR)/rsvpload -bot $(BENCH_DIR)/rsvpbot -q $${run#*:} -json $(BENCH_DIR)/$$name.json \
			-chart docs/charts/load-$$name.svg || status=1; \
	done; \
	$(BENCH_DIR)/rsvpload report -bench $(BENCH_DIR)/go-bench.txt -out docs/benchmarks.md \
		-took $$(( $$(date +%s) - start ))s $(BENCH_DIR)/*.json || status=1; \
	exit $$status

## fuzz: a short run of every fuzz target (FUZZTIME each)
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

clean:
	rm -rf bin
