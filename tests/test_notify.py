"""E-mail notifications against a real SMTP server (aiosmtpd on a loopback port): who gets what, once; retries
through an outage; the digest; the settings page; the SLA on the queue and dashboard; and no e-mail at all
when none is configured."""

import datetime
import re
import smtplib
import sqlite3
import time
import urllib.parse

import pytest

from app import create_app
from notify import outbox as sender
from notify.smtp import failure as smtp_failure
from notify.worker import NotifyWorker, worker_enabled
from storage import get_db
from storage import notifications as outbox
from storage.cases import add_comment, set_state
from tests.api_support import bearer, make_token, new_case
from tests.conftest import get_record
from tests.intake_support import DESCRIPTION, submit
from tests.smtp_support import SmtpServer

PUBLIC = "https://intake.example.com"
SUBMITTER, REVIEWER, ADMIN = "submitter@example.com", "reviewer@example.com", "admin@example.com"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail(app, smtp, users):
    """The app sending to the test SMTP server; returns the server."""
    app.config.update(smtp.settings(), PUBLIC_URL=PUBLIC)
    return smtp


def run(app, now=None):
    with app.app_context():
        return sender.run_once(get_db(), app.config, now)


def rows(app, sql="select * from notifications order by id", args=()):
    with app.app_context():
        return list(get_db().query(sql, list(args)))


def _version(app, case_id):
    return get_record(app, case_id)["version"]


def act(client, app, case_id, action, **data):
    response = client.post(f"/review/cases/{case_id}/{action}", data={"version": _version(app, case_id), **data})
    assert response.status_code == 302, response.data.decode()[:2000]


def submitted_case(client, auth):
    """A case the submitter sent through the wizard; the client is then signed in as the reviewer."""
    auth.login()
    case_id = submit(client)
    auth.logout()
    auth.login(REVIEWER)
    return case_id


def test_a_submitted_case_emails_each_reviewer_and_admin_once(app, client, auth, mail):
    case_id = submitted_case(client, auth)
    assert run(app)["sent"] == 2
    assert mail.recipients() == [ADMIN, REVIEWER]
    message = mail.to(REVIEWER)[0]
    assert message["Subject"] == f"[Intake] Case {case_id} was submitted for review: Contract helper"
    assert message["From"] == "intake@example.com" and message["X-Intake-Case"] == str(case_id)
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    link = f"{PUBLIC}/review/cases/{case_id}"
    assert link in body
    # The link opens the case for the reviewer it was sent to.
    assert client.get(urllib.parse.urlsplit(link).path).status_code == 200
    # Nothing more goes out on later passes.
    assert run(app)["sent"] == 0 and len(mail.messages) == 2


def test_no_message_carries_description_text(app, client, auth, mail):
    case_id = submitted_case(client, auth)
    add_comment_as(app, case_id, "Is the lawyer in house?", REVIEWER)
    act(client, app, case_id, "assign")
    act(client, app, case_id, "approve")
    run(app)
    assert len(mail.messages) == 4  # reviewer and admin, the comment and the decision to the submitter
    words = {w for w in re.findall(r"[a-z]{5,}", DESCRIPTION.lower())} - {"contract"}  # "Contract helper"
    for item in mail.messages:
        text = (item["message"]["Subject"] + item["message"].get_content()).lower()
        assert DESCRIPTION.lower() not in text
        assert not [w for w in words if w in text], text
        assert "in house" not in text  # nor the comment


def add_comment_as(app, case_id, body, email):
    with app.app_context():
        db = get_db()
        user = db.execute("select id from users where email = ?", [email]).fetchone()
        add_comment(db, case_id, body, email, user_id=user[0] if user else None)


