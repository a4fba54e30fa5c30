"""Settings for every environment, read from the environment (DESIGN §7).

With ``DEBUG`` off (the default) these are production settings: ``SECRET_KEY`` and
``FERNET_KEYS`` have no defaults and the security middleware is strict, so
``manage.py check --deploy`` passes. The demo and the tests set what they need.

With no ``DATABASE_URL`` / ``REDIS_URL`` the embedded default (``integration.embedded``)
starts a real PostgreSQL and a real Redis from pip packages under ``.local/``.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from integration.settings.secrets import fernet_keys_problem, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# --- Secrets -------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-" + "x" * 40)
    _fernet = env.list("FERNET_KEYS", default=["ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE="])
else:
    try:
        SECRET_KEY = env("SECRET_KEY")
        _fernet = env.list("FERNET_KEYS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "Production settings (DEBUG off) need SECRET_KEY and FERNET_KEYS in the environment."
        ) from exc
    if not _fernet:
        raise ImproperlyConfigured("FERNET_KEYS must list at least one key.")
    _weak = secret_key_problem(SECRET_KEY) or fernet_keys_problem(_fernet)
    if _weak:
        raise ImproperlyConfigured(_weak)
# Newest first: the first key encrypts, every key decrypts (django-fernet-fields-v2).
FERNET_KEYS = _fernet

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])

SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# Lets intake and clients reach loopback/private hosts (development, sandbox, tests).
ALLOW_PRIVATE_UPSTREAMS = env.bool("ALLOW_PRIVATE_UPSTREAMS", default=False)
# Lets intake accept http:// upstream URLs (local development only).
ALLOW_HTTP_UPSTREAMS = env.bool("ALLOW_HTTP_UPSTREAMS", default=False)

# --- Services ------------------------------------------------------------------------------
EMBEDDED_NAME: str | None = None  # the embedded instance in use, if any (integration.embedded)
if "DATABASE_URL" in env.ENVIRON and "REDIS_URL" in env.ENVIRON:
    DATABASE_URL = env("DATABASE_URL")
    REDIS_URL = env("REDIS_URL")
else:
    try:
        from integration import embedded
    except ImportError as exc:
        raise ImproperlyConfigured(
            "Set DATABASE_URL and REDIS_URL, or install the embedded PostgreSQL and Redis "
            f"with pip install -e '.[embedded]' (missing: {exc.name})."
        ) from exc

    # The demo runs on an instance of its own (``rosterbridge_demo``), reset at each start.
    EMBEDDED_NAME = env("EMBEDDED_NAME", default=embedded.DEFAULT_NAME)
    DATABASE_URL = env("DATABASE_URL", default=None) or embedded.database_url(
        BASE_DIR, EMBEDDED_NAME
    )
    REDIS_URL = env("REDIS_URL", default=None) or embedded.redis_url(BASE_DIR, EMBEDDED_NAME)

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Every Redis name this deployment writes starts with this (integration/redis_names.py), so
# deployments sharing a Redis never see each other's locks, caches or queues. The database
# name already tells deployments apart; set it when two share a database name.
REDIS_NAMESPACE = env("REDIS_NAMESPACE", default=None) or (
    f"rb-{DATABASES['default']['NAME'] or 'default'}"
)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_NAMESPACE,
    }
}

# --- Applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    # Django's admin with our OTP-aware site as ``admin.site`` (tenants/admin_site.py).
    "tenants.admin_apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_celery_beat",
    "integration",
    "tenants",
    "runs",
    "provisioning",
    "gradepassback",
    "evaluation",
    "console",
    "lti",
    "sandbox",
]

MIDDLEWARE = [
    "integration.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.SessionAbsoluteTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes last, as its docs require: it reads the result of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "integration.urls"
WSGI_APPLICATION = "integration.wsgi.application"

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
            ],
        },
    }
]

AUTHENTICATION_BACKENDS = [
    # https://django-axes.readthedocs.io/en/latest/2_installation.html
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Staff need a verified TOTP device in production; development may switch it off.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = "RosterBridge"
# https://django-otp-official.readthedocs.io/en/stable/overview.html#std-setting-OTP_ADMIN_HIDE_SENSITIVE_DATA
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/admin/"

# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes
# Keyed by username AND address together: five failures for one account from one address
# lock that pair for the cool-off. Keyed by username alone, anyone anywhere (or one client
# rotating X-Forwarded-For) could lock a staff member out of their own account.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Behind a reverse proxy, the number of proxies in front of Django: without it every client
# shares the proxy's address and one attacker locks everyone out (tenants/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "tenants.client_ip.client_ip"

# Public intake page: requests per client address per window (a Redis counter).
INTAKE_RATE_LIMIT = env.int("INTAKE_RATE_LIMIT", default=30)
INTAKE_RATE_WINDOW = env.int("INTAKE_RATE_WINDOW", default=600)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")

# --- Security (ASVS / Django deployment checklist) ----------------------------------------
# ASVS 3.3.2: 30 minutes idle (saved on every request), 12 hours at most after sign-in
# (tenants.middleware.SessionAbsoluteTimeoutMiddleware).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts and styles come only from our own static
# files; no inline <script>, <style>, style="…" or on…= handler anywhere (a test scans every
# template), so injected markup cannot run or restyle a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies are Secure, Path=/ and host-only: a sibling subdomain cannot set them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Ramp: start low, raise to a year once HTTPS is proven (cookiecutter's practice).
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- E-mail --------------------------------------------------------------------------------
if "EMAIL_URL" in env.ENVIRON and env("EMAIL_URL"):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env(
        "EMAIL_BACKEND",
        default="integration.mail.StderrEmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend",
    )
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="rosterbridge@localhost")
CONSOLE_BASE_URL = env("CONSOLE_BASE_URL", default="http://localhost:8000")
# Where Canvas reaches the LTI grade sync tool (blank: CONSOLE_BASE_URL).
LTI_TOOL_BASE_URL = env("LTI_TOOL_BASE_URL", default="")

# --- Celery --------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 300
# Must exceed the longest task so a late-acked task is not redelivered while it runs.
# ``global_keyprefix``: the broker's queues and bookkeeping keys live in the deployment's
# namespace, so two deployments on one Redis never take each other's messages.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 600,
    "global_keyprefix": f"{REDIS_NAMESPACE}:",
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Runs (runs/lease.py) ------------------------------------------------------------------
# A worker proves it still holds a run every third of this; a run whose heartbeat is older is
# lost (its worker was killed) and the next start fails it. Also the district lock's TTL.
RUN_LEASE_SECONDS = env.float("RUN_LEASE_SECONDS", default=90.0)

# --- Upstream HTTP -------------------------------------------------------------------------
HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=10.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=60.0)
# The most one upstream answer may hold (after decompression); larger answers fail the call
# with UpstreamResponseTooLarge instead of filling a shared worker's memory. Sized from the
# largest legitimate page: OneRoster allows 50,000 records a page, and 50,000 users in the
# heaviest shape the sandbox models (metadata on every record, several userIds, empty
# strings sent) measure 40.9 MB; 64 MiB leaves half as much again. A run holds at most this
# per request in flight (oneroster_concurrency, at most 5). docs/security.md, "Bounded
# responses"; tests/test_hostile_upstream.py measures both.
HTTP_MAX_RESPONSE_BYTES = env.int("HTTP_MAX_RESPONSE_BYTES", default=64 * 1024 * 1024)
ONEROSTER_PAGE_SIZE = env.int("ONEROSTER_PAGE_SIZE", default=10000)
ONEROSTER_CONCURRENCY = env.int("ONEROSTER_CONCURRENCY", default=5)
# Courses of one passback run in the Celery queue at a time. Each finished course queues the
# run's next one at the tail, behind other districts' work, so one district's 300 courses
# never make the others wait for its whole run (docs/scaling.md).
PASSBACK_COURSES_PER_RUN = env.int("PASSBACK_COURSES_PER_RUN", default=2)

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"urllib3": {"level": "WARNING"}},
}


def _celery_broker_url(redis_url: str) -> str:
    # Kombu names Unix-socket Redis "redis+socket://"; redis-py and Django say "unix://".
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = _celery_broker_url(REDIS_URL)
