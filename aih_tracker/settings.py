"""Settings. Everything that differs between a laptop and a clinic comes from the environment.

Embedded default (no variables set): SQLite in ./var, Celery on kombu's filesystem
transport in ./var/celery, DEBUG on. Production: DJANGO_DEBUG=0, DJANGO_SECRET_KEY,
DATABASE_URL (PostgreSQL) and REDIS_URL (or CELERY_BROKER_URL).
"""

import os
import stat
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AIH_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def private_dir(path: Path) -> Path:
    """Make sure `path` exists and only its owner may enter it (0700): var/ holds patient data (the SQLite
    database, the filesystem broker's messages, the cache). A folder made by an earlier version (0755) is
    tightened; one that belongs to another user (a mount) is left as it is. The SQLite files themselves
    are made 0600 when a connection opens them (aih_tracker/apps.py)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-not-for-clinics"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "aih_tracker",
    "patients",
    "regimens",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times and "today" in the user's clinic's time zone.
    "aih_tracker.middleware.ClinicTimeZone",
    # Cache-Control: no-store on everything a signed-in user gets (patient data).
    "aih_tracker.middleware.NoStoreForSignedInUsers",
    # 400 for a NUL character in a query or form (PostgreSQL cannot take one; no browser sends one).
    "aih_tracker.middleware.RefuseNullCharacters",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Must be last: it turns a lockout signalled by the auth backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aih_tracker.urls"
WSGI_APPLICATION = "aih_tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "aih_tracker.context_processors.roles",
            ],
        },
    },
]

private_dir(VAR_DIR)
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; busy timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# PostgreSQL: the evaluation's loader prepares its statements once per connection (monitoring/engine/cache.py,
# `fetch`); Django's own cursors bind client-side and never prepare, so this changes nothing else. Each
# new connection also asks for generic plans (aih_tracker/apps.py): the statements take any number of
# patient ids as one array, and PostgreSQL would otherwise re-plan each execution for its ids, which is
# what preparing saves. A pooler in transaction mode needs protocol-level prepared statements (PgBouncer
# >= 1.21 with max_prepared_statements), or DB_PREPARED_STATEMENTS=0.
AIH_PREPARED_STATEMENTS = (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and os.environ.get("DB_PREPARED_STATEMENTS", "1") == "1"
)
if AIH_PREPARED_STATEMENTS:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)  # Django's is None: never

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "aih_tracker.User"

AUTHENTICATION_BACKENDS = [
    # Login throttling first: it refuses locked-out credentials before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Permissions come from the role matrix in aih_tracker/roles.py.
    "aih_tracker.auth.RoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "patients:list"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind a reverse proxy REMOTE_ADDR is the proxy: AIH_TRUSTED_PROXY_COUNT says how many proxies of ours
# append to X-Forwarded-For in front of the app (0: none, the header is ignored, a client could forge it).
AIH_TRUSTED_PROXY_COUNT = int(os.environ.get("AIH_TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "aih_tracker.client_ip.client_ip"

# Audit history in the admin is shown only to roles with the VIEW_AUDIT action.
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True
# History is read, never written back from the admin (aih_tracker/admin_scoping.py refuses the POST too).
SIMPLE_HISTORY_REVERT_DISABLED = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up if it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Security headers. HTTPS-only settings are on whenever DEBUG is off; a clinic behind a
# TLS-terminating proxy sets DJANGO_SECURE_PROXY_SSL_HEADER=1.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = 8 * 60 * 60  # one clinic day
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy: everything is served from our own origin (clinics run offline).
# Styles allow inline because plotly.js and htmx inject style elements at run time.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# Cache: the dashboard's daily cohort snapshot (monitoring/alerts/dashboard.py), shared by web processes
# and Celery workers. Redis when there is one, else files under var/ (the embedded default).
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "aih",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(private_dir(VAR_DIR / "cache")),
        }
    }

# Celery. Local default: kombu's filesystem transport, which needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
    CELERY_PROCESSED_DIR = VAR_DIR / "celery" / "processed"
    CELERY_CONTROL_DIR = VAR_DIR / "celery" / "control"  # broadcast (inspect ping); else ./control
    for folder in (VAR_DIR / "celery", CELERY_QUEUE_DIR, CELERY_PROCESSED_DIR, CELERY_CONTROL_DIR):
        private_dir(folder)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "processed_folder": str(CELERY_PROCESSED_DIR),
        "control_folder": str(CELERY_CONTROL_DIR),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "300"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "360"))
CELERY_TIMEZONE = TIME_ZONE
# However long a patient's findings could hold (monitoring/engine/horizon.py), the nightly sweep re-evaluates
# them at least this often: a safety net, not a clinical number.
AIH_EVALUATION_MAX_HOLD_DAYS = int(os.environ.get("AIH_EVALUATION_MAX_HOLD_DAYS", "28"))
# The engine's speed machinery (monitoring/engine/cache.py): how long an evaluation may reuse the clinics'
# parameters and digests read by this process (0: read them for every evaluation), and whether a worker
# freezes its start-up objects out of the garbage collector's view.
AIH_BASIS_REUSE_SECONDS = int(os.environ.get("AIH_BASIS_REUSE_SECONDS", "60"))
AIH_GC_FREEZE = os.environ.get("AIH_GC_FREEZE", "1") == "1"

CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "aih_tracker.tasks.heartbeat",
        "schedule": 60.0,
    },
    # Every night, every active patient whose findings may have changed (monitoring/evaluation.py):
    # date-driven rules fire on their day and changes whose evaluation message was lost are caught up.
    "nightly-sweep": {
        "task": "monitoring.tasks.nightly_sweep",
        "schedule": crontab(hour=int(os.environ.get("SWEEP_HOUR", "2")), minute=0),
    },
    # The dashboard's cohort snapshot of the day (reads data, not alerts: it need not wait for the sweep).
    "cohort-snapshot": {
        "task": "monitoring.tasks.refresh_cohort_snapshots",
        "schedule": crontab(hour=int(os.environ.get("SWEEP_HOUR", "2")), minute=5),
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The development server's access log, as Django's default has it, but without query strings: a
    # patient search is GET /patients/?q=<name or MRN> (gunicorn's access log: gunicorn.conf.py).
    "filters": {"no_query_string": {"()": "aih_tracker.log_filters.DropQueryString"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["no_query_string"],
            "level": "INFO",
            "propagate": False,
        },
    },
}