@pytest.mark.parametrize(("action", "data", "subject"), [
    ("approve", {}, "was approved"),
    ("reject", {"reason": "Too risky."}, "was rejected"),
    ("request-changes", {"message": "Say who reads the answers."},
     "was sent back to you: the reviewer asks for changes"),
])
def test_a_decision_emails_the_submitter_once(app, client, auth, mail, action, data, subject):
    case_id = submitted_case(client, auth)
    run(app)
    act(client, app, case_id, "assign")  # moving into review e-mails nobody
    assert run(app)["sent"] == 0
    act(client, app, case_id, action, **data)
    assert run(app)["sent"] == 1
    [message] = mail.to(SUBMITTER)
    assert message["Subject"] == f"[Intake] Case {case_id} {subject}: Contract helper"
    assert "Decisions on your cases are always e-mailed" in message.get_content()
    for text in data.values():
        assert text not in message.get_content()
    assert mail.recipients().count(SUBMITTER) == 1


def test_a_resubmitted_case_emails_only_its_reviewer(app, client, auth, mail):
    case_id = submitted_case(client, auth)
    act(client, app, case_id, "assign")
    act(client, app, case_id, "request-changes", message="More detail.")
    run(app)
    before = len(mail.messages)
    with app.app_context():
        set_state(get_db(), case_id, "submitted", SUBMITTER)
    run(app)
    assert [m["to"] for m in mail.messages[before:]] == [[REVIEWER]]


def test_a_comment_emails_the_other_side_only(app, client, auth, mail):
    case_id = submitted_case(client, auth)
    run(app)
    start = len(mail.messages)
    response = client.post(f"/review/cases/{case_id}/comment", data={"body": "Who reads the answers?"})
    assert response.status_code == 302
    run(app)
    assert [m["to"] for m in mail.messages[start:]] == [[SUBMITTER]]
    subject = mail.messages[-1]["message"]["Subject"]
    assert subject.startswith(f"[Intake] Case {case_id} has a new comment from a reviewer")
    # The submitter answers: nobody holds the case yet, so every reviewer and admin hears of it.
    start = len(mail.messages)
    add_comment_as(app, case_id, "Only staff.", SUBMITTER)
    run(app)
    assert sorted(r for m in mail.messages[start:] for r in m["to"]) == [ADMIN, REVIEWER]
    # Once a reviewer holds it, only they do.
    act(client, app, case_id, "assign")
    start = len(mail.messages)
    add_comment_as(app, case_id, "And contractors.", SUBMITTER)
    run(app)
    assert [m["to"] for m in mail.messages[start:]] == [[REVIEWER]]


def test_an_api_case_carries_its_ticket_key_and_a_masked_title(app, client, mail):
    token = make_token(app)
    body = new_case("JIRA-4242", title="Helper for jane.doe@corp.example and +44 20 7946 0958",
                    submitter_email=SUBMITTER)
    response = client.post("/api/v1/cases", json=body, headers=bearer(token))
    assert response.status_code == 201, response.json
    case_id = response.json["id"]
    run(app)
    [message] = mail.to(REVIEWER)
    assert message["Subject"] == (f"[Intake] Case {case_id} was submitted for review: Helper for [email redacted] "
                                  "and [phone ending 958] (JIRA-4242)")
    assert "Ticket: JIRA-4242" in message.get_content()
    assert "jane.doe" not in message.as_string() and "7946" not in message.as_string()
    # A comment through the API from the ticketing system reaches the submitter with the key too.
    response = client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "Ping"}, headers=bearer(token))
    assert response.status_code == 201
    run(app)
    [comment] = mail.to(SUBMITTER)
    assert "(JIRA-4242)" in comment["Subject"] and "Ticket: JIRA-4242" in comment.get_content()


def test_opted_out_emails_are_not_sent_but_decisions_are(app, client, auth, mail, users):
    auth.login(REVIEWER)
    response = client.post("/settings/notifications", data={"comment": "y"})  # submissions and digest off
    assert response.status_code == 302
    auth.logout()
    auth.login()
    assert client.post("/settings/notifications", data={}).status_code == 302  # comments off
    case_id = submit(client)
    auth.logout()
    auth.login(REVIEWER)
    run(app)
    assert mail.recipients() == [ADMIN]
    add_comment_as(app, case_id, "A question.", REVIEWER)
    act(client, app, case_id, "assign")
    act(client, app, case_id, "reject", reason="No.")
    run(app)
    assert mail.recipients() == [ADMIN, SUBMITTER]
    assert "was rejected" in mail.to(SUBMITTER)[0]["Subject"]
    with app.app_context():
        settings = outbox.get_settings(get_db(), users["reviewer"]["id"])
    assert settings == {"submitted": False, "comment": True, "digest": False}


