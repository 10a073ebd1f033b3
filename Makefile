# chatd: build, run and test. `make test` is what CI runs (.ci/run).

CARGO ?= cargo

.PHONY: run test lint

# Run the daemon on its embedded defaults (client port 127.0.0.1:9999).
run:
	$(CARGO) run --release --bin chatd

# Everything CI checks: formatting, lints, unit and integration tests.
test: lint
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
