# Two commands for a newcomer: `make demo` (the main job on the embedded sample) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.eogapfill-installed

.PHONY: demo test test-fast book lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# CPU build of torch first, so that foscat does not pull a CUDA build
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[all]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m eogapfill demo --out outputs
	$(VENV)/bin/jupyter-book build . --keep-going
	@echo "Figures: outputs/   Book: _build/html/index.html"

test: lint
	$(PY) -m pytest

# the inner loop: the suite without the long computations (foscat syntheses, the book)
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# ruff (checks and format), notebooks stored without outputs, a valid pyproject.toml
lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks book/_ext
	$(PY) -m ruff format --check src tests benchmarks book/_ext
	$(VENV)/bin/nbstripout --keep-id --verify book/*.ipynb
	$(VENV)/bin/validate-pyproject pyproject.toml

clean:
	rm -rf _build outputs .pytest_cache
