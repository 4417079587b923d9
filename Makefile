# Two commands on a fresh machine: `make demo` (installs everything, runs the end-to-end demo)
# and `make test` (installs everything, runs every test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install system-deps demo test lint bench clean

system-deps:
	@scripts/install-system-deps.sh

# constraints.txt pins every package (and pip itself), so a fresh machine installs what the tests passed with.
$(BIN)/cicd: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: system-deps $(BIN)/cicd

demo: install
	@PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo.sh

# Parallel workers: the suites mostly wait on real services (nginx, HAProxy, sshd, podman, act), so 3
# workers on 2 cores finish far sooner. The e2e tests share the repository's ports and run in one worker.
TEST_WORKERS ?= 3
test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: install
	$(BIN)/ruff check scripts tests bench examples
	$(BIN)/mypy

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .cicd .pytest_cache .mypy_cache .ruff_cache
