# chatd: build, run, test and install. `make test` is what CI runs (.ci/run).

CARGO ?= cargo
# Tools the tests use; installed from Debian's packages when missing (CI runs as root).
TOOLS := systemd-analyze:systemd mandoc:mandoc groff:groff man:man-db tmux:tmux \
	chromium:chromium chromedriver:chromium-driver ss:iproute2 pg_ctlcluster:postgresql \
	weechat-headless:weechat-headless irssi:irssi ngircd:ngircd

# Installation layout (FHS); `make install DESTDIR=/tmp/pkg PREFIX=/usr`.
DESTDIR ?=
PREFIX ?= /usr
SYSCONFDIR ?= /etc
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
UNITDIR := $(PREFIX)/lib/systemd/system
SYSUSERSDIR := $(PREFIX)/lib/sysusers.d
# Cargo profile of the installed binaries (`dev` for a quick local install).
PROFILE ?= release
BUILT := target/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

.PHONY: run test lint deps build install install-files fuzz

# Run the daemon on its embedded defaults (client port 127.0.0.1:9999).
run:
	$(CARGO) run --release --bin chatd

# Everything CI checks: formatting, lints, unit and integration tests. CI=true makes a missing or
# changed rendering snapshot (src/client/snapshots) fail instead of being written.
test: deps lint
	CI=true $(CARGO) test --all-targets

# A longer campaign of the decoder properties that `make test` runs briefly: the line parser,
# the frame decoder and the control-socket request parser, on arbitrary and mutated input.
FUZZ_CASES ?= 100000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --lib -- fuzz never_panic

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	# The module map in src/lib.rs and every doc link must resolve.
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --lib

# Installs what the tests need; the tests fail (never skip) without it.
deps:
	@missing=""; for pair in $(TOOLS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && apt-get install -y -q $$missing; \
	fi
	@command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --version 3.8.0 --locked

build:
	$(CARGO) build --profile $(PROFILE) --bins

# Binaries, unit, sysusers entry, configuration (kept if present), man pages, completions, the
# example client configuration.
install: build install-files

# The copying part of `install`, from binaries already built in $(BUILT).
install-files:
	install -Dm755 $(BUILT)/chatd $(DESTDIR)$(BINDIR)/chatd
	install -Dm755 $(BUILT)/chatctl $(DESTDIR)$(BINDIR)/chatctl
	install -Dm755 $(BUILT)/chatd-bench $(DESTDIR)$(BINDIR)/chatd-bench
	install -Dm755 $(BUILT)/chat-client $(DESTDIR)$(BINDIR)/chat-client
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/|$(BINDIR)/|g; s|/etc/chatd.toml|$(SYSCONFDIR)/chatd.toml|g' systemd/chatd.service \
		> $(DESTDIR)$(UNITDIR)/chatd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/chatd.service
	install -Dm644 systemd/chatd.sysusers $(DESTDIR)$(SYSUSERSDIR)/chatd.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/chatd.toml ]; then \
		echo "keeping the existing $(DESTDIR)$(SYSCONFDIR)/chatd.toml"; \
	else \
		install -Dm644 etc/chatd.toml $(DESTDIR)$(SYSCONFDIR)/chatd.toml; \
	fi
	install -Dm644 man/chatd.8 $(DESTDIR)$(MANDIR)/man8/chatd.8
	install -Dm644 man/chatctl.1 $(DESTDIR)$(MANDIR)/man1/chatctl.1
	install -Dm644 man/chatd.toml.5 $(DESTDIR)$(MANDIR)/man5/chatd.toml.5
	install -Dm644 man/chat-client.1 $(DESTDIR)$(MANDIR)/man1/chat-client.1
	install -Dm644 etc/client.toml $(DESTDIR)$(PREFIX)/share/doc/chatd/examples/client.toml
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BUILT)/chatctl completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/chatctl
	$(BUILT)/chatctl completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_chatctl
	$(BUILT)/chatctl completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/chatctl.fish
