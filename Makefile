# rsvpbot — every target needs only Go: tools are fetched, pinned, through
# the Go module proxy.

GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME      ?= 10s
PKGS          := ./...
# The race detector needs cgo and a C compiler; without one the tests still
# run, without -race, and say so.
RACE          ?= $(shell (command -v gcc || command -v cc) >/dev/null 2>&1 && echo -race)

.PHONY: run build test lint fmt-check vet staticcheck unit bench fuzz clean

## run: run the bot (needs TELEGRAM_BOT_TOKEN; SQLite file at data/rsvpbot.db)
run:
	$(GO) run ./cmd/rsvpbot

## build: build the binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: formatting, vet, staticcheck, then every test with the race detector
test: lint unit

unit:
	@[ -n "$(RACE)" ] || echo "warning: no C compiler found; running tests without -race"
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)

## lint: gofmt check, go vet and staticcheck
lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

## bench: Go benchmarks (figures go to docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(PKGS)

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
