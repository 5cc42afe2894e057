"""Admin pages: user accounts and the policy packs the rules engine runs on."""

import hashlib
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

import rules
from forms.admin import ConfirmForm, CreateUserForm, PasswordForm, RoleForm, UploadPackForm
from rules.packs import signature
from storage import audit, get_db, users, write_transaction

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only():
    """Every admin page: anonymous users go to sign-in, signed-in users who are not admins get 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if current_user.role != "admin":
        abort(403)
    return None


@bp.route("/")
def index():
    """What an admin can manage."""
    db = get_db()
    # The audit head, to write down or send to a ticket: `flask audit verify --expect-head` compares it later.
    return render_template("admin/index.html", users=len(users.list_users(db)), packs=len(rules.get_packs()),
                           audit_head=audit.head(db), audit_rows=db["audit"].count)


# Users


def get_user_or_404(user_id):
    """The user with this id, or a 404."""
    user = users.get_user(get_db(), user_id)
    if user is None:
        abort(404)
    return user


def _users_page(form, status=200):
    return render_template("admin/users.html", users=users.list_users(get_db()), form=form), status


@bp.route("/users")
def users_list():
    """Every account, with a form to create one."""
    return _users_page(CreateUserForm(formdata=None))


@bp.post("/users")
def create_user():
    """Create an account; errors from the account rules show next to their field."""
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = users.add_user(get_db(), current_user.row, form.email.data, form.password.data, form.role.data,
                                  form.name.data.strip())
        except users.UserError as exc:
            getattr(form, exc.field or "email").errors.append(str(exc))
        else:
            flash(f"Created {user['role']} {user['email']}.")
            return redirect(url_for("admin.user_page", user_id=user["id"]))
    return _users_page(form, 400)


def _user_page(user, status=200, error=None, **posted):
    forms = {"role": RoleForm(formdata=None, data={"role": user["role"]}), "active": ConfirmForm(formdata=None),
             "password": PasswordForm(formdata=None)}
    forms.update(posted)
    return render_template("admin/user.html", user=user, forms=forms, error=error,
                           is_self=user["id"] == current_user.id), status


@bp.route("/users/<int:user_id>")
def user_page(user_id):
    """One account: change its role, deactivate or reactivate it, set a new password."""
    return _user_page(get_user_or_404(user_id))


def _act(user_id, name, form, action, done):
    """Run an account change if its form is valid; a refused change re-renders the page with the reason."""
    user = get_user_or_404(user_id)
    if not form.validate_on_submit():
        return _user_page(user, 400, **{name: form})
    try:
        changed = action(user, form)
    except users.UserError as exc:
        return _user_page(get_user_or_404(user_id), exc.status, error=str(exc), **{name: form})
    flash(done.format(**changed))
    return redirect(url_for("admin.user_page", user_id=user_id))


@bp.post("/users/<int:user_id>/role")
def change_role(user_id):
    """Give the user another role."""
    return _act(user_id, "role", RoleForm(),
                lambda user, f: users.change_role(get_db(), current_user.row, user["id"], f.role.data),
                "{email} is now {role}.")


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id):
    """Stop the user signing in; their open sessions end at their next request."""
    return _act(user_id, "active", ConfirmForm(),
                lambda user, f: users.set_active(get_db(), current_user.row, user["id"], False),
                "{email} is deactivated.")


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id):
    """Let a deactivated user sign in again."""
    return _act(user_id, "active", ConfirmForm(),
                lambda user, f: users.set_active(get_db(), current_user.row, user["id"], True),
                "{email} can sign in again.")


@bp.post("/users/<int:user_id>/password")
def set_password(user_id):
    """Replace the user's password."""
    return _act(user_id, "password", PasswordForm(),
                lambda user, f: users.reset_password(get_db(), current_user.row, user["id"], f.password.data),
                "New password set for {email}.")


# Policy packs


def _record(action, before=None, after=None):
    db = get_db()
    with write_transaction(db):
        audit.record(db, current_user.email, action, before=before, after=after)


def _policies_page(status=200, check=None, upload=None):
    packs = rules.get_packs()
    try:
        # get_packs has just reloaded any valid change, so files that still differ failed to load.
        stale = signature(packs.directory) != packs.signature
    except OSError:
        stale = True
    return render_template("admin/policies.html", packs=packs, stale=stale, check=check,
                           reload_form=ConfirmForm(formdata=None), upload=upload or UploadPackForm(formdata=None),
                           directory=current_app.config["POLICIES_DIR"]), status


@bp.route("/policies")
def policies():
    """The loaded packs, with the check, reload and upload actions."""
    return _policies_page()


@bp.route("/policies/check")
def check():
    """Validate the pack files on disk without loading them."""
    try:
        check = {"ok": True, "message": rules.check_packs(current_app.config["POLICIES_DIR"])}
    except rules.PackError as exc:
        check = {"ok": False, "message": exc.message}
    return _policies_page(check=check)


def _reload():
    """Load the packs in POLICIES_DIR into the app: ``(ids before, ids after, error)``.

    On a PackError the packs loaded before stay in use.
    """
    # What was in use before this request, not what get_packs may have just reloaded on its own.
    before = [p.id for p in current_app.extensions.get("policies") or rules.get_packs()]
    try:
        rules.load_into(current_app)
    except rules.PackError as exc:
        return before, before, exc.message
    return before, [p.id for p in current_app.extensions["policies"]], None


@bp.post("/policies/reload")
def reload():
    """Reload the packs from disk and say what changed or why nothing did."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    before, after, error = _reload()
    _record("reload_policies", {"packs": before}, {"packs": after, "error": error})
    if error:
        return _policies_page(409, check={"ok": False, "message": f"Not reloaded, the packs in use are unchanged: "
                                                                    f"{error}"})
    flash(f"Reloaded {len(after)} packs.")
    return redirect(url_for("admin.policies"))


@bp.post("/policies/upload")
def upload():
    """Add a new pack file, then reload; a pack that cannot be loaded with the others is not kept."""
    form = UploadPackForm()
    if not form.validate_on_submit():
        return _policies_page(400, upload=form)
    directory = current_app.config["POLICIES_DIR"]
    try:
        pack_id, data = rules.save_pack(form.pack.data, directory, rules.get_packs())
    except rules.UploadError as exc:
        form.pack.errors.append(str(exc))
        return _policies_page(exc.status, upload=form)
    before, _, error = _reload()
    if error:
        # Another change landed between the check and the write; take the file back out.
        (Path(directory) / f"{pack_id}.toml").unlink(missing_ok=True)
        form.pack.errors.append(f"Not saved: {error}")
        return _policies_page(409, upload=form)
    _record("upload_policy", {"packs": before},
            {"pack": pack_id, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    flash(f"Added pack {pack_id} and reloaded the packs.")
    return redirect(url_for("admin.pack", pack_id=pack_id))


@bp.route("/policies/<pack_id>")
def pack(pack_id):
    """One pack: its rules, what each emits and cites, and its clauses."""
    packs = rules.get_packs()
    if pack_id not in packs:
        abort(404)
    return render_template("admin/pack.html", pack=packs[pack_id], last_day=packs.last_day(packs[pack_id]))