def _age(app, case_id, days):
    when = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)).isoformat(timespec="seconds")
    with app.app_context():
        get_db().execute("update cases set submitted_at = ? where id = ?", [when, case_id])


def test_the_digest_lists_only_cases_over_the_sla_once_a_day(app, client, auth, runner, mail):
    old, recent = submitted_case(client, auth), None
    auth.logout()
    auth.login()
    recent = submit(client)
    _age(app, old, 6.5)
    _age(app, recent, 2)
    run(app)  # the submission e-mails
    start = len(mail.messages)
    result = runner.invoke(args=["notify", "digest"])
    assert result.exit_code == 0, result.output
    assert "1 cases wait longer than 5 days; queued 2 digests" in result.output
    assert runner.invoke(args=["notify", "send"]).exit_code == 0
    digests = mail.messages[start:]
    assert sorted(r for m in digests for r in m["to"]) == [ADMIN, REVIEWER]
    body = digests[0]["message"].get_content()
    assert f"{PUBLIC}/review/cases/{old}" in body and "waiting 6 days 12 h (SLA 5 days)" in body
    assert f"/review/cases/{recent}" not in body
    # Again the same day, by the command or a sending thread: nothing more.
    assert "queued 0 digests" in runner.invoke(args=["notify", "digest"]).output
    with app.app_context():
        assert sender.enqueue_digest(get_db(), app.config)[0] == 0
    run(app)
    assert len(mail.messages) == start + 2
    # The next day brings the next digest.
    with app.app_context():
        tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
        assert sender.enqueue_digest(get_db(), app.config, tomorrow)[0] == 2


def test_no_digest_without_a_case_over_the_sla_and_none_for_who_opted_out(app, client, auth, runner, mail):
    case_id = submitted_case(client, auth)
    run(app)
    start = len(mail.messages)
    assert "0 cases wait longer" in runner.invoke(args=["notify", "digest"]).output
    _age(app, case_id, 10)
    assert client.post("/settings/notifications", data={"submitted": "y", "comment": "y"}).status_code == 302
    assert "queued 1 digests" in runner.invoke(args=["notify", "digest"]).output
    run(app)
    assert [m["to"] for m in mail.messages[start:]] == [[ADMIN]]


def test_the_sending_thread_queues_the_digest_from_its_hour_once_a_day(app):
    worker = NotifyWorker({**app.config, "NOTIFY_DIGEST_HOUR": 8})
    morning = datetime.datetime(2026, 11, 27, 7, 59, tzinfo=datetime.UTC)
    assert worker.digest_due(morning) is None
    assert worker.digest_due(morning.replace(hour=8)) == morning.date()
    worker.digest_day = morning.date()
    assert worker.digest_due(morning.replace(hour=23)) is None
    assert worker.digest_due(morning + datetime.timedelta(days=1, hours=1)) == datetime.date(2026, 11, 28)


def test_an_outage_is_retried_with_backoff_and_sent_once_when_the_server_returns(app, client, auth, mail):
    mail.stop()
    case_id = submitted_case(client, auth)
    t0 = time.time()
    assert run(app, now=t0) == {"sent": 0, "failed_attempts": 2, "given_up": 0}
    pending = rows(app)
    assert [r["attempts"] for r in pending] == [1, 1] and {r["next_attempt_ts"] for r in pending} == {t0 + 30}
    assert "could not be reached" in pending[0]["last_error"]
    # Not due before the backoff runs out; the next failure doubles it.
    assert run(app, now=t0 + 29)["failed_attempts"] == 0
    assert run(app, now=t0 + 30)["failed_attempts"] == 2
    assert {r["next_attempt_ts"] for r in rows(app)} == {t0 + 30 + 60}
    mail.start()
    assert run(app, now=t0 + 89)["sent"] == 0 and mail.messages == []
    assert run(app, now=t0 + 90)["sent"] == 2
    assert run(app, now=t0 + 10_000)["sent"] == 0
    assert mail.recipients() == [ADMIN, REVIEWER]
    assert all(f"Case {case_id}" in m["message"]["Subject"] for m in mail.messages)
    assert [(r["status"], r["attempts"]) for r in rows(app)] == [("sent", 3), ("sent", 3)]


