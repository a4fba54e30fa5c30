# Two commands for a fresh machine with Python 3.11+ (see README):
#   make demo   – console, worker, beat and a demo district on the embedded PostgreSQL/Redis
#   make test   – the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The demo is development mode on purpose: DEBUG on, loopback upstreams allowed (the sandbox).
demo: $(STAMP)
	DEBUG=true SANDBOX_ENABLED=true ALLOW_PRIVATE_UPSTREAMS=true ALLOW_HTTP_UPSTREAMS=true \
		$(BIN)/python manage.py demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=integration.settings.test
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python manage.py benchmark --json .local/benchmark.json

clean:
	rm -rf $(VENV) .local
