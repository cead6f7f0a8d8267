# The two commands of the README. Both install what they need on a fresh machine.
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: test dev install lint bench help

help:
	@echo "make test   install everything and run every check and test"
	@echo "make dev    the local stage on http://127.0.0.1:8000 (PORT=... to change)"
	@echo "make bench  run the benchmarks in bench/"

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy .

test: lint
	$(UV) run pytest

bench: install
	$(UV) run python -m bench.replay
	$(UV) run python -m bench.append
	$(UV) run python -m bench.fanout
	$(UV) run python -m bench.e2e_latency
	$(UV) run python -m bench.cold_start

dev: install
	$(UV) run python -m local.stage --port $${PORT:-8000}
