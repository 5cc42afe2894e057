"""One form per step of the intake wizard; the order and the conditions live in forms/wizard.py."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from classifier.labels import DOMAINS
from classifier.text import DescriptionError, clean_text


def options(pairs):
    """``(value, label)`` pairs as the choices WTForms expects."""
    return [SelectChoice(value, label) for value, label in pairs]


YES_NO = options([("yes", "Yes"), ("no", "No")])
YES_NO_UNSURE = options([("yes", "Yes"), ("no", "No"), ("unsure", "Not sure: let the classifier judge")])
MIN_DESCRIPTION = 40


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; works without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choose(what):
    # DataRequired, not InputRequired: saved drafts are re-validated from data, without form input.
    return DataRequired(message=f"Choose {what}.")


class ProductForm(FlaskForm):
    """Step 1: what the product is and how it reaches the model."""

    name = StringField("Product name", validators=[DataRequired("Give the product a name."), Length(max=200)])
    team = StringField("Team", validators=[DataRequired("Name the team that builds it."), Length(max=200)])
    owner_email = EmailField("Owner's e-mail", validators=[DataRequired("Who answers questions about it?"),
                                                           Email(check_deliverability=False), Length(max=254)])
    vendors = MultiCheckboxField("Model vendors used", choices=options([("anthropic", "Anthropic"),
                                                                   ("openai", "OpenAI")]),
                                 validators=[DataRequired("Choose at least one vendor.")])
    access_path = RadioField("How it reaches the model", validators=[_choose("how it reaches the model")],
                             choices=options([("api_commercial", "API or a commercial (business) plan"),
                                      ("consumer_plan", "A consumer plan (Free, Pro, Max, Plus)")]))


class DescriptionForm(FlaskForm):
    """Step 2: the use case in the team's own words."""

    description = TextAreaField(
        "Describe the use case",
        validators=[DataRequired("Describe the use case.")],
        description="What the product does, who uses it and what the model's output is used for: does it give "
                    "advice, make or inform decisions about people, talk to customers, publish anything? Name the "
                    "field (legal, health, insurance, finance, hiring or housing, education, news). "
                    f"At least {MIN_DESCRIPTION} characters.",
    )

    def validate_description(self, field):
        limit = current_app.config["MAX_DESCRIPTION_CHARS"]
        text = (field.data or "").strip()
        if len(text) < MIN_DESCRIPTION:
            raise ValidationError(f"Too short: write at least {MIN_DESCRIPTION} characters ({len(text)} so far).")
        if len(text) > limit:
            raise ValidationError(f"Too long: at most {limit:,} characters ({len(text):,} given).")
        try:
            clean_text(text, limit)
        except DescriptionError as exc:
            raise ValidationError(str(exc)) from None


class UsersForm(FlaskForm):
    """Step 3: who uses it and how they interact with it."""

    end_users = RadioField("Who are the end users?", validators=[_choose("who the end users are")],
                           choices=options([("public", "The public or consumers"), ("business", "Business customers"),
                                    ("employees", "Our employees only")]))
    chatbot = RadioField("Is it a chatbot or interactive agent that people talk to?", choices=YES_NO_UNSURE,
                         validators=[_choose("an answer")])
    minors = RadioField("Can people under 18 use it?", choices=YES_NO_UNSURE, validators=[_choose("an answer")])
    publishes_content_externally = RadioField("Does it publish generated content outside the company?",
                                              choices=YES_NO, validators=[_choose("an answer")])
    decisions_about_individuals = RadioField("Does it make or inform decisions about individual people?",
                                             choices=YES_NO, validators=[_choose("an answer")])
    simulates_real_person = RadioField("Does it simulate a real person?", choices=YES_NO,
                                       validators=[_choose("an answer")])


class DataForm(FlaskForm):
    """Step 4: data handled, actions taken and sensitive areas (which decide the follow-up questions)."""

    handles_personal_data = RadioField("Is customers' personal data sent to the model?", choices=YES_NO,
                                       validators=[_choose("an answer")])
    agentic_actions = MultiCheckboxField("Actions the model takes on its own",
                                         choices=options([("tools", "Calls tools or APIs"),
                                                  ("code_execution", "Runs code"),
                                                  ("computer_use", "Operates a computer or browser")]))
    areas = MultiCheckboxField("Does it touch any of these areas?",
                               choices=options([("law_enforcement", "Law enforcement"),
                                        ("security", "Security testing or tooling"),
                                        ("political", "Political content"),
                                        ("government", "Government decisions about people")]))


