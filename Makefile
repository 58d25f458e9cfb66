# Two commands for a fresh machine with python3 and make:
#   make book   build the HTML book into _build/html
#   make test   lint, unit tests, notebooks (nbval), book build, browser test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test lint unit notebooks browser clean

# Rebuild the environment whenever the pins change.
$(STAMP): pyproject.toml requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c requirements-lock.txt -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build --warningiserror --keep-going .
	@echo "Book built: open _build/html/index.html in a browser."

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)
	$(BIN)/python -m pytest --doctest-modules tests mixedtools --ignore=tests/browser

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider book

browser: book
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser

test: lint unit notebooks browser

clean:
	rm -rf _build $(VENV)
