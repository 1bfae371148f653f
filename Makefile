# Two commands on a fresh Debian machine: `make demo` and `make test`.
# Both install what they need: Debian packages (apt-get, as root) and a
# Python virtual environment in .venv with this project installed editable.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEB := $(VENV)/.deb-stamp
STAMP_PY := $(VENV)/.py-stamp

# Debian packages the toolkit and its tests drive for real.
DEB_PACKAGES := build-essential gcc binutils make clang llvm lld libclang-rt-14-dev \
	libseccomp-dev seccomp bubblewrap diffoscope-minimal disorderfs faketime time \
	util-linux locales-all iproute2 iputils-ping dnsmasq-base curl dnsutils \
	qemu-system-x86 socat procps python3-venv iptables nsd dnsperf openssl nginx \
	redis-server wrk

.PHONY: all deps venv test test-fast demo lint fuzz bench clean

all: venv

deps: $(STAMP_DEB)
$(STAMP_DEB):
	@mkdir -p $(VENV)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "error: run as root to install: $$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

venv: $(STAMP_PY)
$(STAMP_PY): pyproject.toml | $(STAMP_DEB)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

test: deps venv
	$(BIN)/pytest tests

# The pure and unit tests on every core (about a minute of CPU in all): no image builds, boots,
# fuzzers, servers or subprocesses; tests/conftest.py holds the rule and fails a test that breaks it.
test-fast: deps venv
	$(BIN)/pytest tests -m "not slow" -q -n auto

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

demo: deps venv
	$(BIN)/repo-tool demo --workdir demo-work --fresh

# Benchmarks (not tests): each writes bench/results/<area>.md; collect joins them.
bench: deps venv
	$(BIN)/python -m bench.boot --runs 100 --output bench/results/boot.md
	$(BIN)/python -m bench.repo_publish --packages 1000 10000 --publishes 10 > bench/results/repository.json
	$(BIN)/python -m bench.client --sizes 1000 10000 --repeat 5 --write
	$(BIN)/python -m bench.transfer --sizes 1000 10000 --repeat 5 --write
	$(BIN)/python -m bench.tree_client --packages 10000 100000 --repeat 3 --write
	$(BIN)/python -m bench.startup --runs 30 --output bench/results/startup.md
	$(BIN)/python -m bench.build --package hello --target hvt --repeat 9 --write
	$(BIN)/python -m bench.net_throughput --output bench/results/net.md
	$(BIN)/python -m bench.farm --rounds 5 --output bench/results/farm.md
	$(BIN)/python -m bench.rebuild --target hvt --repeat 3 --write
	$(BIN)/python -m bench.dns --output bench/results/dns.md
	$(BIN)/python -m bench.www --output bench/results/www.md
	$(BIN)/python -m bench.collect

clean:
	rm -rf $(VENV) build demo-work
