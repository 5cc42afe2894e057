"""The "Try the classifier" form."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from classifier.text import DescriptionError, clean_text


class DescribeForm(FlaskForm):
    """One free-text description of an AI use case."""

    description = TextAreaField(
        "Describe the use case",
        validators=[DataRequired(message="Describe the use case: what it does, for whom, and with which model.")],
        description="What the product does, who uses it, what the model's output is used for.",
    )
    submit = SubmitField("Classify")

    def validate_description(self, field):
        try:
            clean_text(field.data or "", current_app.config["MAX_DESCRIPTION_CHARS"])
        except DescriptionError as exc:
            raise ValidationError(str(exc)) from None
