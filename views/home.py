"""The start page after sign-in."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    """What the service offers the signed-in user."""
    return render_template("home/index.html")
