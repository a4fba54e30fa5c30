# Two commands for a fresh machine with Python 3.11+ (see README):
#   make demo       – console, worker, beat and a demo district on the embedded PostgreSQL/Redis
#   make test       – the whole test suite (make test-fast: without the slow tests)
#   make stop       – stop the embedded PostgreSQL/Redis that tests or commands left running
#   make audit      – check the installed dependencies for known vulnerabilities (needs network)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast stop bench audit install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,embedded]'
	touch $(STAMP)

install: $(STAMP)

# The demo is development mode on purpose: DEBUG on, loopback upstreams allowed (the sandbox),
# on an embedded database and Redis of its own that it empties at each start.
demo: $(STAMP)
	env -u DATABASE_URL -u REDIS_URL EMBEDDED_NAME=rosterbridge_demo \
		DEBUG=true SANDBOX_ENABLED=true ALLOW_PRIVATE_UPSTREAMS=true ALLOW_HTTP_UPSTREAMS=true \
		$(BIN)/python manage.py demo

# Two pytest processes (pytest-xdist), each with a test database and, on the embedded default,
# a Redis of its own (integration/settings/test.py); each test file runs in one of them. With a
# REDIS_URL of your own the processes would share that Redis, so the tests run in one.
PYTEST_PROCESSES := $(if $(REDIS_URL),,-n 2 --dist loadfile)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=integration.settings.test
	$(BIN)/pytest $(PYTEST_PROCESSES)

# The quick loop while working: everything but the tests marked slow (CI runs make test).
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_PROCESSES) -m "not slow"

stop: $(STAMP)
	$(BIN)/python -m integration.embedded stop

# pip-audit against PyPI's advisory database; .ci/audit says why when it cannot reach it.
audit: $(STAMP)
	.ci/audit

bench: $(STAMP)
	$(BIN)/python manage.py benchmark --json .local/benchmark.json

clean:
	rm -rf $(VENV) .local
