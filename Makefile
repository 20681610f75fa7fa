# smbkrb. `make demo` and `make test` install what is missing first
# (.ci/install-deps; root on Debian 12).
GO      ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build deps demo test vet fuzz bench clean

all: build

deps:
	bash .ci/install-deps

build:
	$(GO) build ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# The demo: a real MIT KDC and smbkrb's KDC proxy on loopback.
demo: deps
	$(GO) run ./internal/demo

# Every test against real servers, with the race detector; then a short
# fuzz run of the MS-KKDCP decoder and one pass of each benchmark (so they
# keep working).
test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -run '^$$' -fuzz FuzzUnmarshal -fuzztime 20s ./kkdcp/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzUnmarshal -fuzztime 5m ./kkdcp/

# The figures quoted in README.md.
bench: deps
	$(GO) test -run '^$$' -bench 'Login|TGS' -benchtime 200x ./krb5/
	$(GO) test -run '^$$' -bench GSSContexts -benchtime 10000x ./krb5/
	SMBKRB_BENCH_MIB=256 $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./bench/

clean:
	$(GO) clean -testcache
