# The two commands a new user needs: `make serve` and `make test`.
# Everything else the project needs on a fresh Debian machine is installed from here.

SHELL := /bin/bash
CARGO ?= cargo
# Debian packages needed to build (sequoia's nettle backend runs bindgen) and to test (gpg cross-checks,
# rsync and ssh clients for uploads over SSH, svn/svnserve for SVN import, wrk for page benchmarks).
DEB_PACKAGES := nettle-dev libclang-dev pkg-config libssl-dev gnupg rsync openssh-client subversion wrk curl chromium chromium-driver
FUZZ_SECONDS ?= 30

.PHONY: all serve test bench fuzz deps corpus fmt lint unit clean-state

all: test

## Install the Debian packages the build and the tests need, when missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## Build and start the server with its development defaults (state under ./state). Stop with Ctrl-C.
serve: deps
	$(CARGO) build -p atr-web -p atr-worker
	./target/debug/atr-web serve

## Every test: formatting, lints, unit, integration, doc tests and examples.
test: deps corpus fmt lint unit

## Real Apache releases with their real signatures and KEYS (through Debian's source packages), for the
## corpus tests. Tests that need it say clearly that they were skipped when it could not be fetched.
CORPUS_DIR := target/dev-corpus
corpus:
	@if [ -f ../shared/corpus/fetch-dev-corpus.sh ]; then \
	  bash ../shared/corpus/fetch-dev-corpus.sh $(CORPUS_DIR) >/dev/null 2>&1 \
	    || echo "warning: the dev corpus could not be fetched; corpus tests will say they were skipped"; \
	else echo "warning: ../shared/corpus is missing; corpus tests will say they were skipped"; fi

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Plain `cargo test` builds the examples as programs (a test runs them) and runs the doc tests;
# benchmarks are not built here (`make bench`).
unit:
	$(CARGO) test --workspace --no-fail-fast

## Benchmarks (release build); each prints its own figures.
bench: deps
	$(CARGO) bench --workspace

## Run every fuzz target for FUZZ_SECONDS seconds each (cargo-fuzz on stable via RUSTC_BOOTSTRAP).
fuzz: deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $$(RUSTC_BOOTSTRAP=1 cargo fuzz list); do \
	  mkdir -p corpus/$$t; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## Remove the development state directory.
clean-state:
	rm -rf ./state
