"""Settings for the Desa Presisi portal.

One file, driven by environment variables (documented in `.env.example`). The small
helpers below fail loudly on values they cannot parse, so a typo in a deployment
surfaces at start-up instead of as odd behaviour later.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """NAME from the environment, or from the file NAME_FILE names (a secret kept in a file
    readable only by the service, e.g. SECRET_KEY_FILE=/etc/desapresisi/secret_key)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Production mode (behind HTTPS): `manage.py check --deploy` is clean with PRODUCTION=1.
PRODUCTION = env_bool("PRODUCTION", False)
# Required in production; elsewhere (tests, management commands on a developer machine) an
# obviously insecure key lets the project start. scripts/run generates a real one.
SECRET_KEY = env_str("SECRET_KEY", None if PRODUCTION else "django-insecure-development-only")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.gis",
    "django.contrib.postgres",
    "leaflet",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "desapresisi.apps.AxesConfig",
    "django_tasks",
    "desapresisi",
    "villages",
    "households",
    "programmes",
    "quality",
    # The synthetic census, demo accounts and the benchmark: tools for a demo or a developer
    # machine, never installed in production.
    *([] if PRODUCTION else ["demo"]),
    # After households, whose db_worker (the same worker, which first fails the jobs of a
    # worker that died) must win over the one of this package.
    "desapresisi.apps.TasksDatabaseConfig",
]

MIDDLEWARE = [
    # First: its time includes every other middleware.
    "desapresisi.metrics.MetricsMiddleware",
    "desapresisi.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After static files, before anything reads: where this request's reads go (primary
    # or replica), and the position of its writes for the user's next reads
    # (desapresisi/db_router.py).
    "desapresisi.db_router.ReplicaReadsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After CSRF, so a page form it has parsed is checked too; before anything writes.
    "desapresisi.request_guard.RejectNulMiddleware",
    # Django's AuthenticationMiddleware, the account of a session kept for a moment.
    "desapresisi.callers.KeptAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "desapresisi.audit.ActorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its own response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login rate limiting (pages, admin and the API token endpoint alike): after 5 failures
# for a username from one address, that pair waits 15 minutes.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

ROOT_URLCONF = "desapresisi.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "desapresisi.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "desapresisi.wsgi.application"

# A local PostGIS is what scripts/setup brings up when DATABASE_URL is not given.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgis://postgres@127.0.0.1:5433/desapresisi"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] not in (
    "django.contrib.gis.db.backends.postgis",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL with PostGIS.")
# A postgres:// URL is accepted too; the portal always needs the spatial backend.
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"

# A streaming replica of the primary (scripts/replica makes one on loopback): page, API,
# tile and download reads go there, writes and a user's reads right after their own write
# to the primary (desapresisi/db_router.py). Unset: everything on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    DATABASES["replica"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    # A replica that does not answer must cost a moment, not a request's whole timeout.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # Tests read their one test database through both names.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["desapresisi.db_router.ReplicaRouter"]
# Seconds of WAL received but not replayed after which reads leave the replica.
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 10)
# Seconds before a replica that did not answer (or lagged) is asked again.
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 5)
# 1 behind PgBouncer in transaction mode (or another transaction pooler): no server-side
# cursors, which would outlive the transaction (docs/operations.md).
DB_TRANSACTION_POOLING = env_bool("DB_TRANSACTION_POOLING", False)
if DB_TRANSACTION_POOLING:
    for _database in DATABASES.values():
        _database["DISABLE_SERVER_SIDE_CURSORS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# In PostgreSQL, so that every web worker and host shares what is kept here.
# `manage.py createcachetable` (run by scripts/setup) makes the table.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "desapresisi_cache",
    }
}

