# Daisy's entry points. Every target installs missing Debian packages first
# (scripts/install-deps.sh is idempotent and quick when nothing is missing).
.PHONY: deps build run test test-release bench clean

JOBS ?= $(shell nproc)

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# Starts Daisy on 127.0.0.1:8080 with SQLite under ./daisy-data; the admin
# token is printed on first start.
run: build
	./build/release/daisy serve

# Unit and end-to-end tests on the ASan+UBSan build (warnings are errors).
test: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan

# The same suites on the optimised build.
test-release: build
	@ctest --preset release

bench: build
	@bench/run.sh

clean:
	rm -rf build
