# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format check demo clean

$(BIN)/.runtime: requirements.txt
	./scripts/bootstrap
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(BIN)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py create_demo_users
	$(BIN)/python manage.py seed_demo --patients 40 --seed 1

## Start the web app, a Celery worker and Celery beat on SQLite + the filesystem broker.
run: demo
	@echo "AIH Tracker: http://127.0.0.1:8000/  (Ctrl-C stops the web app, worker and beat)"
	$(BIN)/honcho start -f Procfile

## Run the whole test suite (browser tests need Debian's chromium; bootstrap installs it).
test: $(BIN)/.dev
	./scripts/bootstrap --browser
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: $(BIN)/.dev
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check

clean:
	rm -rf $(VENV) var

## Django's deployment checklist on production settings (as docker-compose.yml sets them).
## The key is random and thrown away: the check only needs one that looks like a real one.
.PHONY: deploy-check
deploy-check: $(BIN)/.runtime
	DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=aih.example.org \
	DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	$(BIN)/python manage.py check --deploy --fail-level WARNING
