# One job per target. Everything runs as root on Debian 12 (the monitor loads BPF programs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := clang llvm bpftool libbpf-dev libbpf1 logrotate openssl maven systemd \
	liburing-dev \
	systemd-container mmdebstrap chromium graphviz gcc python3-dev
STAMP := build/.stamp

.PHONY: setup deps venv bpf abi abi-check js run test test-unit lint bench clean

setup: deps venv bpf js

# Debian packages: compiler and bpftool for the BPF build, logrotate and openssl for the tests,
# systemd-nspawn and mmdebstrap for the container tier, chromium and graphviz to check the
# provenance HTML page and DOT output; gcc and python3-dev build the reader's compiled core
# (src/ebpf_monitor/_fastcore.c). npm comes with Debian's nodejs, or with an already
# installed nodejs that bundles it (checked by command, not package).
deps: build/.deps
build/.deps: Makefile
	@mkdir -p build
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
	@touch $@

# The graph library of the provenance HTML page: the npm package pinned in package-lock.json,
# copied into the Python package (build output, gitignored) so wheels and the .deb carry it.
JS_VENDOR := src/ebpf_monitor/provenance/render/_vendor
js: $(JS_VENDOR)/cytoscape.min.js
node_modules/.package-lock.json: package.json package-lock.json | build/.deps
	npm ci --no-audit --no-fund --ignore-scripts
$(JS_VENDOR)/cytoscape.min.js: node_modules/.package-lock.json
	install -D -m 0644 node_modules/cytoscape/LICENSE $(JS_VENDOR)/cytoscape.LICENSE
	install -D -m 0644 node_modules/cytoscape/dist/cytoscape.min.js $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py src/ebpf_monitor/_fastcore.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==24.3.1
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

bpf: deps
	$(MAKE) -C bpf

# After a change to bpf/events.h, every file made from its layouts: abi.json and abi_asserts.h
# from the BTF of abi.bpf.c built without those asserts, records.py and abi_consts.py from
# abi.json, docs/schema.md's field table from the registry; then the build the new asserts
# check, and abi.json against the linked object. abi-check only says whether all are current.
abi: deps venv
	$(MAKE) -C bpf abi-layout
	$(PY) scripts/abi_fixture.py --object build/bpf/abi_layout.bpf.o
	$(PY) scripts/gen_records.py
	$(PY) scripts/schema_doc.py
	$(MAKE) -C bpf
	$(PY) scripts/abi_fixture.py --check

abi-check: venv bpf
	$(PY) scripts/abi_fixture.py --check
	$(PY) scripts/gen_records.py --check
	$(PY) scripts/schema_doc.py --check

run: setup
	$(VENV)/bin/ebpf-monitor

test: setup
	$(PY) scripts/elasticsearch.py fetch
	$(PY) -m pytest

test-unit: venv js
	$(PY) -m pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

