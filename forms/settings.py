"""A user's own settings."""

from flask_wtf import FlaskForm
from wtforms import BooleanField

from storage.notifications import OPTIONAL


class NotificationForm(FlaskForm):
    """Which optional e-mails the user gets; decisions are always sent."""

    submitted = BooleanField(OPTIONAL["submitted"])
    comment = BooleanField(OPTIONAL["comment"])
    digest = BooleanField(OPTIONAL["digest"])