# Sessions end after a working day and with the browser; cookies are not readable by JS.
# Where the API's rate limits count requests (desapresisi/throttling.py): "table", one
# statement per request on an UNLOGGED table of the primary; "cache", DRF's sliding window
# in CACHES above (a SELECT, a write and a durable commit per request).
THROTTLE_STORE = env_str("THROTTLE_STORE", "table")
if THROTTLE_STORE not in ("table", "cache"):
    raise ImproperlyConfigured("THROTTLE_STORE must be 'table' or 'cache'")

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Request bodies: forms and JSON up to 5 MB in memory; census files have their own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Published answers (indicator values, areas) kept in each web process by their ETag
# (desapresisi/http_cache.py); 0 keeps none.
PUBLISHED_ANSWERS_BYTES = env_int("PUBLISHED_ANSWERS_MB", 32) * 1024 * 1024
# How long a web process trusts the data versions it read (milliseconds; 0: read them
# for every request). A refresh made elsewhere is seen within this time.
DATA_VERSION_TTL_MS = env_int("DATA_VERSION_TTL_MS", 1000)
# How long a web process trusts who a session or a token belongs to, with their access
# profile (milliseconds; 0: read them for every request): a change to an account, a
# profile, a token or a session made by another process applies within this time, one
# made by the same process at once (desapresisi/callers.py).
ACCESS_TTL_MS = env_int("ACCESS_TTL_MS", 1000)
# Megabytes of cached map tiles each web process keeps (households/api/tiles.py); 0: none.
KEPT_TILES_BYTES = env_int("KEPT_TILES_MB", 64) * 1024 * 1024
# Census import limits (README, "Census import"): rows per sheet, characters per cell,
# bytes an XLSX may inflate to (all parts; the shared strings, which openpyxl holds in
# memory whole, on their own), and the parsing size up to which an upload is processed in
# the request rather than by the background worker.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_MAX_CELL_CHARS = env_int("IMPORT_MAX_CELL_CHARS", 1000)
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("IMPORT_MAX_UNCOMPRESSED_BYTES", 512 * 1024 * 1024)
IMPORT_MAX_SHARED_STRINGS_BYTES = env_int("IMPORT_MAX_SHARED_STRINGS_BYTES", 64 * 1024 * 1024)
IMPORT_SYNC_MAX_BYTES = env_int("IMPORT_SYNC_MAX_BYTES", 4 * 1024 * 1024)
# Optional pull of field submissions from an ODK Central server (households.fieldwork):
# unset, the portal takes Central and KoboToolbox exports by upload only. The password may
# come from a file (ODK_CENTRAL_PASSWORD_FILE). ODK_CENTRAL_FORMS: the forms' IDs to pull.
ODK_CENTRAL_URL = env_str("ODK_CENTRAL_URL", "")
ODK_CENTRAL_USERNAME = env_str("ODK_CENTRAL_USERNAME", "")
ODK_CENTRAL_PASSWORD = env_str("ODK_CENTRAL_PASSWORD", "")
ODK_CENTRAL_PROJECT = env_int("ODK_CENTRAL_PROJECT", 0)
ODK_CENTRAL_FORMS = env_list("ODK_CENTRAL_FORMS", "desapresisi_sensus,desapresisi_kunjungan")
# Named-record XLSX exports writing more rows than this (households and members together)
# are built by the background worker instead of in the request; the caller polls the job
# and downloads the file from it. 10,000 rows build in about a second (0.06-0.09 ms a row,
# docs/benchmark.md). CSV and GeoJSON stream in constant memory and never need a job.
EXPORT_XLSX_SYNC_MAX_ROWS = env_int("EXPORT_XLSX_SYNC_MAX_ROWS", 10_000)
# Where export jobs write their files: private (nothing serves it), shared by the web
# processes and the worker (relative to the project folder unless absolute). Files are
# deleted this many hours after they are finished.
EXPORT_ROOT = BASE_DIR / env_str("EXPORT_ROOT", ".local/exports")
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 24)
if EXPORT_RETENTION_HOURS < 1:
    raise ImproperlyConfigured("EXPORT_RETENTION_HOURS must be at least 1.")