def test_a_refused_recipient_is_not_retried_and_others_still_get_theirs(app, client, auth, mail):
    mail.handler.refuse.add(ADMIN)
    submitted_case(client, auth)
    assert run(app) == {"sent": 1, "failed_attempts": 1, "given_up": 1}
    status = {r["recipient"]: (r["status"], r["last_error"]) for r in rows(app)}
    assert status[ADMIN] == ("failed", "Recipient refused (SMTP 550).") and status[REVIEWER][0] == "sent"


def test_an_email_failing_past_the_give_up_age_is_marked_failed(app, client, auth, mail):
    mail.stop()
    submitted_case(client, auth)
    run(app)
    created = rows(app)[0]["created_ts"]
    assert run(app, now=created + 48 * 3600)["given_up"] == 2
    assert {r["status"] for r in rows(app)} == {"failed"}


def test_recipients_are_queued_at_the_commit_and_a_second_fan_out_queues_nothing(app, client, auth, mail):
    submitted_case(client, auth)
    assert [r["recipient"] for r in rows(app)] == [ADMIN, REVIEWER]  # before any sending pass
    with app.app_context():
        db = get_db()
        db.execute("update notification_events set fanned_out = 0")  # as if the marking had been lost
        assert sender.fan_out(db, app.config) == 1
    assert len(rows(app)) == 2
    run(app)
    assert mail.recipients() == [ADMIN, REVIEWER]


def test_an_event_whose_fan_out_failed_after_the_commit_is_sent_by_the_next_pass(app, client, auth, mail,
                                                                                   monkeypatch):
    def locked(db, config):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(sender, "fan_out", locked)
    case_id = submitted_case(client, auth)
    monkeypatch.undo()
    assert rows(app) == [] and rows(app, "select case_id, fanned_out from notification_events") == [
        {"case_id": case_id, "fanned_out": 0}]
    assert run(app)["sent"] == 2
    assert mail.recipients() == [ADMIN, REVIEWER]


def test_the_settings_page_is_in_the_nav_and_says_when_email_is_off(app, client, auth):
    auth.login()
    page = client.get("/").data.decode()
    assert 'href="/settings/notifications"' in page
    page = client.get("/settings/notifications").data.decode()
    assert "E-mail is not configured on this server" in page
    # A submitter is offered comments only: submissions and digests go to reviewers.
    assert 'name="comment"' in page and 'name="submitted"' not in page and 'name="digest"' not in page
    assert "approved, rejected or sent back for changes" in page
    app.config["SMTP_HOST"] = "mail.example.com"
    assert "E-mail is not configured" not in client.get("/settings/notifications").data.decode()


