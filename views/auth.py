"""Sign-in and sign-out, the current user, and role checks."""

import functools
import math
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_user, logout_user

from forms.auth import LoginForm
from storage import audit, get_db, login_attempts
from storage.users import authenticate, end_sessions, get_user

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Endpoints reachable without signing in; everything else needs a user.
PUBLIC_ENDPOINTS = {"auth.login", "sso.login", "sso.callback", "static"}
# With password sign-in off, every failure reads the same, so the form never tells whose password was right.
PASSWORD_LOGIN_OFF = "E-mail or password is not right, or password sign-in is off for this account (admins only)."


class User(UserMixin):
    """The signed-in user, built from a users row."""

    def __init__(self, row):
        self.row = row
        self.id = row["id"]
        self.email = row["email"]
        self.name = row["name"]
        self.role = row["role"]

    def has_role(self, *roles):
        """True when the user holds one of ``roles``; admins hold every role."""
        return self.role in roles or self.role == "admin"


# A session's last-seen time is rewritten at most this often, so the cookie does not change on every request.
SEEN_REFRESH_SECONDS = 30


def load_user(user_id):
    """Flask-Login's loader: the active user with this id, if the session is still theirs, or None.

    A session ends when the user's session epoch moved on since sign-in (sign-out, new password, role change,
    deactivation) or when it was idle for longer than ``SESSION_IDLE_MINUTES``.
    """
    try:
        row = get_user(get_db(), int(user_id))
    except (TypeError, ValueError):
        return None
    if not row or not row["active"] or session.get("epoch") != (row.get("session_epoch") or 0):
        return None
    now, seen = time.time(), session.get("seen")
    idle = current_app.config["SESSION_IDLE_MINUTES"]
    if not isinstance(seen, (int, float)) or (idle and now - seen > idle * 60):
        return None
    if now - seen > SEEN_REFRESH_SECONDS:
        session["seen"] = now
    return User(row)


def start_session(row):
    """Sign ``row`` in on a fresh session bound to the user's current epoch."""
    # A fresh session: nothing set before sign-in (by whoever held this browser) carries over.
    session.clear()
    login_user(User(row))
    session.permanent = True
    session["epoch"] = row.get("session_epoch") or 0
    session["seen"] = time.time()


def role_required(*roles):
    """Refuse the view with 403 unless the signed-in user holds one of ``roles``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.before_app_request
def require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or request.path.startswith("/api/"):
        return None
    if request.endpoint is None:
        # Unknown URL: let the 404 handler answer instead of asking to sign in.
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    return None


def _safe_next(target):
    # Only local paths, so the sign-in page cannot be used to redirect elsewhere. No control characters either:
    # browsers drop tabs and line breaks from URLs ("/\t/evil.example" means "//evil.example"), and a line break
    # cannot go into the Location header at all.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return url_for("home.index")


def _locked_message(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Too many failed sign-ins. Sign-in is paused for {minutes} minute{'s' if minutes > 1 else ''}; "
            "try again later.")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Sign in with e-mail and password; repeated failures pause sign-in for the e-mail and the address.

    A paused sign-in answers 429 with the form and ``Retry-After``, the same whether the account exists or not.
    """
    form = LoginForm()
    if form.validate_on_submit():
        db, email, address = get_db(), form.email.data, request.remote_addr or ""
        limits = login_attempts.Limits.from_config(current_app.config)
        # Counted as a failure before the password is checked, so concurrent attempts cannot all slip past
        # the lock; a success takes it back.
        wait = login_attempts.reserve(db, email, address, limits)
        if wait:
            audit.record_now(db, email[:254], "sign_in_locked", after={"address": address})
            page = render_template("auth/login.html", form=form, locked=_locked_message(wait))
            return page, 429, {"Retry-After": str(wait)}
        row = authenticate(db, email, form.password.data)
        password_login = current_app.config["PASSWORD_LOGIN"]
        if row is None:
            audit.record_now(db, email[:254], "sign_in_failed", after={"address": address})
            form.password.errors.append("E-mail or password is not right." if password_login else PASSWORD_LOGIN_OFF)
        elif not password_login and row["role"] != "admin":
            # Left counted as a failure: a refused password must not unlock guessing.
            audit.record_now(db, row["email"], "sign_in_refused",
                             after={"user_id": row["id"], "address": address, "reason": "password_login_off"})
            form.password.errors.append(PASSWORD_LOGIN_OFF)
        else:
            login_attempts.forgive(db, email, address, limits)
            audit.record_now(db, row["email"], "sign_in", after={"user_id": row["id"], "address": address})
            start_session(row)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=("POST",))
def logout():
    """Sign out everywhere (every session of this user ends) and return to the sign-in page."""
    if current_user.is_authenticated:
        end_sessions(get_db(), current_user.id)
        audit.record_now(get_db(), current_user.email, "sign_out", after={"user_id": current_user.id})
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
