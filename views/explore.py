"""The "Try the classifier" page: paste a description, see labels, explanation and verdicts."""

from flask import Blueprint, render_template

import rules
from classifier.embedders import ModelMissingError
from classifier.predictor import ModelFileError
from classifier.service import get_classifier
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
            result = get_classifier().classify(form.description.data)
        except (ModelFileError, ModelMissingError) as exc:
            return render_template("explore/index.html", form=form, unavailable=str(exc)), 503
        result.setdefault("possible_uses", rules.possible_uses(form.description.data))
        facts = rules.build_facts(result)
        assessment = rules.assess(facts, packs=rules.get_packs())
    return render_template("explore/index.html", form=form, result=result, facts=facts, assessment=assessment)