# The peers the overhead table compares against (auditd, bpftrace): only the benchmark needs them.
BENCH_APT_PACKAGES := auditd bpftrace
bench: setup
	@missing=$$(for p in $(BENCH_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
	$(PY) benchmarks/run.py

clean:
	$(MAKE) -C bpf clean
	rm -rf build node_modules $(JS_VENDOR)

# --- service: install, uninstall, deb ---
# `make install` puts the monitor into its own venv under $(PREFIX) (built with the system
# Python, not a developer's), links $(BINDIR)/ebpf-monitor to it, and installs the unit, the
# logrotate file and, only if absent, the config. DESTDIR stages all of it elsewhere: the venv is
# then fixed up to its final path (see docs/service.md). Needs `make bpf` first.
PREFIX ?= /opt/ebpf-monitor
SERVICE_PYTHON ?= /usr/bin/python3
BINDIR ?= /usr/local/bin
UNITDIR ?= /etc/systemd/system
LOGROTATEDIR ?= /etc/logrotate.d
CONFIG_FILE ?= /var/config.json
EVENTS_DIR ?= /var/log/ebpf-monitor
STATE_DIR ?= /var/lib/ebpf-monitor
BPF_OBJ := src/ebpf_monitor/bpf/monitor.bpf.o
SVC_VENV := $(DESTDIR)$(PREFIX)/venv
# Talk to systemd only for a real install on a host it runs.
SYSTEMD_LIVE = [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]

.PHONY: wheel install uninstall deb

# Our wheel, with the BPF object and the page's JavaScript inside as package data.
wheel: venv js
	@test -f $(BPF_OBJ) || { echo "$(BPF_OBJ) missing: run make bpf first" >&2; exit 1; }
	rm -rf build/dist
	$(PY) -m pip wheel -q --no-deps -w build/dist .

install: wheel
	@# No pip inside: nothing in the service venv that is not the monitor. Our pip installs into it.
	$(SERVICE_PYTHON) -m venv --without-pip $(SVC_VENV)
	$(PY) -m pip --python $(SVC_VENV)/bin/python install -q --no-compile build/dist/*.whl
	@# Same version number as what is installed: pip would skip it without --force-reinstall.
	$(PY) -m pip --python $(SVC_VENV)/bin/python install -q --no-compile --no-deps --force-reinstall \
		build/dist/*.whl
	@# Paths baked in by venv and pip name the staging dir: point them at the final one.
	@if [ -n "$(DESTDIR)" ]; then \
		grep -rlF "$(SVC_VENV)" $(SVC_VENV)/bin $(SVC_VENV)/pyvenv.cfg | \
			xargs -r sed -i "s|$(SVC_VENV)|$(PREFIX)/venv|g"; \
	fi
	@# Bytecode now, with final paths: the service's /opt is read-only at run time.
	$(SVC_VENV)/bin/python -m compileall -q $(if $(DESTDIR),-s $(DESTDIR) -p /) $(SVC_VENV)/lib
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LOGROTATEDIR)
	ln -sfn $(PREFIX)/venv/bin/ebpf-monitor $(DESTDIR)$(BINDIR)/ebpf-monitor
	sed -e 's|^ExecStart=/usr/local/bin/ebpf-monitor --config /var/config.json|ExecStart=$(BINDIR)/ebpf-monitor --config $(CONFIG_FILE)|' \
		packaging/ebpf-monitor.service > $(DESTDIR)$(UNITDIR)/ebpf-monitor.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/ebpf-monitor.service.tmp
	mv $(DESTDIR)$(UNITDIR)/ebpf-monitor.service.tmp $(DESTDIR)$(UNITDIR)/ebpf-monitor.service
	install -m 0644 packaging/logrotate/ebpf-provenance $(DESTDIR)$(LOGROTATEDIR)/ebpf-provenance
	install -d -m 0750 $(DESTDIR)$(EVENTS_DIR) $(DESTDIR)$(STATE_DIR)
	@# Never overwrite the admin's config; root-only, as the monitor demands.
	@if [ -e $(DESTDIR)$(CONFIG_FILE) ]; then \
		echo "keeping existing $(DESTDIR)$(CONFIG_FILE)"; \
	else \
		install -D -m 0600 packaging/config.example.json $(DESTDIR)$(CONFIG_FILE); \
	fi
	@if $(SYSTEMD_LIVE); then systemctl daemon-reload; fi
	@echo "installed; start with: systemctl enable --now ebpf-monitor.service"

uninstall:
	@if $(SYSTEMD_LIVE); then systemctl disable --now ebpf-monitor.service || true; fi
	rm -f $(DESTDIR)$(BINDIR)/ebpf-monitor $(DESTDIR)$(UNITDIR)/ebpf-monitor.service \
		$(DESTDIR)$(LOGROTATEDIR)/ebpf-provenance
	rm -rf $(SVC_VENV)
	@# $(PREFIX) itself only if we emptied it; config and event data stay.
	@if [ -d $(DESTDIR)$(PREFIX) ]; then rmdir --ignore-fail-on-non-empty $(DESTDIR)$(PREFIX); fi
	@if $(SYSTEMD_LIVE); then systemctl daemon-reload; fi

# A .deb in build/deb: wheels for an offline venv, built by postinst (packaging/deb/build.sh).
deb: wheel
	@# Beside the compiled wheel (this python3's CPython only), a pure one for other versions.
	rm -rf build/dist-pure
	EBPF_MONITOR_PURE=1 $(PY) -m pip wheel -q --no-deps -w build/dist-pure .
	packaging/deb/build.sh build/dist build/deb build/dist-pure
