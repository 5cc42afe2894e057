"""docs/integrations.md, replayed: the Jira and ServiceNow request bodies and scripts are parsed out of the page
and run against the service under gunicorn over HTTP, and its webhooks go to real receiving servers that verify
them with the ``standardwebhooks`` library. The ServiceNow scripts run in Node.js with stand-ins for the Glide
APIs they call, written to ServiceNow's documented behaviour."""

import json
import re
import secrets
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from bench.live_server import ROOT, LiveServer, prepare_database
from storage import open_db
from storage.cases import set_state
from storage.tokens import create_token
from tests.hooks_support import VerifyingReceiver

DOC = ROOT / "docs" / "integrations.md"
MARKER = re.compile(r"^[ \t]*<!-- recipe: ([a-z0-9-]+) -->[ \t]*\n(?:[ \t]*\n)?([ \t]*)```[a-z]*\n(.*?)\n\2```",
                    re.MULTILINE | re.DOTALL)
SMART_VALUE = re.compile(r"\{\{([A-Za-z0-9_.]+)\}\}")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="the ServiceNow scripts run in Node.js")

# A Jira issue as the rule sees it: the values are what Jira renders for each smart value.
ISSUE = {"issue.summary": 'Contract "helper" for customers',
         "issue.description": "A chatbot for customers that gives legal advice about a contract before court.\n"
                              "Answers in French and German — reviewed weekly.",
         "issue.reporter.emailAddress": "pm@example.com"}


def recipes():
    """Every block marked ``<!-- recipe: name -->`` in docs/integrations.md, by name, dedented."""
    text = DOC.read_text()
    found = {}
    for name, _indent, block in MARKER.findall(text):
        assert name not in found, f"recipe {name} appears twice"
        found[name] = textwrap.dedent(block)
    return found


def render_jira(template, values):
    """Render Jira smart values as Jira does: ``.asJsonString`` gives a quoted JSON string; any smart value this
    test does not know fails, so the page cannot start reading one the test never supplies."""

    def value(match):
        name = match.group(1)
        if name.endswith(".asJsonString"):
            return json.dumps(values[name.removesuffix(".asJsonString")], ensure_ascii=False)
        return str(values[name])

    return SMART_VALUE.sub(value, template)


def lookup(data, dotted):
    """``data["a"]["b"]`` for ``"a.b"``; a KeyError names what is missing."""
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            raise KeyError(f"{dotted}: no {part!r}")
        data = data[part]
    return data


def render_data(template, root, data):
    """Render ``{{<root>.path}}`` smart values from ``data`` (null renders empty, as in Jira)."""
    names = SMART_VALUE.findall(template)
    assert names and all(n.startswith(root + ".") for n in names), names

    def value(match):
        found = lookup(data, match.group(1).removeprefix(root + "."))
        return "" if found is None else str(found)

    return SMART_VALUE.sub(value, template)


def header_lines(block, replace):
    """``Name: value`` lines of a headers block, with the placeholders in ``replace`` filled in."""
    headers = {}
    for line in block.splitlines():
        name, _, value = line.partition(":")
        for placeholder, actual in replace.items():
            value = value.replace(placeholder, actual)
        headers[name.strip()] = value.strip()
    return headers


def filled(text, replace):
    for placeholder, actual in replace.items():
        text = text.replace(placeholder, actual)
    assert not re.search(r"<[A-Za-z][^>]*>", text), f"a placeholder is left in {text}"
    return text


