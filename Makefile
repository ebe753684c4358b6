# Daisy's entry points. Every target installs missing Debian packages first
# (scripts/install-deps.sh is idempotent and quick when nothing is missing).
.PHONY: deps build run deb test test-release test-tsan bench bench-ab bench-backup bench-retention bench-grpc bench-ingest soak fuzz fuzz-smoke fuzz-build format clean

JOBS ?= $(shell nproc)

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# Starts Daisy on 127.0.0.1:8080 with SQLite under ./daisy-data; the admin
# token is printed on first start.
# Builds only the server (not the test suites).
run: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target daisy
	./build/release/daisy serve

# The Debian package of the server: build/deb/daisy_<version>_<arch>.deb
# (/usr/bin/daisy, the systemd unit daisy.service, /etc/default/daisy; files
# in deploy/, layout in scripts/build-deb.sh). Install it with
# apt install ./build/deb/daisy_*.deb; tests/deb_test.sh checks it.
deb: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target daisy
	@rm -f build/deb/daisy_*.deb
	@scripts/build-deb.sh build/release/daisy build/deb

# The fuzz targets for a few seconds each (fuzz-smoke, below), then the unit
# and end-to-end tests on the ASan+UBSan build (warnings are errors), and the
# few that need the optimised server (e2e.release.*), which is built too
# (only the daisy binary); clang-tidy's checks (.clang-tidy) over src/ before
# the suites. Ends with the list of skipped tests and their reasons.
test: deps fuzz-smoke
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@tests/tidy.sh build/asan $(JOBS)
	@tests/openapi_lint.sh
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target daisy
	@status=0; ctest --preset asan || status=$$?; tests/print_skip_reasons.py build/asan; exit $$status

# The same suites on the optimised build.
test-release: build
	@status=0; ctest --preset release || status=$$?; tests/print_skip_reasons.py build/release; exit $$status

# The unit tests and the end-to-end suite on SQLite under ThreadSanitizer
# (build/tsan); races are errors (suppressions, each with its reason:
# tests/tsan.supp).
test-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@status=0; ctest --preset tsan || status=$$?; tests/print_skip_reasons.py build/tsan; exit $$status

bench: build
	@bench/run.sh

# This tree's release build against BASE's (make bench-ab BASE=<commit>), side
# by side in one run, rounds alternating; writes its section of docs/benchmarks.md.
bench-ab: build
	@bench/ab.sh

# daisy backup of a 10 GiB database (BACKUP_GB to change it), idle and under
# load, and a restore; writes its section of docs/benchmarks.md.
bench-backup: build
	@bench/backup.sh

# Single events and submissions while a retention pass deletes 10 million
# expired events (RETENTION_EVENTS to change it), against the same with
# retention off; writes its section of docs/benchmarks.md.
bench-retention: build
	@bench/retention.sh

# The gRPC interface against the HTTP API in the same run (bench/grpc.sh).
bench-grpc: build
	@bench/grpc.sh

# Single events, form submissions and 60 s of batches against nginx with its
# access log off, with perf's top entries (bench/ingest.sh, issue 25).
bench-ingest: build
	@bench/ingest.sh

# An hour of mixed load (SOAK_SECONDS to change it) on the release build;
# writes the soak section of docs/benchmarks.md, fails on any error.
soak: build
	@bench/soak.sh

# libFuzzer targets (tests/fuzz, docs/fuzzing.md): clang with ASan + UBSan in
# build/fuzz, a project of its own (preset in tests/fuzz/CMakePresets.json).
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(JOBS)

fuzz-build: deps
	@cmake -S tests/fuzz --preset fuzz >/dev/null
	@cmake --build build/fuzz -j $(FUZZ_JOBS)

# Each target FUZZ_SECONDS on a copy of its corpus in build/fuzz/work/<name>;
# prints a summary, fails if any target crashed (reproducers in build/fuzz/artifacts).
fuzz: fuzz-build
	@tests/fuzz/run.sh fuzz build/fuzz $(FUZZ_SECONDS)

# Each target a few seconds on its seed corpus, as ctest tests.
fuzz-smoke: fuzz-build
	@ctest --test-dir build/fuzz --output-on-failure

# Lays out every C++ file by .clang-format (clang-format-14, from Debian).
format: deps
	@git ls-files '*.cpp' '*.h' | xargs clang-format-14 -i

clean:
	rm -rf build
