"""The signed-in user's settings: which notification e-mails they get."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from forms.settings import NotificationForm
from storage import get_db
from storage import notifications as outbox

bp = Blueprint("settings", __name__, url_prefix="/settings")


def offered():
    """The optional e-mails that can reach the signed-in user: submissions and the digest go to reviewers."""
    if current_user.has_role("reviewer"):
        return list(outbox.OPTIONAL)
    return ["comment"]


@bp.route("/notifications", methods=("GET", "POST"))
def notifications():
    """Turn optional e-mails on or off; the page says when the server sends no e-mail at all."""
    db = get_db()
    kinds = offered()
    # The posted form as it is, even empty: unticking every box posts no field at all.
    posted = request.form if request.method == "POST" else None
    form = NotificationForm(formdata=posted, data=outbox.get_settings(db, current_user.id))
    for name in set(outbox.OPTIONAL) - set(kinds):
        delattr(form, name)
    if form.validate_on_submit():
        outbox.save_settings(db, current_user.id, current_user.email, {k: form[k].data for k in kinds})
        flash("Your e-mail settings are saved.")
        return redirect(url_for("settings.notifications"))
    return render_template("settings/notifications.html", form=form, kinds=kinds,
                           email_on=bool(current_app.config.get("SMTP_HOST")))
