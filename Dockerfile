# One image for every process of the clinic deployment (docker-compose.yml): gunicorn web,
# Celery worker, Celery beat and the one-shot migrate job differ only in their command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIH_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. psycopg[binary] brings its
# own libpq, so the slim image needs no compiler and no system packages.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Only what the app runs on: no .venv, no var/ (a developer's SQLite database may hold test
# patients), no .git. A new Django app directory must be added here; tests/test_compose.py checks.
COPY manage.py gunicorn.conf.py ./
COPY aih_tracker ./aih_tracker
COPY patients ./patients
COPY regimens ./regimens
COPY monitoring ./monitoring
COPY templates ./templates
COPY static ./static

# Static files are collected into the image (whitenoise serves them). The key is a throwaway
# that exists only in this build step; the real one comes from the environment at run time.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only-never-used-to-sign-anything \
    python manage.py collectstatic --noinput

# The app never runs as root. var/ stays writable for Celery beat's schedule file.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin aih \
    && mkdir -p /app/var/beat \
    && chown -R aih:aih /app/var
USER aih

EXPOSE 8000
CMD ["gunicorn", "--config=gunicorn.conf.py", "aih_tracker.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
