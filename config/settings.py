"""Atrium settings.

Every value that differs between machines is read from the environment here and nowhere
else. With nothing set, Atrium runs as a single development process: SQLite and files under
``var/``, the in-memory channel layer, console email and a secret generated once into ``var/``.
``ATRIUM_ENV=production`` switches to the hardened profile and refuses to start on unsafe values.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

ATRIUM_ENV = env.str("ATRIUM_ENV", default="development")
if ATRIUM_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"ATRIUM_ENV must be 'development' or 'production', not {ATRIUM_ENV!r}."
    )
PRODUCTION = ATRIUM_ENV == "production"

VAR_DIR = Path(env.str("ATRIUM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _generated_once(name: str, make: Callable[[], str]) -> str:
    """A development secret kept in var/: created on first use, readable by its owner only
    from the first byte, and never overwritten (two processes starting at once agree)."""
    path = VAR_DIR / name
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(make())
    return path.read_text().strip()


def _development_secret() -> str:
    return _generated_once("secret_key", lambda: secrets.token_urlsafe(50))


def _env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; spaces around items are ignored and empty items dropped
    ("a.com, b.com" is two hosts, not "a.com" and " b.com")."""
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", default=[])

if PRODUCTION:
    problems = []
    if not SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if DEBUG:
        problems.append("DEBUG must be off")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must list the host names Atrium is served under")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start in production mode: " + "; ".join(problems) + "."
        )
elif not SECRET_KEY:
    SECRET_KEY = _development_secret()

INSTALLED_APPS = [
    "daphne",
    # Before django.contrib.auth, so that its management commands take precedence (its
    # ``changepassword`` refuses: nobody sets another person's password).
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "evidence",
    "messaging",
    "vault",
    "approvals",
    "projects",
    "billing",
    "support",
    "insights",
    "sequences",
    "search",
    "frontend",
]