# A running import or export job holds a lease that its process renews; when the lease
# lapses (or the process is gone from this host) the job is failed and may be retried.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60)
if JOB_LEASE_SECONDS < 2:
    raise ImproperlyConfigured("JOB_LEASE_SECONDS must be at least 2.")
# Uploads (personal data) of dry runs and failed imports are kept this long for a commit
# or a retry, then deleted; a rejected file is deleted at once.
IMPORT_UPLOAD_RETENTION_HOURS = env_int("IMPORT_UPLOAD_RETENTION_HOURS", 24)
if IMPORT_UPLOAD_RETENTION_HOURS < 1:
    raise ImproperlyConfigured("IMPORT_UPLOAD_RETENTION_HOURS must be at least 1.")

# Background jobs (large census imports and XLSX exports) queue in PostgreSQL: no extra
# server. The worker is `manage.py db_worker` (started by scripts/run). django-tasks 0.12
# moved its database backend into the separate django-tasks-db package.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# The audit log (who saw, exported or unmasked which records) is kept this many days, then
# deleted by `manage.py purge_audit` run as the maintenance role (the database refuses any
# other delete, and fewer than 180 days).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 730)
if AUDIT_RETENTION_DAYS < 180:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 180.")

# Health and metrics (desapresisi/health.py, desapresisi/metrics.py). Each worker process
# renews its heartbeat every WORKER_HEARTBEAT_SECONDS; /health/ fails when no heartbeat is
# younger than HEALTH_WORKER_MAX_AGE_SECONDS (a stopped worker shows within a minute), when
# the oldest queued task waited longer than HEALTH_QUEUE_MAX_WAIT_SECONDS, when the export
# directory's disk has less than HEALTH_MIN_FREE_MB free, or when the file the backup job
# touches after each backup (BACKUP_STATUS_FILE) is older than HEALTH_BACKUP_MAX_AGE_HOURS.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
HEALTH_WORKER_MAX_AGE_SECONDS = env_int("HEALTH_WORKER_MAX_AGE_SECONDS", 45)
if HEALTH_WORKER_MAX_AGE_SECONDS <= WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "HEALTH_WORKER_MAX_AGE_SECONDS must be longer than WORKER_HEARTBEAT_SECONDS."
    )
HEALTH_QUEUE_MAX_WAIT_SECONDS = env_int("HEALTH_QUEUE_MAX_WAIT_SECONDS", 900)
HEALTH_MIN_FREE_MB = env_int("HEALTH_MIN_FREE_MB", 1024)
BACKUP_STATUS_FILE = env_str("BACKUP_STATUS_FILE", "")
HEALTH_BACKUP_MAX_AGE_HOURS = env_int("HEALTH_BACKUP_MAX_AGE_HOURS", 26)
# /metrics: with METRICS_TOKEN_FILE (a file holding the scraper's bearer token) anyone with
# the token; without it only a direct call from this machine.
METRICS_TOKEN_FILE = env_str("METRICS_TOKEN_FILE", "")
METRICS_TASK_WINDOW_HOURS = env_int("METRICS_TASK_WINDOW_HOURS", 24)
# The monitor may ask over plain HTTP on the machine itself.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when PRODUCTION=1.")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Debian 12 ships GDAL 3.6, which cannot block file/network access inside spatial
# references. The portal never hands user-supplied SRS text to GDAL: every geometry is
# parsed as GeoJSON/WKB in EPSG:4326 and boundary files are the project's own.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Bahasa Indonesia by default, English available.
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Makassar")  # WITA, the time zone of Kalimantan Timur
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "desapresisi.storage.StaticStorage"
        )
    },
}

