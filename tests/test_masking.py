"""Masking personal data in free text before it is stored or logged."""

import json
import logging
from pathlib import Path

import pytest

from storage.masking import MaskingFilter, mask


@pytest.mark.parametrize(("text", "masked"), [
    ("write to jane.doe+x@mail.example.co.uk today", "write to [email redacted] today"),
    ("call +44 20 7946 0958", "call [phone ending 958]"),
    ("call (555) 123-4567 now", "call [phone ending 567] now"),
    ("card 4111 1111 1111 1111 expired", "card [card ending 1111] expired"),
    ("card 4111-1111-1111-1111", "card [card ending 1111]"),
    ("card 4111111111111111", "card [card ending 1111]"),
    ("on 2025-09-15 for 40 users in 2026, 20,000 characters", "on 2025-09-15 for 40 users in 2026, 20,000 characters"),
    ("", ""),
    (None, None),
])
def test_mask(text, masked):
    assert mask(text) == masked


def test_the_app_logger_masks_messages(app, caplog):
    app.logger.propagate = True
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        app.logger.warning("user %s called from %s", "jane@example.com", "+1 555 123 4567")
    assert "jane@example.com" not in caplog.text
    assert "user [email redacted] called from [phone ending 567]" in caplog.text


def test_filter_keeps_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a@b.example", None, None)
    assert MaskingFilter().filter(record) and record.getMessage() == "[email redacted]"


MIB = 1024 * 1024
# Inputs that made the old e-mail pattern backtrack over the rest of the text at every position.
WORST_CASES = {
    "letters": "a" * MIB,
    "dots": "a." * (MIB // 2),
    "digits": "1" * MIB,
    "at_then_letters": "@" + "a" * MIB,
    "long_local_part": "a" * (MIB // 2) + "@" + "b." * (MIB // 4),
    "many_ats": "a@" * (MIB // 2),
    "phone_like": "1-" * (MIB // 2),
}


@pytest.mark.parametrize("text", WORST_CASES.values(), ids=list(WORST_CASES))
def test_masking_a_mebibyte_takes_linear_time(text):
    # A child process with a deadline: a quadratic pattern would run for hours and cannot be interrupted
    # by a signal while the regex engine runs.
    import subprocess
    import sys

    code = ("import sys; from storage.masking import mask; text = sys.stdin.read(); mask(text)")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], input=text, text=True, timeout=20, cwd=root,
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("text", "masked"), [
    ("a" * 64 + "@example.com", "[email redacted]"),
    ("(jane@example.org)", "([email redacted])"),
])
def test_mask_bounds_the_parts_of_an_address(text, masked):
    assert mask(text) == masked


PII = "Call Jane on +44 20 7946 0958 or jane.doe@example.com about our eviction-law chatbot for tenants."
RAW = ("jane.doe@example.com", "7946 0958", "+44 20")


def test_api_cases_are_masked_before_classification_so_nothing_stored_or_sent_is_raw(app, client, users):
    from tests.api_support import bearer, make_token, new_case

    token = make_token(app)
    created = client.post("/api/v1/cases", json=new_case(description=PII, title="Helper for jane@example.com"),
                          headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]
    texts = [created.data.decode(), client.get(f"/api/v1/cases/{case_id}", headers=bearer(token)).data.decode()]
    with app.app_context():
        from storage import get_db

        db = get_db()
        texts += [json.dumps(row) for row in db["cases"].rows]
        texts += [row["payload"] for row in db["webhook_events"].rows]
    reviewer = app.test_client()
    reviewer.post("/auth/login", data={"email": "reviewer@example.com", "password": "correct horse battery"})
    texts += [reviewer.get(f"/review/cases/{case_id}").data.decode(),
              reviewer.get(f"/review/cases/{case_id}/evidence.json").data.decode()]
    for text in texts:
        for raw in RAW + ("jane@example.com",):
            assert raw not in text
    assert "[email redacted]" in texts[1]


def test_every_logger_masks_messages_and_tracebacks(app, caplog):
    other = logging.getLogger("api.delivery")
    with caplog.at_level(logging.INFO):
        other.warning("failed for %s", "jane@example.com")
        try:
            raise RuntimeError(f"bad input {PII}")
        except RuntimeError:
            logging.getLogger("werkzeug").exception("boom")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "failed for [email redacted]" in caplog.text
    for raw in RAW:
        assert raw not in text
    assert "RuntimeError" in text


def test_digits_inside_a_word_are_not_a_phone_number():
    assert mask("model 0123456789ab, call 0123456789") == "model 0123456789ab, call [phone ending 789]"
