import json
import os

import pytest
from sqlite_utils import Database

from app import create_app
from bench.live_server import PASSWORD
from classifier.predictor import Classifier
from storage import cases, get_db, migrate
from storage.users import create_user
from tests.api_support import make_token
from tests.fakes import FakeEmbedder, tiny_examples

os.environ["HF_HUB_OFFLINE"] = "1"



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
            # The webhook tests' receivers listen on 127.0.0.1.
            "WEBHOOK_ALLOW_LOOPBACK": True,
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


def sign_in(client, email="submitter@example.com", password=PASSWORD, address=None):
    """Post the sign-in form: the one sign-in helper. ``address`` is the client's IP (default 127.0.0.1)."""
    environ = {"environ_base": {"REMOTE_ADDR": address}} if address else {}
    return client.post("/auth/login", data={"email": email, "password": password}, **environ)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email="submitter@example.com", password=PASSWORD, address=None):
        return sign_in(self._client, email, password, address)

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client, users):
    return AuthActions(client)


@pytest.fixture
def signed_in(client, auth):
    """The test client, signed in as the submitter."""
    auth.login()
    return client


@pytest.fixture
def token(app):
    """A fresh API token with every scope."""
    return make_token(app)


@pytest.fixture
def memory_db():
    """An empty in-memory database with every migration applied, outside any app."""
    db = Database(memory=True)
    migrate(db)
    return db


def get_record(app, case_id):
    """A case's full record, as the web pages read it."""
    with app.app_context():
        return cases.get_record(get_db(), case_id)


@pytest.fixture(scope="session")
def real_embedder():
    from classifier.embedders import MiniLMEmbedder

    return MiniLMEmbedder().load()


@pytest.fixture(scope="session")
def served_embedder(tmp_path_factory):
    """all-MiniLM-L6-v2 as the service runs it: exported to int8 ONNX and read by ONNX Runtime."""
    from classifier.export import export
    from classifier.onnx_embedder import OnnxEmbedder

    embedder = OnnxEmbedder(tmp_path_factory.mktemp("models"), precision="int8")
    export(embedder, echo=lambda message: None)
    return embedder.load()


# The browser tests' fixtures (live server, Chromium, signed-in visitors), defined once for the session.
pytest_plugins = ["tests.browser_support", "tests.oidc_support"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``rep_setup``, ``rep_call``) so fixtures can see a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
