"""Sign-in and sign-out, the current user, and role checks."""

import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user, login_user, logout_user

from forms.auth import LoginForm
from storage import get_db
from storage.users import authenticate, get_user

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Endpoints reachable without signing in; everything else needs a user.
PUBLIC_ENDPOINTS = {"auth.login", "static"}


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


def load_user(user_id):
    """Flask-Login's loader: the active user with this id, or None."""
    try:
        row = get_user(get_db(), int(user_id))
    except (TypeError, ValueError):
        return None
    return User(row) if row and row["active"] else None


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
    # Only local paths, so the sign-in page cannot be used to redirect elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Sign in with e-mail and password."""
    form = LoginForm()
    if form.validate_on_submit():
        row = authenticate(get_db(), form.email.data, form.password.data)
        if row is None:
            form.password.errors.append("E-mail or password is not right.")
        else:
            login_user(User(row))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=("POST",))
def logout():
    """Sign out and return to the sign-in page."""
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
