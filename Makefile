# bartleby — see README.md. `make run` starts the quickstart, `make test`
# runs the whole suite (installing the Debian packages it needs as root).

GO       ?= go
BIN      := bin/bartleby
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X bartleby/internal/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build run test deps tools lint bench fuzz clean deb

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/bartleby

run: build
	./scripts/run-quickstart $(BIN)

# The end-to-end tests run the binary built here (BARTLEBY_BIN). tools
# builds nfpm first, outside go test's timeout.
test: deps tools build
	$(GO) vet ./...
	BARTLEBY_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 18m ./...

deps:
	./scripts/test-deps

# nfpm for the Debian package (make deb, the install test), pinned and
# built once.
tools:
	./scripts/make-deb --install-nfpm

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: build
	./scripts/test-deps bench
	BARTLEBY_BIN=$(CURDIR)/$(BIN) ./bench/run

# Each fuzz target for 20s; FUZZTIME=5m for a longer run.
fuzz:
	./scripts/fuzz $${FUZZTIME:-20s}

# The Debian package (bin/bartleby_VERSION_ARCH.deb), built with nfpm.
deb: tools
	./scripts/make-deb bin

clean:
	rm -rf bin examples/var
