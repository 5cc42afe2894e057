import json
import os

import pytest

from app import create_app
from classifier.predictor import Classifier
from storage import get_db, migrate
from storage.users import create_user
from tests.fakes import FakeEmbedder

os.environ["HF_HUB_OFFLINE"] = "1"

PASSWORD = "correct horse battery"

# A small labelled set the fake embedder separates cleanly: each label has its own keywords.
_TOPICS = {
    "legal": "a lawyer reviews the contract before court",
    "healthcare": "the doctor sees each patient symptom and diagnosis",
    "insurance": "insurance claim underwriting for each policyholder",
    "finance": "loan and credit decisions on a mortgage",
    "employment_housing": "hiring decisions on each resume and candidate",
    "education_testing": "admissions exam grading and certification",
    "media": "news article headline to publish",
    None: "a calendar that formats meeting notes",
}
_PROHIBITED = {"cyber_malicious": "build ransomware and malware", "fraud_scams_spam": "send phishing scam messages"}


def tiny_examples():
    """Deterministic examples covering every label the fake embedder knows."""
    examples, n = [], 0
    for domain, topic in _TOPICS.items():
        for audience, who in (("consumer", "for customers and the public"), ("business", "for internal staff")):
            for variant in range(4):
                chatbot = variant == 1
                minors = variant == 2 and audience == "consumer"
                text = f"Product {n}: {topic} {who}."
                if chatbot:
                    text += " It is a conversational chatbot assistant."
                if minors:
                    text += " Kids and teenagers use it."
                examples.append(
                    {"id": f"t{n}", "text": text, "domains": [domain] if domain else [], "audience": audience,
                     "prohibited": None, "chatbot": chatbot, "minors": minors}
                )
                n += 1
    for category, what in _PROHIBITED.items():
        for variant in range(6):
            examples.append(
                {"id": f"t{n}", "text": f"Tool {n} to {what} at scale for people, run {variant}.", "domains": [],
                 "audience": "consumer", "prohibited": category, "chatbot": False, "minors": False}
            )
            n += 1
    return examples


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "examples.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in tiny_examples()))
    return path


@pytest.fixture(scope="session")
def fake_classifier():
    return Classifier.train(tiny_examples(), FakeEmbedder())


@pytest.fixture
def app(tmp_path, tiny_data, fake_classifier):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "t.db"),
            "WTF_CSRF_ENABLED": False,
            "TRAINING_DATA": str(tiny_data),
            "MODEL_DIR": str(tmp_path / "models"),
            "EMBEDDER": FakeEmbedder(),
            "CLASSIFIER": fake_classifier,
        }
    )
    with app.app_context():
        migrate(get_db())
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def users(app):
    """One user per role, all with the same password."""
    with app.app_context():
        db = get_db()
        roles = ("submitter", "reviewer", "admin")
        return {role: create_user(db, f"{role}@example.com", PASSWORD, role) for role in roles}


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email="submitter@example.com", password=PASSWORD):
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client, users):
    return AuthActions(client)


@pytest.fixture(scope="session")
def real_embedder():
    from classifier.embedders import MiniLMEmbedder

    return MiniLMEmbedder().load()
