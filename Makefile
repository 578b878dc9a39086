# One job per target. Everything runs as root on Debian 12 (the monitor loads BPF programs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := clang llvm bpftool libbpf-dev libbpf1 logrotate openssl maven systemd
STAMP := build/.stamp

.PHONY: setup deps venv bpf run test test-unit lint bench clean

setup: deps venv bpf

# Debian packages: compiler and bpftool for the BPF build, logrotate and openssl for the tests.
deps: build/.deps
build/.deps:
	@mkdir -p build
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
	@touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==24.3.1
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

bpf: deps
	$(MAKE) -C bpf

run: setup
	$(VENV)/bin/ebpf-monitor

test: setup
	$(PY) scripts/elasticsearch.py fetch
	$(PY) -m pytest

test-unit: venv
	$(PY) -m pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/run.py

clean:
	$(MAKE) -C bpf clean
	rm -rf build