class FollowUpForm(FlaskForm):
    """Step 5: questions asked only when an earlier answer makes them relevant (see ``wizard.followups``)."""

    age_assurance = RadioField("Minors: how do you check users' age?", validators=[_choose("an answer")],
                               choices=options([("verified", "We verify age"),
                                                ("self_declared", "Users declare their age"),
                                        ("none", "We do not check")]))
    law_enforcement_use = RadioField("Law enforcement: what is it used for?", validators=[_choose("a use")],
                                     choices=options([("back_office", "Back-office work (translation, scheduling)"),
                                              ("missing_persons", "Finding missing persons"), ("other", "Other")]))
    security_testing_with_owner_consent = RadioField(
        "Security: do the owners of the systems tested consent?", choices=YES_NO, validators=[_choose("an answer")])
    political_content = RadioField("Political content: what for?", validators=[_choose("a purpose")],
                                   choices=options([("research_or_education", "Research or education"),
                                            ("campaigning", "Campaigning or lobbying")]))
    government_decisions = RadioField("Government: which decisions?", validators=[_choose("an answer")],
                                      choices=options([("public_assistance", "Public assistance or benefits"),
                                               ("migration_asylum", "Migration or asylum"), ("none", "Neither")]))
    person_consent = RadioField("Simulated person: did they give explicit consent?", choices=YES_NO,
                                validators=[_choose("an answer")])
    historical_public_figure = RadioField("Simulated person: is it a historical public figure?", choices=YES_NO,
                                          validators=[_choose("an answer")])
    qualified_human_review = RadioField("Advice or decisions: does a qualified professional (lawyer, financial "
                                        "adviser, decision-maker) review outputs before they reach people?",
                                        choices=YES_NO, validators=[_choose("an answer")])
    gambling = RadioField("Is it used for gambling or betting, or another activity with a high risk of financial "
                          "loss?", choices=YES_NO, validators=[_choose("an answer")])
    operates_critical_infrastructure = RadioField("Does it manage or operate critical infrastructure (energy, "
                                                  "transport, water)?", choices=YES_NO,
                                                  validators=[_choose("an answer")])
    military_use = RadioField("Is it for military or warfare use?", choices=YES_NO,
                              validators=[_choose("an answer")])
    dating_app = RadioField("Is it a dating app or dating service?", choices=YES_NO,
                            validators=[_choose("an answer")])
    biometric_identification = RadioField("Does it identify or assess people from biometric data (face, voice, "
                                          "fingerprint)?", choices=YES_NO, validators=[_choose("an answer")])
    protected_characteristics = RadioField("Does it classify people by protected characteristics (race, religion, "
                                           "sexual orientation, disability...)?", choices=YES_NO,
                                           validators=[_choose("an answer")])
    pseudo_pharmaceuticals = RadioField("Does it promote or sell pseudo-pharmaceuticals (miracle cures, unproven "
                                        "remedies)?", choices=YES_NO, validators=[_choose("an answer")])
    coordinated_inauthentic_behaviour = RadioField("Does it run or support networks of fake accounts or personas?",
                                                   choices=YES_NO, validators=[_choose("an answer")])
    diagnosis_or_treatment = RadioField("Health: does it tell people whether they have a condition, or how to cure "
                                        "or treat it?", choices=YES_NO, validators=[_choose("an answer")])
    life_threatening_triage = RadioField("Health: does it triage or handle life-threatening situations that need "
                                         "immediate attention?", choices=YES_NO, validators=[_choose("an answer")])


class CorrectionsForm(FlaskForm):
    """Step 6 (confirm, key "review"): correct what the classifier concluded."""

    domains = MultiCheckboxField("High-risk domains", choices=options([(d, d.replace("_", " ")) for d in DOMAINS]))
    audience = RadioField("Who receives the outputs", choices=options([("consumer", "Consumers or the public"),
                                                              ("business", "Businesses or staff only")]),
                          validators=[_choose("an audience")])
