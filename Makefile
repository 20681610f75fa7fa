# smbkrb. `make demo` and `make test` install what is missing first
# (.ci/install-deps; root on Debian 12).
GO      ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build deps demo test unit vet fuzz bench clean lib

all: build

deps:
	bash .ci/install-deps

build:
	$(GO) build ./...

# staticcheck runs from the module proxy at a fixed version (go run
# caches the build), so go.mod carries no tool dependency for library users.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags crosstest ./toolchains/crosstest/
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags crosstest ./toolchains/crosstest/

# The demo: a real MIT KDC and smbkrb's KDC proxy on loopback.
demo: deps
	$(GO) run ./internal/demo

# The fuzz targets, as package:Target: every decoder of what the network
# sends (MS-KKDCP, Entra's JSON, JWEs and JWSs, the AS-REP wrapping, the
# SMB OAuth exchange, SMB2 responses, SMB3 transform and signatures,
# SPNEGO, the fault proxy's framing).
FUZZ_TARGETS := ./kkdcp/:FuzzUnmarshal \
	./entra/:FuzzDecodeTGT ./entra/:FuzzTokenReply ./smboauth/:FuzzExchange \
	./internal/kerbmsg/:FuzzParseASRep ./internal/kerbmsg/:FuzzParseEncASRepPart \
	./internal/kerbmsg/:FuzzParsePrincipal ./internal/kerbmsg/:FuzzErrorText \
	./entra/internal/msjose/:FuzzDecryptJWE ./entra/internal/msjose/:FuzzDecryptSessionKeyJWE \
	./entra/internal/msjose/:FuzzVerifyHS256 ./entra/internal/msjose/:FuzzVerifyRS256 \
	./entra/internal/msjose/:FuzzParseRSAPublicBlob \
	./smb/internal/wire/:FuzzParseNegotiateResponse ./smb/internal/wire/:FuzzParseSessionSetupResponse ./smb/internal/wire/:FuzzParseTreeConnectResponse \
	./smb/internal/wire/:FuzzParseIoctlResponse ./smb/internal/wire/:FuzzParseErrorResponse ./smb/internal/wire/:FuzzParseOplockBreak \
	./smb/internal/wire/:FuzzParseCreateResponse ./smb/internal/wire/:FuzzParseReadResponse ./smb/internal/wire/:FuzzParseWriteResponse \
	./smb/internal/wire/:FuzzParseCloseResponse ./smb/internal/wire/:FuzzParseQueryDirectoryResponse ./smb/internal/wire/:FuzzParseDirEntries \
	./smb/internal/wire/:FuzzParseQueryInfoResponse ./smb/internal/wire/:FuzzParseFileInfo ./smb/internal/wire/:FuzzSplitCompound \
	./smb/internal/smb3crypto/:FuzzOpen ./smb/internal/smb3crypto/:FuzzParseTransformHeader ./smb/internal/smb3crypto/:FuzzVerify \
	./smb/internal/spnego/:FuzzParseResp ./smb/internal/spnego/:FuzzParseInitHint \
	./internal/lab/tamper/:FuzzReadFrame ./internal/lab/tamper/:FuzzHeaders
FUZZTIME ?= 10s

# Every test against real servers, with the race detector; then a short
# run of each fuzz target and one pass of each benchmark (so they keep
# working).
test: deps vet unit
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# The fast tier: pure functions, parsers and fuzz seeds; no servers, no
# root, seconds.
unit:
	$(GO) test -short -count=1 ./...

# make fuzz FUZZTIME=5m for a longer run.
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) ./ci/fuzz.sh $(FUZZ_TARGETS)

# The figures quoted in README.md.
bench: deps
	$(GO) test -run '^$$' -bench 'Login|TGS' -benchtime 200x ./krb5/
	$(GO) test -run '^$$' -bench GSSContexts -benchtime 10000x ./krb5/
	SMBKRB_BENCH_MIB=256 $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./bench/

clean:
	$(GO) clean -testcache

# The C library for this machine (libsmbkrb/, README.md's "C library"):
# build/lib/libsmbkrb.a and libsmbkrb.so against Debian's MIT libraries,
# and the header. The cross builds (make cross) put a static archive with
# MIT inside into build/cross/TARGET.
lib:
	mkdir -p build/lib
	cd libsmbkrb && $(GO) build -trimpath -buildmode=c-archive -o ../build/lib/libsmbkrb.a .
	cd libsmbkrb && $(GO) build -trimpath -buildmode=c-shared -ldflags=-extldflags=-Wl,-soname,libsmbkrb.so -o ../build/lib/libsmbkrb.so .
	rm -f build/lib/libsmbkrb.h
	cp libsmbkrb/include/smbkrb.h build/lib/smbkrb.h

# Cross builds (toolchains/, issue 6): `make cross TARGET=linux-arm64` puts
# that target's binaries in build/cross/TARGET (linux-arm64: dynamic and
# static, linux-armv7: dynamic, linux-amd64: static; each also the C
# library with MIT inside and the C test program); cross-all builds all
# three. Sysroots and the static MIT build are cached in .cache/cross.
TARGET        ?= linux-arm64
CROSS_TARGETS := linux-arm64 linux-armv7 linux-amd64

.PHONY: cross cross-all cross-test cross-clean docker-image

cross:
	bash toolchains/$(TARGET)/build.sh

cross-all:
	for t in $(CROSS_TARGETS); do bash toolchains/$$t/build.sh || exit 1; done

# The cross-built binaries against the lab (root): the ARM ones under
# qemu-user (binfmt), the static ones in an empty chroot. They build only
# with -tags crosstest (a plain go test ./... has none) and fail without
# SMBKRB_CROSS_DIR or a binary.
cross-test: deps cross-all
	bash toolchains/binfmt.sh
	SMBKRB_CROSS_DIR=$(CURDIR)/build/cross $(GO) test -tags crosstest -count=1 -v -timeout 30m ./toolchains/crosstest/

cross-clean:
	rm -rf build/cross .cache/cross

# The CI image (ci/docker/Dockerfile), built with podman from a
# debootstrap'ed Debian 12 base; see ci/docker/README.md.
docker-image:
	bash .ci/install-deps --container
	bash ci/docker/build.sh