MIDDLEWARE = [
    # First, so that every response carries the policies: WhiteNoise's static files, the
    # security middleware's redirects and the error pages included.
    "config.content_security.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before everything that may check a permission.
    "accounts.middleware.SharedPermissionCheckersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "accounts.time_zones.TimeZoneMiddleware",
    "accounts.middleware.SessionSeenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of authentication attempts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "frontend.context_processors.branding",
                "frontend.context_processors.vocab",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'atrium.sqlite3'}")
}
# Persistent connections leak under ASGI (each request may run on another thread), so
# every request closes its own. On PostgreSQL "closing" hands the connection back to a
# psycopg pool per process instead of opening a new one each time (~9 ms per connect).
DATABASES["default"].setdefault("CONN_MAX_AGE", 0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "pool",
        {
            "min_size": env.int("ATRIUM_DB_POOL_MIN", default=2),
            # messaging runs its database work on max_size - 2 threads, which leaves
            # connections for the request thread and the session and user lookups.
            "max_size": env.int("ATRIUM_DB_POOL_MAX", default=8),
            "timeout": 10,
        },
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process and tests read while another connection writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # A file, not memory, so that a live Daphne process in the tests shares the test
    # database; one per test process, so concurrent runs do not collide.
    DATABASES["default"].setdefault("TEST", {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A receive blocks in Redis for up to 5 s (BZPOPMIN); the client's read timeout
                # must outlast it, or every idle receive fails (redis-py 8 defaults it to 5 s).
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1500}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any hashing happens.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "frontend:login"
PASSWORD_RESET_TIMEOUT = env.int("ATRIUM_PASSWORD_RESET_SECONDS", default=3 * 60 * 60)
# Reset links mailed from the sign-in page: at most so many per e-mail address and per
# client address in a window (counted in the cache, shared by all workers with REDIS_URL).
# Requests over a limit get the same answer as the others and send nothing.
_PASSWORD_RESET_WINDOW = max(1, env.int("ATRIUM_PASSWORD_RESET_WINDOW_MINUTES", default=60)) * 60
ATRIUM_PASSWORD_RESET_LIMITS = {
    "address": {
        "limit": env.int("ATRIUM_PASSWORD_RESET_ADDRESS_LIMIT", default=5),
        "window": _PASSWORD_RESET_WINDOW,
    },
    "ip": {
        "limit": env.int("ATRIUM_PASSWORD_RESET_IP_LIMIT", default=20),
        "window": _PASSWORD_RESET_WINDOW,
    },
}

# Wrong current passwords (changing the password, turning two-factor off) one person may
# give per window before every try is refused until the window ends.
ATRIUM_PASSWORD_CHANGE_LIMIT = {
    "limit": env.int("ATRIUM_PASSWORD_CHANGE_FAILURE_LIMIT", default=5),
    "window": max(1, env.int("ATRIUM_PASSWORD_CHANGE_WINDOW_MINUTES", default=15)) * 60,
}

# Two-factor sign-in (TOTP, with recovery codes). Firm admins and staff must use it when the
# firm says so on its Branding page; until a firm admin decides, this setting decides.
ATRIUM_REQUIRE_TWO_FACTOR = env.bool("ATRIUM_REQUIRE_TWO_FACTOR", default=PRODUCTION)
# Wrong codes one person may give per window (signing in, setting up, turning it off).
ATRIUM_TWO_FACTOR_LIMIT = {
    "limit": env.int("ATRIUM_TWO_FACTOR_FAILURE_LIMIT", default=5),
    "window": max(1, env.int("ATRIUM_TWO_FACTOR_WINDOW_MINUTES", default=15)) * 60,
}


def _totp_issuer(device) -> str:
    """The issuer an authenticator app shows beside the code: the firm's name (read when a
    code is set up, never at import)."""
    from accounts.services.firm import firm_get

    return firm_get().name


OTP_TOTP_ISSUER = _totp_issuer

# Login throttling: a lock-out after repeated failures for one e-mail from one address,
# and for every e-mail from one client address after more failures across addresses
# (accounts.lockout), each lifted automatically after the cool-off.
AXES_FAILURE_LIMIT = env.int("ATRIUM_LOGIN_FAILURE_LIMIT", default=5)
ATRIUM_LOGIN_IP_FAILURE_LIMIT = env.int("ATRIUM_LOGIN_IP_FAILURE_LIMIT", default=50)
AXES_HANDLER = "accounts.lockout.AtriumLockoutHandler"
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ATRIUM_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form's field name. Axes otherwise keys the credentials it checks before
# authenticating by USERNAME_FIELD ("email") while failures arrive keyed "username", so the
# lock-out would be counted but never enforced against a correct password.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.services.users.login_identifier"
AXES_LOCKOUT_TEMPLATE = "frontend/locked_out.html"
AXES_VERBOSE = False
# The client address axes counts against is REMOTE_ADDR. Behind a proxy, the server runs with
# --proxy-headers and takes it from X-Forwarded-For, which the proxy must overwrite (never
# append to), or a client could pick a fresh address for every guess (docs/deployment.md).
# Uvicorn believes the header only from the peers listed here (addresses or networks, "*"
# for any: config.serve); Daphne from any peer.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
ATRIUM_TRUSTED_PROXIES = _env_list("ATRIUM_TRUSTED_PROXIES", default=["127.0.0.1"])
# Connections (open sockets count) a Uvicorn worker takes before it answers 503.
ATRIUM_SERVER_MAX_CONNECTIONS = env.int("ATRIUM_SERVER_MAX_CONNECTIONS", default=10_000)

GUARDIAN_RAISE_403 = False
GUARDIAN_MONKEY_PATCH_USER = False
ANONYMOUS_USER_NAME = None

ATRIUM_INVITATION_TTL = timedelta(days=env.int("ATRIUM_INVITATION_TTL_DAYS", default=7))
# Per-user limits: (count, seconds). Sends and edits count against "message", subscribes
# (each may replay up to 200 events) against "subscribe".
ATRIUM_RATE_LIMITS = {
    "message": (
        env.int("ATRIUM_MESSAGE_RATE_COUNT", default=30),
        env.int("ATRIUM_MESSAGE_RATE_SECONDS", default=10),
    ),
    "subscribe": (
        env.int("ATRIUM_SUBSCRIBE_RATE_COUNT", default=120),
        env.int("ATRIUM_SUBSCRIBE_RATE_SECONDS", default=10),
    ),
}
# Seconds between a worker's checks of its subscribed threads against the database (the
# bound on a delivery that anything, such as Redis failing, held up; docs/protocol.md).
ATRIUM_DELIVERY_CHECK_SECONDS = env.float("ATRIUM_DELIVERY_CHECK_SECONDS", default=2.0)
# Background work runs as tasks; the database backend needs no broker (`manage.py db_worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Minutes after a message before people who have not read it are e-mailed a digest.
ATRIUM_DIGEST_DELAY = timedelta(minutes=env.int("ATRIUM_DIGEST_DELAY_MINUTES", default=10))
ATRIUM_BASE_URL = env.str("ATRIUM_BASE_URL", default="http://127.0.0.1:8000")
# Days after its due date before an open approval request expires (docs/api.md).
ATRIUM_APPROVAL_EXPIRY_DAYS = env.int("ATRIUM_APPROVAL_EXPIRY_DAYS", default=14)
if ATRIUM_APPROVAL_EXPIRY_DAYS < 0:
    raise ImproperlyConfigured("ATRIUM_APPROVAL_EXPIRY_DAYS is a number of days, 0 or more.")

# Stripe Checkout for paying invoices online (docs/billing.md, "Paying online"): on only when
# both are set; the webhook's secret verifies the signature of Stripe's events.
ATRIUM_STRIPE_SECRET_KEY = env.str("ATRIUM_STRIPE_SECRET_KEY", default="")
ATRIUM_STRIPE_WEBHOOK_SECRET = env.str("ATRIUM_STRIPE_WEBHOOK_SECRET", default="")

# --- the vault ---------------------------------------------------------------------------
# Master keys wrap the client accounts' keys. ATRIUM_MASTER_KEYS lists "id:base64-of-32-bytes"
# items; the first wraps new and re-wrapped account keys, all of them unwrap. Development
# generates one into var/; production refuses to start without the list.
_MASTER_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def _development_master_keys() -> str:
    return _generated_once(
        "master_keys",
        lambda: (
            f"dev-{secrets.token_hex(3)}:{base64.b64encode(secrets.token_bytes(32)).decode()}\n"
        ),
    )


def _master_keys(value: str) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        key_id, _, encoded = item.partition(":")
        key_id = key_id.strip()
        if not _MASTER_KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                "ATRIUM_MASTER_KEYS: each item is ID:KEY with an ID of 1 to 32 letters, "
                "digits, '.', '_' or '-'."
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"ATRIUM_MASTER_KEYS: the key of {key_id!r} must be 32 bytes in base64."
            )
        if any(key_id == known for known, _ in keys):
            raise ImproperlyConfigured(f"ATRIUM_MASTER_KEYS: the id {key_id!r} appears twice.")
        keys.append((key_id, key))
    if not keys:
        raise ImproperlyConfigured("ATRIUM_MASTER_KEYS holds no key.")
    return keys


_master_keys_value = env.str("ATRIUM_MASTER_KEYS", default="")
if not _master_keys_value:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "Refusing to start in production mode: ATRIUM_MASTER_KEYS must be set "
            "(docs/vault-format.md)."
        )
    _master_keys_value = _development_master_keys()
