"""Properties of the intake wizard's forms: any input validates or names its field, and valid answers survive
the draft storage unchanged."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database
from werkzeug.datastructures import MultiDict

import rules
from forms import wizard
from storage import drafts, migrate
from storage.cases import get_record

# Every follow-up question applies to this draft, so the follow-up form shows all its fields.
ALL_FOLLOWUPS = {"users": {"minors": "yes", "simulates_real_person": "yes", "decisions_about_individuals": "yes"},
                 "data": {"areas": ["law_enforcement", "security", "political", "government"]},
                 "product": {"vendors": ["openai"]},
                 "description": {"description": (
                     "Sports betting tips, power grid dispatch for the army, a dating app with facial recognition "
                     "that infers users' religion, homeopathic remedies, sock puppet accounts, a symptom checker "
                     "and a suicide crisis line.")}}


def test_every_followup_question_is_shown_for_the_draft_that_makes_all_relevant():
    assert wizard.followups(ALL_FOLLOWUPS) == list(wizard.FOLLOWUPS)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def field_names(app, step):
    with app.test_request_context():
        return [f.name for f in step.make_form(ALL_FOLLOWUPS, meta={"csrf": False})]


@pytest.mark.parametrize("step", wizard.STEPS, ids=lambda s: s.name)
def test_any_text_in_any_field_validates_or_gives_field_errors(app, step):
    names = field_names(app, step)
    values = st.lists(st.text(max_size=300), max_size=3)

    @SETTINGS
    @given(posted=st.dictionaries(st.sampled_from(names), values))
    def check(posted):
        formdata = MultiDict([(name, value) for name, items in posted.items() for value in items])
        with app.test_request_context(method="POST", data=formdata):
            form = step.make_form(ALL_FOLLOWUPS, meta={"csrf": False})
            if form.validate():
                json.dumps(wizard.step_data(form))
            else:
                assert form.errors and set(form.errors) <= set(names)
                assert all(message and isinstance(message, str) for errors in form.errors.values()
                           for message in errors)

    check()


def choice(pairs):
    return st.sampled_from([c.value for c in pairs])


def choices_of(step_name, field):
    return wizard.BY_NAME[step_name].form.__dict__[field].kwargs["choices"]


def subset(pairs, min_size=0):
    values = [c.value for c in pairs]
    return st.lists(st.sampled_from(values), min_size=min_size, unique=True).map(
        lambda picked: [v for v in values if v in picked])


# Free text without digits or "@": those are masked on purpose (phone, card and e-mail numbers) before storage.
PLAIN = st.characters(exclude_categories=("Cs", "Nd"), exclude_characters="@")
LINE = st.text(PLAIN, min_size=1, max_size=200).filter(str.strip)
EMAIL = st.from_regex(r"[a-z]{1,12}\.?[a-z]{1,12}@[a-z]{2,12}\.(com|org|io)", fullmatch=True)
DESCRIPTION = st.text(PLAIN, min_size=40, max_size=600).filter(
    lambda t: len(t.strip()) >= 40 and any(ch.isalnum() for ch in t))


def step_strategies():
    product = st.fixed_dictionaries({
        "name": LINE, "team": LINE, "owner_email": EMAIL,
        "vendors": subset(choices_of("product", "vendors"), 1),
        "access_path": choice(choices_of("product", "access_path"))})
    users = st.fixed_dictionaries({name: choice(choices_of("users", name)) for name in (
        "end_users", "chatbot", "minors", "publishes_content_externally", "decisions_about_individuals",
        "simulates_real_person")})
    data = st.fixed_dictionaries({"handles_personal_data": choice(choices_of("data", "handles_personal_data")),
                                  "agentic_actions": subset(choices_of("data", "agentic_actions")),
                                  "areas": subset(choices_of("data", "areas"))})
    return product, st.fixed_dictionaries({"description": DESCRIPTION}), users, data


@SETTINGS
@given(parts=st.tuples(*step_strategies()), data=st.data())
def test_valid_answers_round_trip_through_the_draft_and_still_validate(app, parts, data):
    product, description, users, answers = parts
    intake = {"product": product, "description": description, "users": users, "data": answers}
    followups = {name: data.draw(choice(choices_of("followups", name)), label=name)
                 for name in wizard.followups(intake)}
    if followups:
        intake["followups"] = followups
    db = Database(memory=True)
    migrate(db)
    case_id = drafts.create_draft(db, {"id": 1, "email": "pm@example.com"}, "product", product, "description")
    for name in list(intake)[1:]:
        drafts.save_step(db, case_id, name, intake[name], wizard.neighbour(name, intake, 1))
    stored = get_record(db, case_id)
    assert stored["intake"] == intake
    assert stored["title"] == product["name"] and stored["description"] == description["description"]
    with app.test_request_context():
        assert wizard.incomplete_step(stored["intake"]) is None
    facts = rules.build_facts(None, wizard.answers(stored["intake"]))
    assert facts["vendors"]["value"] == product["vendors"]
