# The two commands: `make run` and `make test`. Each sets up .venv on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
UI_SOURCES = app/ui/*.py app/engine_link.py app/desktop.py

.PHONY: run test setup setup-dev system-deps lint typecheck boundaries bench clean translations screenshots package package-test docs

run: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then scripts/system_deps.sh desktop || true; fi
	$(VENV)/bin/hearth

setup:
	scripts/setup.sh run

setup-dev:
	scripts/setup.sh dev

lint: setup-dev
	$(VENV)/bin/ruff check app engine tests benchmarks scripts packaging
	$(VENV)/bin/ruff format --check app engine tests benchmarks scripts packaging

typecheck: setup-dev
	$(VENV)/bin/mypy

boundaries: setup-dev
	$(VENV)/bin/lint-imports

system-deps:
	scripts/system_deps.sh test

# PNGs of the main screens for the README, rendered under Xvfb.
screenshots: setup-dev
	scripts/system_deps.sh screenshots
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) scripts/screenshots.py docs/screenshots

test: setup-dev system-deps lint typecheck boundaries
	$(PY) -m pytest

# After changing UI text: refresh the .ts files (then translate what lupdate marks unfinished).
translations: setup-dev
	$(VENV)/bin/pyside6-lupdate -no-obsolete $(UI_SOURCES) -ts app/ui/i18n/hearth_zh_CN.ts
	$(VENV)/bin/pyside6-lrelease app/ui/i18n/hearth_zh_CN.ts -qm app/ui/i18n/hearth_zh_CN.qm

bench: setup-dev
	$(PY) benchmarks/run_all.py

# One folder, dist/hearth/: the desktop app and the engine with their libraries and models.
package:
	packaging/build.sh

# The built folder on its own: the engine answers /health and a chat; the app starts and quits.
package-test: package
	$(PY) packaging/smoke_test.py

# The API reference, from the engine's OpenAPI schema.
docs: setup-dev
	$(PY) scripts/api_docs.py docs/api.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