ATRIUM_MASTER_KEYS = _master_keys(_master_keys_value)

# The largest file one upload may carry (2 GiB unless set).
ATRIUM_VAULT_MAX_BYTES = env.int("ATRIUM_VAULT_MAX_BYTES", default=2 * 1024**3)
# Encrypted uploads are spooled here before they are handed to the vault storage; on the
# same file system as a file-system vault storage, that hand-over is a rename.
ATRIUM_VAULT_SPOOL_DIR = Path(env.str("ATRIUM_VAULT_SPOOL_DIR", default=str(VAR_DIR / "spool")))
ATRIUM_VAULT_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
# Any Django storage backend holds the encrypted files: the file system under var/ by
# default, an S3-compatible store with ATRIUM_VAULT_STORAGE_BACKEND=storages.backends.s3.S3Storage
# and its options as JSON (README).
_VAULT_STORAGE_BACKEND = env.str(
    "ATRIUM_VAULT_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
)
_VAULT_STORAGE_OPTIONS = env.json("ATRIUM_VAULT_STORAGE_OPTIONS", default={})
if _VAULT_STORAGE_BACKEND.endswith("FileSystemStorage"):
    _VAULT_STORAGE_OPTIONS.setdefault("location", str(VAR_DIR / "vault"))
    _VAULT_STORAGE_OPTIONS.setdefault("file_permissions_mode", 0o600)
    _VAULT_STORAGE_OPTIONS.setdefault("directory_permissions_mode", 0o700)

