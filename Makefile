# The two commands of the README. Both install what they need on a fresh machine.
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: test dev install lint bench help ui ui-test browser e2e

# The web client (ui/): npm ci when the lock file changes, ng build when a source changes.
export NG_CLI_ANALYTICS := false
UI_DEPS := ui/node_modules/.ci-stamp
UI_BUILD := ui/dist/ui/browser/index.html
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/angular.json ui/tsconfig.json ui/tsconfig.app.json
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

help:
	@echo "make test   install everything and run every check and test"
	@echo "make dev    the local stage on http://127.0.0.1:8000 (PORT=... to change, CHAOS=hostile)"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make ui     build the web client into ui/dist (only when its sources changed)"

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy .

test: lint
	$(UV) run pytest -n 2 --dist loadscope --ignore=tests/browser
	$(MAKE) --no-print-directory ui-test
	$(MAKE) --no-print-directory e2e

$(UI_DEPS): ui/package.json ui/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "the web client needs Node.js 20 and npm"; exit 1; }
	cd ui && npm ci --no-audit --no-fund
	@touch $@

$(UI_BUILD): $(UI_DEPS) $(UI_SOURCES)
	cd ui && npx ng build

ui: $(UI_BUILD)

ui-test: $(UI_DEPS)
	cd ui && npx ng test --watch=false

# Debian's Chromium for the browser test (a browser download does not work on these machines).
browser:
	@command -v chromium >/dev/null 2>&1 || $(SUDO) apt-get install -y chromium || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y chromium; }

e2e: install ui browser
	BROWSER_E2E=1 $(UV) run pytest tests/browser

bench: install
	$(UV) run python -m bench.replay
	$(UV) run python -m bench.append
	$(UV) run python -m bench.fanout
	$(UV) run python -m bench.e2e_latency
	$(UV) run python -m bench.cold_start
	$(UV) run python -m bench.soak

# CHAOS=hostile: the stage plays AWS's failure modes (local/chaos.py)
dev: install ui
	CHAT_CHAOS=$(CHAOS) $(UV) run python -m local.stage --port $${PORT:-8000}
