"""The admin's forms: user accounts and policy packs.

The user forms only bound what is typed; the rules an account must meet (e-mail shape, role, password length,
unique e-mail) are checked by ``storage.users``, the same code the ``flask users`` commands use, and its errors
are shown next to the field they name.
"""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from storage.users import MIN_PASSWORD_LENGTH, ROLES

from .steps import options

ROLE_CHOICES = options([(role, role) for role in ROLES])
# Werkzeug hashes the whole password; a bound stops a megabyte-long one from tying up a worker.
MAX_PASSWORD_LENGTH = 1024


class CreateUserForm(FlaskForm):
    """A new account with its first password."""

    email = EmailField("E-mail", validators=[DataRequired("Enter an e-mail address."), Length(max=254)])
    name = StringField("Name", description="Shown in the header; defaults to the part of the e-mail before @.",
                       validators=[Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="submitter")
    password = PasswordField("Initial password", description=f"At least {MIN_PASSWORD_LENGTH} characters.",
                             validators=[DataRequired("Enter a password."), Length(max=MAX_PASSWORD_LENGTH)])


class RoleForm(FlaskForm):
    """Give a user another role."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class PasswordForm(FlaskForm):
    """Set a new password for a user."""

    password = PasswordField("New password", description=f"At least {MIN_PASSWORD_LENGTH} characters.",
                             validators=[DataRequired("Enter a password."), Length(max=MAX_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat the new password",
                            validators=[EqualTo("password", "The two passwords differ.")])


class ConfirmForm(FlaskForm):
    """A button with nothing to fill in (deactivate, reactivate, reload): the form carries the CSRF token."""


class UploadPackForm(FlaskForm):
    """A new policy pack file."""

    pack = FileField("Pack file (.toml)", description="Its id must match the file name and be new; it is checked "
                                                      "with the loaded packs before it is saved.",
                     validators=[FileRequired("Choose a pack file.")])