# --- the evidence ledger ------------------------------------------------------------------
# ATRIUM_EVIDENCE_KEY is the standard base64 of the 32-byte Ed25519 seed that signs the
# ledger's checkpoints and bundles (docs/ledger-storage.md). Development generates one into
# var/; production refuses to start without it. The key is never stored in the database.


def _development_evidence_key() -> str:
    return _generated_once(
        "evidence_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode() + "\n"
    )


def _evidence_key(value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(
            "ATRIUM_EVIDENCE_KEY must be the standard base64 of a 32-byte Ed25519 seed."
        )
    return key


_evidence_key_value = env.str("ATRIUM_EVIDENCE_KEY", default="")
if not _evidence_key_value:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "Refusing to start in production mode: ATRIUM_EVIDENCE_KEY must be set "
            "(docs/ledger-storage.md)."
        )
    _evidence_key_value = _development_evidence_key()
ATRIUM_EVIDENCE_KEY = _evidence_key(_evidence_key_value)


def _evidence_origin(value: str) -> str:
    """The checkpoints' origin line: the portal's host and port, then /atrium-evidence,
    unless set. One line of printable characters without spaces or "+" (C2SP signed note)."""
    if not value:
        parts = urlsplit(ATRIUM_BASE_URL)
        host = (parts.hostname or "").lower()
        if not host:
            raise ImproperlyConfigured(
                "ATRIUM_EVIDENCE_ORIGIN must be set when ATRIUM_BASE_URL names no host."
            )
        value = f"{host}:{parts.port}" if parts.port else host
        value += "/atrium-evidence"
    if not value.isprintable() or any(ch.isspace() or ch == "+" for ch in value):
        raise ImproperlyConfigured(
            f"ATRIUM_EVIDENCE_ORIGIN must be one line without spaces or '+', not {value!r}."
        )
    return value


ATRIUM_EVIDENCE_ORIGIN = _evidence_origin(env.str("ATRIUM_EVIDENCE_ORIGIN", default=""))
# Seconds after the first entry not yet covered by a checkpoint before the task signs one.
ATRIUM_EVIDENCE_CHECKPOINT_SECONDS = env.int("ATRIUM_EVIDENCE_CHECKPOINT_SECONDS", default=60)

