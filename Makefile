# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv with pinned packages on first use (offline-safe: PyPI only).
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
OUT ?= demo.mp4

$(STAMP): pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

.PHONY: setup demo test bench
setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/studio-cli demo -o $(OUT)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q tests

bench: $(STAMP)
	$(VENV)/bin/python -m bench.engine_bench
	$(VENV)/bin/python -m bench.export_bench
	$(VENV)/bin/python -m bench.pose_bench
