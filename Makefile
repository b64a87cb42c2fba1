# `make demo` and `make test` each set up everything they need on a fresh machine.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint clean

$(STAMP): pyproject.toml constraints.txt
	scripts/ensure-debs
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/assess demo

# The tests train the classifier on a few hundred labelled filings many times over: one OpenMP thread does that
# faster than two (two threads spin-wait on so little work, and much longer when other work shares the cores).
# Two workers share out the test files (a file's tests stay together, so a file's fixtures are built once).
test: lint
	OMP_NUM_THREADS=1 ASSESS_TEST_ARTEFACTS=build/test-artefacts $(BIN)/pytest -q -n 2 --dist loadfile

# Style, formatting, types and the layers of docs/architecture.md (no import from a lower layer to a higher one).
lint: $(STAMP)
	$(BIN)/ruff check assess tests bench scripts
	$(BIN)/ruff format --check assess tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) demo