def run_node(harness, payload):
    result = subprocess.run([NODE, "-e", harness], input=json.dumps(payload), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


BUILD_BODY_HARNESS = """
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
var inputs = input.inputs, outputs = {};
eval(input.script);
process.stdout.write(JSON.stringify(outputs));
"""

# Stand-ins for the Glide APIs the resource script calls, as ServiceNow documents them: generateMac takes a
# base64 key and returns a base64 MAC; request.body.dataString is the body as text, readable once.
RECEIVE_HARNESS = """
const crypto = require('crypto');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const updates = [];
function GlideCertificateEncryption() {}
GlideCertificateEncryption.prototype.generateMac = function (key, algorithm, data) {
    if (algorithm !== 'HmacSHA256') throw new Error('unexpected algorithm ' + algorithm);
    return crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'utf8').digest('base64');
};
function GlideDateTime() {}
GlideDateTime.prototype.getNumericValue = function () { return input.now_ms; };
var gs = {getProperty: function (name) { return input.properties[name]; }};
function GlideRecord(table) { this._table = table; this._key = null; }
GlideRecord.prototype.get = function (field, value) {
    var found = (input.records[this._table] || []).some(function (r) { return r[field] === value; });
    this._key = found ? value : null;
    return found;
};
GlideRecord.prototype.update = function () {
    updates.push({table: this._table, number: this._key, work_notes: this.work_notes});
};
var headers = {};
Object.keys(input.headers).forEach(function (k) { headers[k.toLowerCase()] = input.headers[k]; });
var read = false;
var request = {getHeader: function (name) { return headers[name.toLowerCase()]; },
               body: {get dataString() { var first = !read; read = true; return first ? input.body : ''; }}};
var status = null;
var response = {setStatus: function (s) { status = s; }, setBody: function () {}};
eval(input.script);
process.stdout.write(JSON.stringify({status: status, updates: updates}));
"""


class Service:
    """The service under gunicorn with one token per ticketing system and a verifying receiver for each."""

    def __init__(self, folder):
        database = folder / "intake.db"
        prepare_database(database)
        db = open_db(str(database))
        # As docs/integrations.md creates them: each token limited to the cases it opens.
        self.jira_token, _ = create_token(db, "jira-prod", "cases:read cases:write webhooks", own_cases=True)
        self.now_token, _ = create_token(db, "servicenow-prod", "cases:read cases:write webhooks", own_cases=True)
        db.close()
        self.database = database
        self.server = LiveServer(folder, env={"INTAKE_WEBHOOK_ALLOW_LOOPBACK": "true",
                                              "INTAKE_WEBHOOK_POLL_SECONDS": "0.1"})
        self.jira = VerifyingReceiver(path="/automation/webhooks/jira/a/1f2e/3d4c")
        self.now = VerifyingReceiver()
        self.jira_secret = secrets.token_hex(20)

    def http(self):
        return httpx.Client(base_url=self.server.url, timeout=30)

    def set_state(self, case_id, state, note=None):
        """What a reviewer's action does to the case, on the service's database."""
        db = open_db(str(self.database))
        try:
            set_state(db, case_id, state, "reviewer@example.com", note=note)
        finally:
            db.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    service = Service(Path(tmp_path_factory.mktemp("integrations")))
    with service.server, service.jira, service.now:
        steps = recipes()
        with service.http() as http:
            jira_body = json.loads(filled(steps["jira-register-webhook"], {
                "<Jira webhook URL>": service.jira.url, "<Jira webhook secret>": service.jira_secret}))
            hook = http.post("/api/v1/webhooks", json=jira_body, headers={"Authorization":
                                                                          f"Bearer {service.jira_token}"})
            assert hook.status_code == 201, hook.text
            service.jira.trust(hook.json()["signing_secret"])
            now_body = json.loads(filled(steps["servicenow-register-webhook"], {
                "https://<instance>.service-now.com": service.now.base, "<scope>": "x_intake"}))
            hook = http.post("/api/v1/webhooks", json=now_body,
                             headers={"Authorization": f"Bearer {service.now_token}"})
            assert hook.status_code == 201, hook.text
            service.now.trust(hook.json()["signing_secret"])
            service.now_signing_secret = hook.json()["signing_secret"]
        yield service


def open_from_jira(service, key):
    """Run the Jira rule's Send web request action for issue ``key``; returns the response."""
    steps = recipes()
    values = {"issue.key": key, **ISSUE}
    body = render_jira(steps["jira-create-case"], values)
    headers = header_lines(render_jira(steps["jira-create-case-headers"], values),
                           {"<token>": service.jira_token})
    with service.http() as http:
        return http.post("/api/v1/cases", content=body.encode(), headers=headers)


def deliveries_for(receiver, case_id, count):
    """The first ``count`` deliveries ``receiver`` accepted for the case, in order."""
    mine = receiver.wait_until(lambda accepted: sum(d["payload"]["case"]["id"] == case_id
                                                    for d in accepted) >= count)
    return [d for d in mine if d["payload"]["case"]["id"] == case_id][:count]


def test_the_page_marks_every_recipe_the_tests_replay():
    assert set(recipes()) == {"jira-create-case-headers", "jira-create-case", "jira-create-comment",
                              "jira-comment-jql", "jira-comment", "jira-register-webhook",
                              "servicenow-build-body", "servicenow-rest-headers", "servicenow-receive-webhook",
                              "servicenow-register-webhook"}


def test_the_jira_send_web_request_opens_a_case_once(service):
    response = open_from_jira(service, "OPS-42")
    assert response.status_code == 201, response.text
    case = response.json()
    assert (case["external_ref"], case["title"], case["submitter_email"]) == \
        ("OPS-42", ISSUE["issue.summary"], ISSUE["issue.reporter.emailAddress"])
    assert "French and German — reviewed weekly" in case["description"]
    comment = render_data(recipes()["jira-create-comment"], "webhookResponse.body", case)
    assert f"case {case['id']}, risk tier {case['risk_tier']}, state submitted" in comment
    # The rule runs again for the same issue (label removed and added): the same case, not a second one.
    again = open_from_jira(service, "OPS-42")
    assert again.status_code == 200 and again.json()["id"] == case["id"]
    with service.http() as http:
        found = http.get("/api/v1/cases", params={"external_ref": "OPS-42"},
                         headers={"Authorization": f"Bearer {service.jira_token}"}).json()["items"]
    assert [c["id"] for c in found] == [case["id"]]


# Every path a case can take, so every state a delivery can announce is covered.
PATHS = [("in_review", "approved"), ("in_review", "rejected"), ("in_review", "changes_requested", "submitted")]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: "-".join(p))
def test_the_ticket_key_comes_back_in_every_delivery_and_the_jira_rule_finds_its_fields(service, path):
    key = f"OPS-{100 + PATHS.index(path)}"
    created = open_from_jira(service, key)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    for state in path:
        service.set_state(case_id, state, note="Keep the AI disclosure." if state == path[-1] else None)
    received = deliveries_for(service.jira, case_id, 1 + len(path))
    payloads = [d["payload"] for d in received]
    assert [p["to_state"] for p in payloads] == ["submitted", *path]
    assert {p["case"]["external_ref"] for p in payloads} == {key}
    # The secret appended to Jira's URL arrives as the last path segment.
    assert {d["path"] for d in received} == {f"/automation/webhooks/jira/a/1f2e/3d4c/{service.jira_secret}"}
    assert all(d["headers"]["webhook-id"] == d["payload"]["delivery_id"] for d in received)
    steps = recipes()
    for payload in payloads:
        assert render_data(steps["jira-comment-jql"], "webhookData", payload) == f'key = "{key}"'
        comment = render_data(steps["jira-comment"], "webhookData", payload)
        assert comment.startswith(f"Use-case review {payload['to_state']} by {payload['actor']} (case {case_id}")
    assert "Keep the AI disclosure." in render_data(steps["jira-comment"], "webhookData", payloads[-1])
    with service.http() as http:
        detail = http.get(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {service.jira_token}"})
    assert detail.json()["external_ref"] == key and detail.json()["state"] == path[-1]


def test_the_jira_rule_condition_picks_only_verdicts(service):
    # The Smart values condition's regular expression, as the page gives it, against every state we send.
    text = DOC.read_text()
    pattern = re.search(r"matches regular\s+expression\*, second value `([^`]+)`", text).group(1)
    verdicts = {s for s in ("submitted", "in_review", "approved", "rejected", "changes_requested")
                if re.fullmatch(pattern, s)}
    assert verdicts == {"approved", "rejected", "changes_requested"}


@needs_node
def test_the_servicenow_action_opens_a_case_and_its_resource_script_records_the_verdict(service):
    steps = recipes()
    number = "RITM0010001"
    inputs = {"number": number, "short_description": 'Contract "helper"',
              "description": ISSUE["issue.description"], "requester_email": "pm@example.com"}
    body = run_node(BUILD_BODY_HARNESS, {"script": steps["servicenow-build-body"], "inputs": inputs})["body"]
    headers = header_lines(steps["servicenow-rest-headers"], {"<token>": service.now_token, "[number]": number})
    with service.http() as http:
        created = http.post("/api/v1/cases", content=body.encode(), headers=headers)
        assert created.status_code == 201, created.text
        assert http.post("/api/v1/cases", content=body.encode(), headers=headers).json()["id"] == created.json()["id"]
    case_id = created.json()["id"]
    assert created.json()["external_ref"] == number
    service.set_state(case_id, "in_review")
    service.set_state(case_id, "approved", note="Approved with disclosure.")
    received = deliveries_for(service.now, case_id, 3)
    # What the page promises about dataString: the signed bytes are ASCII, so text and bytes agree.
    assert all(d["body"].isascii() for d in received)
    script = steps["servicenow-receive-webhook"]

    def receive(delivery, body=None, now=None):
        return run_node(RECEIVE_HARNESS, {
            "script": script, "headers": delivery["headers"], "body": (body or delivery["body"]).decode(),
            "now_ms": (now or time.time()) * 1000, "records": {"sc_req_item": [{"number": number}]},
            "properties": {"x_intake.webhook_signing_secret": service.now_signing_secret}})

    results = [receive(d) for d in received]
    assert [r["status"] for r in results] == [204, 204, 204]
    notes = [r["updates"][0]["work_notes"] for r in results]
    assert all(r["updates"][0]["number"] == number for r in results)
    assert notes[0].startswith(f"Use-case review: submitted (case {case_id}, risk tier ")
    assert notes[2].endswith(")\nApproved with disclosure.") and "approved" in notes[2]
    last = received[-1]
    assert receive(last, body=last["body"].replace(b"Approved", b"Rejected")) == {"status": 401, "updates": []}
    assert receive(last, now=time.time() + 3600) == {"status": 401, "updates": []}