def test_the_settings_form_needs_its_csrf_token(tmp_path, tiny_data, fake_classifier):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "c.db"), "TRAINING_DATA": str(tiny_data),
                      "MODEL_DIR": str(tmp_path / "models"), "CLASSIFIER": fake_classifier})
    from storage import migrate
    from storage.users import create_user
    from tests.conftest import PASSWORD

    with app.app_context():
        migrate(get_db())
        user = create_user(get_db(), REVIEWER, PASSWORD, "reviewer")
    client = app.test_client()
    hidden = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    token = hidden.search(client.get("/auth/login").data.decode()).group(1)
    assert client.post("/auth/login", data={"email": REVIEWER, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
    refused = client.post("/settings/notifications", data={"comment": "y"})
    assert refused.status_code == 400
    with app.app_context():
        assert outbox.get_settings(get_db(), user["id"]) == {"submitted": True, "comment": True, "digest": True}
    token = hidden.search(client.get("/settings/notifications").data.decode()).group(1)
    saved = client.post("/settings/notifications", data={"comment": "y", "csrf_token": token})
    assert saved.status_code == 302
    with app.app_context():
        assert outbox.get_settings(get_db(), user["id"]) == {"submitted": False, "comment": True, "digest": False}
        assert get_db().execute("select count(*) from audit where action = 'notification_settings'").fetchone()[0] == 1


def test_without_smtp_nothing_is_queued_and_no_thread_runs(app, client, auth, runner, users):
    assert not app.config["SMTP_HOST"]
    case_id = submitted_case(client, auth)
    add_comment_as(app, case_id, "A question.", REVIEWER)
    act(client, app, case_id, "assign")
    act(client, app, case_id, "approve")
    assert rows(app, "select * from notification_events") == [] and rows(app) == []
    app.testing = False
    assert not worker_enabled(app)
    app.config["NOTIFY_WORKER"] = True
    assert not worker_enabled(app)
    result = runner.invoke(args=["notify", "digest"])
    assert result.exit_code != 0 and "E-mail is not configured: set INTAKE_SMTP_HOST." in result.output


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("SMTP_SECURITY", "tls", "INTAKE_SMTP_SECURITY is 'tls'; use one of starttls, ssl, none."),
    ("SMTP_PORT", "smtp", "INTAKE_SMTP_PORT is 'smtp'; use a TCP port number."),
    ("SMTP_FROM", "intake", "INTAKE_SMTP_FROM is 'intake'; use an e-mail address."),
    ("REVIEW_SLA_DAYS", "five", "INTAKE_REVIEW_SLA_DAYS is 'five'; use a positive number of days."),
    ("REVIEW_SLA_DAYS", 0, "INTAKE_REVIEW_SLA_DAYS is 0; use a positive number of days."),
])
def test_bad_settings_are_refused_at_start_naming_the_setting(tmp_path, fake_classifier, setting, value, message):
    with pytest.raises(ValueError) as refused:
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "s.db"), "CLASSIFIER": fake_classifier,
                    "SMTP_HOST": "mail.example.com", setting: value})
    assert str(refused.value) == message


def test_queue_and_dashboard_show_the_wait_against_the_sla(app, client, auth):
    late = submitted_case(client, auth)
    auth.logout()
    auth.login()
    fresh = submit(client)
    auth.logout()
    auth.login(REVIEWER)
    _age(app, late, 6.25)
    for path in ("/review/", "/review/dashboard"):
        page = client.get(path).data.decode()
        assert re.search(r'<td class="over-sla">6 days 6 h \(SLA 5 days\) <strong>over SLA</strong></td>', page), path
        row = page[page.index(f"/review/cases/{fresh}"):]
        row = row[:row.index("</tr>")]
        assert "(SLA 5 days)</td>" in row and "over SLA" not in row, path
    app.config["REVIEW_SLA_DAYS"] = 7
    assert "over SLA" not in client.get("/review/").data.decode()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_sender_signs_in_to_an_smtp_server_that_requires_it(app, client, auth, users):
    server = SmtpServer(login=("intake", "123456")).start()
    try:
        app.config.update(server.settings(), SMTP_USERNAME="intake", SMTP_PASSWORD=123456)  # as JSON from the env
        submitted_case(client, auth)
        assert run(app)["sent"] == 2
        assert server.recipients() == [ADMIN, REVIEWER] and server.logins == [("intake", "123456")]
    finally:
        server.stop()


@pytest.mark.parametrize(("exc", "expected"), [
    (smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"no")}), ("Recipient refused (SMTP 550).", True, False)),
    (smtplib.SMTPRecipientsRefused({"a@x.org": (450, b"later")}), ("Recipient refused (SMTP 450).", False, False)),
    (smtplib.SMTPDataError(554, b"spam"), ("Message refused (SMTP 554).", True, False)),
    (smtplib.SMTPDataError(451, b"later"), ("Message refused (SMTP 451).", False, False)),
    (smtplib.SMTPAuthenticationError(535, b"no"),
     ("SMTP sign-in refused (535): check INTAKE_SMTP_USERNAME and _PASSWORD.", False, True)),
    (smtplib.SMTPServerDisconnected("gone"),
     ("Connection failed: the SMTP server could not be reached or closed the connection.", False, True)),
    (TimeoutError(), ("Timed out talking to the SMTP server.", False, True)),
])
def test_only_a_5xx_refusal_of_the_message_or_recipient_is_final(exc, expected):
    assert smtp_failure(exc) == expected
