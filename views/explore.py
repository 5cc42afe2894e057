"""The "Try the classifier" page: paste a description, see labels, explanation and verdicts."""

from flask import Blueprint, render_template

from assessment import AssessmentError, ClassifierUnavailable, assess
from classifier.labels import PREDICTED_FACTS
from forms.explore import DescribeForm

from .throttle import check_classify

bp = Blueprint("explore", __name__, url_prefix="/try")


@bp.route("/", methods=("GET", "POST"))
def index():
    """Show the form; on a valid post, the classification and the per-vendor assessment."""
    form = DescribeForm()
    result = assessment = facts = None
    if form.validate_on_submit():
        check_classify()
        try:
            assessed = assess(form.description.data)
        except ClassifierUnavailable as exc:
            return render_template("explore/index.html", form=form, unavailable=exc.reason), 503
        except AssessmentError as exc:
            form.description.errors.append(exc.message)
            return render_template("explore/index.html", form=form), exc.status
        result, facts, assessment = assessed["classification"], assessed["facts"], assessed["assessment"]
    return render_template("explore/index.html", form=form, result=result, facts=facts, assessment=assessment,
                           label_fields=PREDICTED_FACTS)
