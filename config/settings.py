"""Kintsugi settings, read from environment variables only.

Every variable has a safe development default, so a fresh checkout runs on
SQLite with an embedded broker. Set ``DEBUG=false`` for production: the
secret key and allowed hosts must then be given explicitly.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from celery.schedules import crontab
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KINTSUGI_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-kintsugi-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.apps.KintsugiConfig",
    "axes",
    "csp",
    "teams",
    "incidents",
    "postmortems",
    "experiments",
    "search",
    "insights",
    "demo",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A strict Content-Security-Policy on every answer (the policy is CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Webhook deliveries go from here straight to their view: what follows serves people.
    "config.middleware.WebhookMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.PagesLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.context_processors.site",
                "csp.context_processors.nonce",
            ],
            "libraries": {"kintsugi": "config.templatetags.kintsugi"},
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kintsugi.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that accepts connections and never answers fails a new one after this many seconds.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DATABASE_CONNECT_TIMEOUT", "3")
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one SQLite file: WAL lets
    # readers run beside the single writer, and IMMEDIATE transactions take the
    # write lock up front instead of failing half-way with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Covering indexes (INCLUDE) speed up PostgreSQL; SQLite builds them without
    # the extra columns, which is fine for the embedded default.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    # The test database is a file as well, not shared-cache memory: concurrent
    # threads then wait on SQLite's ordinary locks (shared-cache memory fails
    # them at once with "table is locked"), and test subprocesses can open it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-kintsugi.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling (config/sign_in.py): per account and per address, then a cool-off.
AUTHENTICATION_BACKENDS = [
    "config.sign_in.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("KINTSUGI_SIGN_IN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("KINTSUGI_SIGN_IN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.sign_in.sign_in_locked_out"
# Behind proxies that append to X-Forwarded-For, KINTSUGI_PROXY_COUNT says how many; else REMOTE_ADDR, not spoofable.
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("KINTSUGI_PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from our own origin only, no
# inline script or style. Data for scripts travels in json_script blocks (type application/json, which
# CSP does not run). A script that must create a <style> (plotly.js) reads the request's nonce from
# <meta property="csp-nonce"> in base.html; plotly's own rules are served as a stylesheet instead.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js and its stylesheet, from the installed plotly package (config/staticfinders.py).
    "config.staticfinders.PlotlyFinder",
]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email: EMAIL_URL (smtp://user:password@host:587/?tls=True) or console in development.
_email = dj_email_url.parse(os.environ.get("EMAIL_URL", "console://"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Kintsugi <kintsugi@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: a real broker always. The embedded default is kombu's SQLAlchemy
# transport over a SQLite file, so no server is needed to run the app.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when the broker is down: fail fast,
# the periodic sweeper queues whatever was not published.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Seconds a task taken by a worker may stay unacknowledged before Redis gives it to another worker: a worker
# killed half-way has its tasks run again this long after. Longer than a drain's budget, and every countdown
# is shorter (docs/operations.md).
KINTSUGI_BROKER_VISIBILITY_TIMEOUT = float(os.environ.get("KINTSUGI_BROKER_VISIBILITY_TIMEOUT", "45"))
# Seconds a publish of a drain may wait for a Redis broker to connect or answer.
KINTSUGI_BROKER_TIMEOUT = float(os.environ.get("KINTSUGI_BROKER_TIMEOUT", "1"))
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        # Workers wait for a broker that hangs (an acknowledgement that timed out would be lost); a drain is
        # published with a timeout of its own (incidents/ingest/drain.py).
        "socket_connect_timeout": KINTSUGI_BROKER_TIMEOUT,
        "visibility_timeout": KINTSUGI_BROKER_VISIBILITY_TIMEOUT,
        # Look for tasks of lost workers every 5 seconds, not every 100.
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_PUBLISH_RETRY = False
# Celery's Django fixup closes the database connection around every task
# unless this is set; config/celery.py instead treats each task like a
# request (close_old_connections), so CONN_MAX_AGE and health checks apply.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Deliveries whose task was never published (broker down) or lost are queued again.
    "start-delivery-sweep": {"task": "incidents.tasks.start_delivery_sweep", "schedule": 60.0},
}

# Cache: Redis when a URL is given (CACHE_URL, else REDIS_URL, else a Redis
# broker), so counters are shared by every web worker; memory otherwise.
_CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or ""
if not _CACHE_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _CACHE_URL = CELERY_BROKER_URL
# Seconds any Redis client on the request path waits to connect or for an answer; a server that took longer
# is left alone until a probe, every KINTSUGI_REDIS_RETRY_SECONDS, finds it answering (config/shared_redis.py).
KINTSUGI_REDIS_TIMEOUT = float(os.environ.get("KINTSUGI_REDIS_TIMEOUT", "0.1"))
KINTSUGI_REDIS_RETRY_SECONDS = float(os.environ.get("KINTSUGI_REDIS_RETRY_SECONDS", "5"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _CACHE_URL,
        "KEY_PREFIX": "kintsugi",
        "OPTIONS": {"socket_timeout": KINTSUGI_REDIS_TIMEOUT, "socket_connect_timeout": KINTSUGI_REDIS_TIMEOUT},
    }
    if _CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kintsugi"}
}

# Webhooks: bodies above this size are refused with 413 before being read.
KINTSUGI_WEBHOOK_MAX_BYTES = int(os.environ.get("KINTSUGI_WEBHOOK_MAX_BYTES", str(5 * 1024 * 1024)))
# A delivery whose processing keeps failing is retried this many times in all, then marked failed.
KINTSUGI_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("KINTSUGI_DELIVERY_MAX_ATTEMPTS", "5"))
# Seconds before the first retry; doubled on each further attempt, capped at ten minutes.
KINTSUGI_DELIVERY_RETRY_BACKOFF = float(os.environ.get("KINTSUGI_DELIVERY_RETRY_BACKOFF", "10"))
# Deliveries processed per transaction, and seconds one drain task works before handing the rest to another.
KINTSUGI_DELIVERY_BATCH_SIZE = int(os.environ.get("KINTSUGI_DELIVERY_BATCH_SIZE", "100"))
KINTSUGI_DELIVERY_DRAIN_SECONDS = float(os.environ.get("KINTSUGI_DELIVERY_DRAIN_SECONDS", "20"))
# A batch claims bodies of this many bytes at most (one delivery at least), so large bodies cannot exhaust a worker.
KINTSUGI_DELIVERY_BATCH_BYTES = int(os.environ.get("KINTSUGI_DELIVERY_BATCH_BYTES", str(16 * 1024 * 1024)))
# Seconds a batch's claim on its deliveries lasts: if its worker is lost, they are due again after this.
KINTSUGI_DELIVERY_CLAIM_SECONDS = float(os.environ.get("KINTSUGI_DELIVERY_CLAIM_SECONDS", "10"))
# The sweeper queues deliveries still waiting after this many seconds.
KINTSUGI_DELIVERY_SWEEP_AFTER = int(os.environ.get("KINTSUGI_DELIVERY_SWEEP_AFTER", "120"))

# Follow-up actions and search.
CELERY_BEAT_SCHEDULE |= {
    # Hourly so each team gets its reminders in its own morning; a rerun sends nothing twice.
    "start-action-reminders": {"task": "postmortems.tasks.start_action_reminders", "schedule": crontab(minute=5)},
    # Every quarter hour, so a game day planned at short notice is still announced before it starts.
    "start-game-day-reminders": {
        "task": "experiments.tasks.start_game_day_reminders",
        "schedule": crontab(minute="*/15"),
    },
    "refresh-search-index": {"task": "search.tasks.search_index_refresh", "schedule": 300.0},
}

# The weekly digest: every hour, the teams whose local weekday and hour it is send theirs.
CELERY_BEAT_SCHEDULE |= {
    "start-weekly-digests": {"task": "teams.tasks.start_weekly_digests", "schedule": crontab(minute=0)},
}


def env_weeks_by_severity(name: str, default: dict[str, int]) -> dict[str, int]:
    """Read ``SEV1=4,SEV2=6`` pairs; severities not given keep their default."""
    weeks = dict(default)
    for pair in env_list(name, ""):
        severity, _, value = pair.partition("=")
        if severity.strip() not in default or not value.strip().isdigit():
            raise ImproperlyConfigured(f"{name}: expected pairs like SEV1=4, got {pair!r}.")
        weeks[severity.strip()] = int(value)
    return weeks


# Follow-up actions: the default due date is this many weeks after creation, by incident severity.
ACTION_ITEM_DUE_WEEKS = env_weeks_by_severity("ACTION_ITEM_DUE_WEEKS", {"SEV1": 4, "SEV2": 6, "SEV3": 8, "SEV4": 12})
# Owners hear about an item this many days before it is due, then weekly while it is overdue,
# from this local hour of the team's time zone.
ACTION_ITEM_DUE_SOON_DAYS = int(os.environ.get("ACTION_ITEM_DUE_SOON_DAYS", "7"))
# Hours before a game day starts that its facilitator and participants are reminded.
GAME_DAY_REMINDER_HOURS = int(os.environ.get("GAME_DAY_REMINDER_HOURS", "24"))
ACTION_ITEM_REMINDER_HOUR = int(os.environ.get("ACTION_ITEM_REMINDER_HOUR", "8"))
# Text search configuration of PostgreSQL (stemming and stop words).
SEARCH_CONFIG = os.environ.get("SEARCH_CONFIG", "english")
# Insights: a team's operations budget is its members x the working week x this share (the SRE rule: half),
# and each operational action item done counts this many hours (items record no effort of their own).
INSIGHTS_WORKING_HOURS_PER_WEEK = float(os.environ.get("INSIGHTS_WORKING_HOURS_PER_WEEK", "40"))
INSIGHTS_OPERATIONS_SHARE = float(os.environ.get("INSIGHTS_OPERATIONS_SHARE", "0.5"))
INSIGHTS_ACTION_ITEM_HOURS = float(os.environ.get("INSIGHTS_ACTION_ITEM_HOURS", "4"))

# Notifications: outbound calls, retries and coalescing.
# Let outbound webhooks and chat URLs reach loopback and private addresses (tests, a private network's receivers).
KINTSUGI_OUTBOUND_ALLOW_PRIVATE = env_bool("KINTSUGI_OUTBOUND_ALLOW_PRIVATE", False)
# Seconds each connect, send and read of an outbound call may take.
KINTSUGI_OUTBOUND_TIMEOUT = float(os.environ.get("KINTSUGI_OUTBOUND_TIMEOUT", "5"))
# Attempts of one message before it is shown as failed; seconds before the first retry, doubled each time.
KINTSUGI_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("KINTSUGI_NOTIFY_MAX_ATTEMPTS", "6"))
KINTSUGI_NOTIFY_RETRY_BACKOFF = float(os.environ.get("KINTSUGI_NOTIFY_RETRY_BACKOFF", "30"))
# Events of one kind about one lane or subject within this many seconds fold into the first.
KINTSUGI_NOTIFY_COALESCE_SECONDS = int(os.environ.get("KINTSUGI_NOTIFY_COALESCE_SECONDS", "600"))
# The sweeper queues events and messages still waiting this many seconds after they were due.
KINTSUGI_NOTIFY_SWEEP_AFTER = int(os.environ.get("KINTSUGI_NOTIFY_SWEEP_AFTER", "60"))
CELERY_BEAT_SCHEDULE |= {
    "start-notifications-sweep": {"task": "notifications.tasks.start_notifications_sweep", "schedule": 60.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["config.api.StrictFilterBackend"],
    # JSON bodies are refused when some key or string holds NUL or a lone surrogate (config/validation.py).
    "DEFAULT_PARSER_CLASSES": [
        "config.validation.TextJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.StrictPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kintsugi API",
    "DESCRIPTION": "Blameless incident and post-mortem tracking for ML teams.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API's bodies are JSON. The form parsers stay for DRF's browsable API and test client; a form
    # body is always key-value pairs, so documenting it would promise shapes it cannot carry.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Without deep links each operation's path is plain text: a link inside the operation's button is an
    # interactive control nested in another, which screen readers and keyboards cannot reach (WCAG 4.1.2).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    # Several models have a "kind" or a "status"; name each vocabulary after its model.
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStatusEnum": "incidents.models.sources.Delivery.Status",
        "DeploymentStatusEnum": "incidents.models.deployments.DeploymentStatus",
        "IncidentStatusEnum": "incidents.models.incidents.IncidentStatus",
        "IncidentKindEnum": "incidents.models.incidents.IncidentKind",
        "SourceKindEnum": "incidents.models.sources.SourceKind",
        "ActionItemKindEnum": "postmortems.models.actions.ActionItemKind",
        "ActionItemPriorityEnum": "postmortems.models.actions.ActionItemPriority",
        "ActionItemStatusEnum": "postmortems.models.actions.ActionItemStatus",
        "FactorCategoryEnum": "postmortems.models.postmortems.FactorCategory",
        "PostmortemStatusEnum": "postmortems.models.postmortems.PostmortemStatus",
        "SearchKindEnum": "search.models.SearchKind",
        "ExperimentKindEnum": "experiments.models.ExperimentKind",
        "ExperimentOutcomeEnum": "experiments.models.ExperimentOutcome",
        "GameDayStateEnum": "experiments.models.GameDayState",
        "InjectionKindEnum": "experiments.models.InjectionKind",
        "ChannelKindEnum": "notifications.models.ChannelKind",
        "SendStatusEnum": "notifications.models.SendStatus",
        "EventKindEnum": "notifications.models.EventKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_CONTENT_TYPE_NOSNIFF = True
