# chatd: build, run and test. `make test` is what CI runs (.ci/run).

CARGO ?= cargo
# Tools the tests use; installed from Debian's packages when missing (CI runs as root).
TOOLS := systemd-analyze:systemd mandoc:mandoc groff:groff man:man-db

.PHONY: run test lint deps

# Run the daemon on its embedded defaults (client port 127.0.0.1:9999).
run:
	$(CARGO) run --release --bin chatd

# Everything CI checks: formatting, lints, unit and integration tests.
test: deps lint
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# Installs what the tests need; the tests fail (never skip) without it.
deps:
	@missing=""; for pair in $(TOOLS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && apt-get install -y -q $$missing; \
	fi