# --- document signing ---------------------------------------------------------------------
# The certificate completed signature requests are sealed with (docs/signatures.md, "Signing
# key"): ATRIUM_SIGNING_CERT names a PKCS#12 file (.p12/.pfx) or a PEM certificate followed by
# its chain, ATRIUM_SIGNING_KEY the PEM key of a PEM certificate, ATRIUM_SIGNING_PASSPHRASE
# opens either. ATRIUM_TSA_URL, an RFC 3161 timestamp authority, makes seals PAdES B-T.
# Development makes a self-signed certificate into var/signing/ on first use; production
# refuses to start without one unless signing is switched off (ATRIUM_SIGNING_ENABLED=false:
# certificates of completion are then stored unsealed).
ATRIUM_SIGNING_ENABLED = env.bool("ATRIUM_SIGNING_ENABLED", default=True)
ATRIUM_SIGNING_CERT = env.str("ATRIUM_SIGNING_CERT", default="")
ATRIUM_SIGNING_KEY = env.str("ATRIUM_SIGNING_KEY", default="")
ATRIUM_SIGNING_PASSPHRASE = env.str("ATRIUM_SIGNING_PASSPHRASE", default="")
ATRIUM_TSA_URL = env.str("ATRIUM_TSA_URL", default="")
if ATRIUM_SIGNING_ENABLED:
    if PRODUCTION and not ATRIUM_SIGNING_CERT:
        raise ImproperlyConfigured(
            "Refusing to start in production mode: ATRIUM_SIGNING_CERT must name the firm's "
            "document-signing certificate, or ATRIUM_SIGNING_ENABLED be false "
            "(docs/signatures.md)."
        )
    _signing_pem = ATRIUM_SIGNING_CERT and not ATRIUM_SIGNING_CERT.lower().endswith(
        (".p12", ".pfx")
    )
    if _signing_pem and not ATRIUM_SIGNING_KEY:
        raise ImproperlyConfigured(
            "ATRIUM_SIGNING_KEY must name the PEM key of the PEM certificate ATRIUM_SIGNING_CERT."
        )
    for _name, _path in (
        ("ATRIUM_SIGNING_CERT", ATRIUM_SIGNING_CERT),
        ("ATRIUM_SIGNING_KEY", ATRIUM_SIGNING_KEY),
    ):
        if _path and not Path(_path).is_file():
            raise ImproperlyConfigured(f"{_name} names no file: {_path!r}.")
if ATRIUM_TSA_URL and urlsplit(ATRIUM_TSA_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured("ATRIUM_TSA_URL must be an http or https URL.")
# The public check page (/check/): the largest file it reads, and how many checks one address
# may run in a window.
ATRIUM_CHECK_MAX_BYTES = env.int("ATRIUM_CHECK_MAX_BYTES", default=25 * 1024 * 1024)
ATRIUM_CHECK_LIMIT = {
    "limit": env.int("ATRIUM_CHECK_LIMIT", default=20),
    "window": max(1, env.int("ATRIUM_CHECK_WINDOW_MINUTES", default=10)) * 60,
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Collected files, for production; development serves straight from the apps' folders.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "vault": {"BACKEND": _VAULT_STORAGE_BACKEND, "OPTIONS": _VAULT_STORAGE_OPTIONS},
    "staticfiles": {
        "BACKEND": "config.staticfiles.StaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise as they are.
WHITENOISE_ROOT = BASE_DIR / "frontend" / "root"

# EMAIL_URL carries backend, host, port, credentials and TLS in one value
# (smtp+tls://user:password@host:587); it expands to Django's EMAIL_* settings.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Atrium <portal@atrium.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("ATRIUM_SESSION_SECONDS", default=14 * 24 * 60 * 60)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "frontend.errors.csrf_failure"

# Content-Security-Policy on every response (config.content_security, docs/deployment.md):
# scripts, styles, images, fonts and connections from this origin only, no inline script and
# no style attribute; the one inline style element (the firm's colours) carries the nonce of
# its response. The middleware adds this host's ws:/wss: origin to connect-src, which browsers
# without CSP level 3 do not count as 'self'. Violations are reported to our own endpoint.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        # pdf.js parses PDFs in a module worker served from this origin; nothing else
        # (no blob: or data: workers) may run as one.
        "worker-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "report-uri": [reverse_lazy("csp_report")],
    }
}
# Permissions-Policy: the portal uses no device, sensor or payment feature, so no page (nor
# anything it could be made to embed) may ask for one.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "local-fonts",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("ATRIUM_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("ATRIUM_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_NAME = "__Host-atrium_session"
    CSRF_COOKIE_NAME = "__Host-atrium_csrf"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
