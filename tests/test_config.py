import re
from pathlib import Path

from app import create_app
from config import Config

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_every_setting_is_documented():
    page = CONFIGURATION.read_text()
    keys = [k for k in dir(Config) if k.isupper()]
    assert keys
    for key in keys:
        assert f"`INTAKE_{key}`" in page, f"INTAKE_{key} is not in docs/configuration.md"


def test_every_server_setting_is_documented():
    page = CONFIGURATION.read_text()
    names = set(re.findall(r"INTAKE_[A-Z_]+", (ROOT / "gunicorn.conf.py").read_text()))
    assert "INTAKE_BIND" in names
    for name in names:
        assert f"`{name}`" in page, f"{name} (gunicorn.conf.py) is not in docs/configuration.md"


def test_environment_overrides_defaults(monkeypatch, tmp_path, fake_classifier):
    monkeypatch.setenv("INTAKE_DATABASE", str(tmp_path / "env.db"))
    monkeypatch.setenv("INTAKE_MAX_DESCRIPTION_CHARS", "500")
    app = create_app({"CLASSIFIER": fake_classifier})
    assert app.config["DATABASE"] == str(tmp_path / "env.db")
    assert app.config["MAX_DESCRIPTION_CHARS"] == 500


def test_secret_key_is_generated_once_and_kept(tmp_path, fake_classifier):
    first = create_app({"CLASSIFIER": fake_classifier, "DATABASE": str(tmp_path / "a.db")})
    second = create_app({"CLASSIFIER": fake_classifier, "DATABASE": str(tmp_path / "a.db")})
    key = first.config["SECRET_KEY"]
    assert key and len(key) >= 32 and key == second.config["SECRET_KEY"]
    path = Path(first.instance_path) / "secret_key"
    assert path.stat().st_mode & 0o077 == 0


def test_commands_outside_flask_read_the_settings_as_the_app_does(monkeypatch, tmp_path, fake_classifier):
    """python -m classifier and bench/ read every INTAKE_* setting, parsed, through the same loader as the app."""
    from classifier.cli import settings

    monkeypatch.setenv("INTAKE_SIMILAR_CASES_SCAN", "7")
    monkeypatch.setenv("INTAKE_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("INTAKE_MODEL_DIR", "elsewhere/models")
    outside = settings()
    app = create_app({"CLASSIFIER": fake_classifier, "DATABASE": str(tmp_path / "a.db")})
    for key in [k for k in dir(Config) if k.isupper() and k not in ("SECRET_KEY", "WEBHOOK_SECRETS_KEY", "DATABASE")]:
        assert outside[key] == app.config[key], key
    assert outside["SIMILAR_CASES_SCAN"] == 7 and outside["WEBHOOK_ALLOW_HTTP"] is True
    assert outside["MODEL_DIR"] == str(Path(__file__).resolve().parent.parent / "elsewhere/models")
