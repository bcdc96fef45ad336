"""Settings for every environment, read from environment variables (docs/configuration.md)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parents[2]
# An editable install runs from the checkout: var/ lives beside src/ unless ESTATECRM_VAR_DIR says otherwise.
CHECKOUT_DIR = PACKAGE_DIR.parents[1]
VAR_DIR = Path(os.environ.get("ESTATECRM_VAR_DIR", CHECKOUT_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def load_secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into var/secret_key."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
# The address people open the CRM at: links in mails sent by background tasks (a new inquiry's case).
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "estatecrm.core",
    "estatecrm.tenancy",
    "estatecrm.crm",
    "estatecrm.audit",
    "estatecrm.pipeline",
    "estatecrm.leads",
    "estatecrm.legacy",
    "estatecrm.listings",
    "estatecrm.inquiries",
    "estatecrm.dedup",
    "estatecrm.staff",
    "estatecrm.vendor",
    "estatecrm.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the request (sessions, CSRF, auth): NUL is refused here (core/middleware.py).
    "estatecrm.core.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "estatecrm.core.middleware.CompanyScopeMiddleware",
    "estatecrm.core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "estatecrm.config.urls"
WSGI_APPLICATION = "estatecrm.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "estatecrm.tenancy.context_processors.acting_unit",
            ],
        },
    },
]


def database_settings(url: str) -> dict:
    """One DATABASES entry from DATABASE_URL; SQLite gets WAL, a busy timeout and IMMEDIATE writes."""
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Django's backend, whose writers take turns with an import's batches (core/sqlite/turns.py);
        # SQLITE_WRITE_TURNS=0: Django's own (SQLite's busy handler alone; for comparison, docs/performance.md).
        if os.environ.get("SQLITE_WRITE_TURNS", "1") != "0":
            config["ENGINE"] = "estatecrm.core.sqlite"
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets the web process read while the worker writes; IMMEDIATE avoids lock upgrades
            # that would fail with "database is locked" under concurrent writers.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": int(os.environ.get("SQLITE_BUSY_TIMEOUT", "30")),
        }
    return config


DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'estatecrm.sqlite3'}"
DATABASES = {"default": database_settings(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 12)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = False

# Log-in throttling (core/login_throttle.py, docs/configuration.md): per account, a progressive delay.
# After AXES_FAILURE_LIMIT failures in a row, each further attempt waits 2, 4, 8... seconds after the last
# failure, at most LOGIN_DELAY_MAX_SECONDS; attempts while waiting are refused uncounted.
# At most one password-reset mail per address in this many seconds (the reset form is public).
PASSWORD_RESET_MAIL_INTERVAL_SECONDS = int(os.environ.get("PASSWORD_RESET_MAIL_INTERVAL_SECONDS", "300"))
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
LOGIN_DELAY_MAX_SECONDS = int(os.environ.get("LOGIN_DELAY_MAX_SECONDS", "900"))
AXES_HANDLER = "estatecrm.core.login_throttle.ProgressiveDelayHandler"
# Failures are forgotten this long after the last one.
AXES_COOLOFF_TIME = timedelta(hours=24)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "estatecrm.core.login_throttle.account_key"
AXES_CLIENT_IP_CALLABLE = "estatecrm.core.login_throttle.client_ip_address"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "estatecrm.core.login_throttle.lockout_response"
# Addresses or networks of the reverse proxies in front of the app (comma-separated, e.g. 127.0.0.1 for a
# TLS proxy on this machine): only their X-Forwarded-For is believed; empty = the header is ignored.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# axes warns that a lock without the IP can be dodged by rotating User-Agents: the delay here sums the
# account's failures over every address and User-Agent (ProgressiveDelayHandler), so it cannot.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# The language of pages before a user chooses one, of mails without a user, and of the commands.
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "ja")
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Largest attachment a user may upload to a case (megabytes).
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_MB", "20")) * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "estatecrm <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The onboarding staff who get the mails of a move-in from another vendor (end of each phase, the client's verdict),
# besides the user who started it: comma-separated addresses.
VENDOR_ONBOARDING_EMAILS = env_list("VENDOR_ONBOARDING_EMAILS")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# The LINE Messaging API (profiles, push messages) that the LINE SDK calls; tests point it at a local fake.
LINE_API_BASE_URL = os.environ.get("LINE_API_BASE_URL", "https://api.line.me").rstrip("/")
TRASH_RETENTION_DAYS = int(os.environ.get("TRASH_RETENTION_DAYS", "30"))
# A run whose worker sent no heartbeat for this long is taken over by another worker.
PIPELINE_STALE_SECONDS = int(os.environ.get("PIPELINE_STALE_SECONDS", "60"))
# Rows per range of a lead import split after its scan, so that several workers write it at once
# (PostgreSQL; docs/setup.md). 0: never split (SQLite has one writer: splitting gains nothing there).
PIPELINE_RANGE_ROWS = int(os.environ.get("PIPELINE_RANGE_ROWS", "0"))
# Every worker fetches the inquiry sources' IMAP mailboxes this often (0: never; `inquiries fetch` still works).
INQUIRY_FETCH_SECONDS = int(os.environ.get("INQUIRY_FETCH_SECONDS", "300"))
# A PEM file of certificate authorities trusted for IMAP over TLS besides the system's (a mail server with a private CA).
INQUIRY_IMAP_CA_FILE = os.environ.get("INQUIRY_IMAP_CA_FILE", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusal_without_traceback": {"()": "estatecrm.core.logging.RefusalWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A refused request (403) is one WARNING line without a traceback (core/logging.py).
        "django.request": {"filters": ["refusal_without_traceback"]},
    },
}