# The portal must work on an intranet with no internet: the basemap is optional and
# configurable. With no BASEMAP_URL the map shows boundaries on a plain background.
BASEMAP_URL = env_str("BASEMAP_URL", "")
BASEMAP_ATTRIBUTION = env_str("BASEMAP_ATTRIBUTION", "")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (-1.2, 116.64),  # Kabupaten Penajam Paser Utara
    "DEFAULT_ZOOM": 9,
    "MIN_ZOOM": 5,
    "MAX_ZOOM": 18,
    "TILES": [("Basemap", BASEMAP_URL, {"attribution": BASEMAP_ATTRIBUTION})]
    if BASEMAP_URL
    else [],
    "ATTRIBUTION_PREFIX": "Desa Presisi",
    "RESET_VIEW": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "desapresisi.callers.KeptTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "desapresisi.openapi.PortalAutoSchema",
    "EXCEPTION_HANDLER": "desapresisi.api.exception_handler",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_VERSION": "v1",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["desapresisi.throttling.PortalRateThrottle"],
    # Per account (its API token) or, for visitors, per address. See desapresisi/throttling.py.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "600/min"),
        "api": env_str("THROTTLE_API", "600/min"),
        "imports": env_str("THROTTLE_IMPORTS", "30/hour"),
        "exports": env_str("THROTTLE_EXPORTS", "120/hour"),
    },
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Desa Presisi API",
    "DESCRIPTION": (
        "Village household data of a kabupaten: areas, households, members, indicators "
        "and map tiles. Authenticate with `Authorization: Token <key>` "
        "(POST /api/v1/auth/token/) or a browser session. Every error has the form "
        '`{"error": {"status": ..., "code": ..., "message": ..., "fields": {...}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation works offline: Swagger UI is served from the sidecar package.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "WaterSourceEnum": "households.models.households.WATER_SOURCE_CHOICES",
        # Export jobs brought a second "kind" and "status" into the schema: the earlier
        # enums keep their names.
        "KindEnum": "villages.models.Kind",
        "StatusEnum": "households.models.ImportStatus",
        "ExportKindEnum": "households.models.ExportKind",
        "ExportStatusEnum": "households.models.ExportStatus",
        "InterventionStatusEnum": "programmes.models.Status",
        "ProgrammeUnitEnum": "programmes.models.Unit",
        "FundingSourceEnum": "programmes.models.FundingSource",
    },
}

# Content-Security-Policy: scripts only from the portal itself or carrying this
# request's nonce (django-leaflet's map tags use it); no inline handlers, no CDN.
_basemap_origin = ""
if BASEMAP_URL:
    _parts = urlsplit(BASEMAP_URL.replace("{s}", "a"))
    _basemap_origin = f"{_parts.scheme or 'https'}://{_parts.netloc.replace('a.', '*.', 1)}"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", *([_basemap_origin] if _basemap_origin else [])],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Public statistics hide counts from 1 to this number (small-cell suppression).
SMALL_CELL_THRESHOLD = env_int("SMALL_CELL_THRESHOLD", 3)
# Evidence photos of interventions: the largest upload accepted (re-encoded smaller).
PROGRAMME_PHOTO_MAX_BYTES = env_int("PROGRAMME_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
# How many reverse proxies in front of the portal add X-Forwarded-For (0: none trusted).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT

# The kabupaten the home dashboard shows the public and administrators (callers with
# areas see theirs: households.selectors.home_area_for).
HOME_KABUPATEN = env_str("HOME_KABUPATEN", "64.09")
if not re.fullmatch(r"\d{2}\.\d{2}", HOME_KABUPATEN):
    raise ImproperlyConfigured(
        f"HOME_KABUPATEN={HOME_KABUPATEN!r} is not a kabupaten/kota code (e.g. 64.09)."
    )

# Synthetic demo data is labelled as such wherever it is shown.
DEMO_DATA_LABEL = _("Data demo sintetis - bukan data nyata")

# Logs carry the request id and never personal data (desapresisi/logs.py); one JSON object
# a line in production (LOG_FORMAT=json), plain lines for a developer.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"personal_data": {"()": "desapresisi.logs.PersonalDataFilter"}},
    "formatters": {
        "json": {"()": "desapresisi.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["personal_data"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes logs every reset at INFO; lockouts are still logged as warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}
