"""The gunicorn settings file: how each worker's inference threads are chosen."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("gunicorn_settings", Path(__file__).parent.parent / "gunicorn.conf.py")
settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(settings)


@pytest.mark.parametrize(("cores", "workers", "setting", "threads"), [
    (2, 2, None, 1), (8, 2, None, 4), (2, 1, None, 2), (3, 2, None, 1), (1, 4, None, 1), (None, 2, None, 1),
    (2, 2, "3", 3), (2, 2, "", 1), (2, 2, "0", 1),
])
def test_inference_threads_split_the_cores_unless_set(cores, workers, setting, threads):
    assert settings.inference_threads(cores, workers, setting) == threads



@pytest.mark.parametrize(("bind", "secure", "refused"), [
    ("127.0.0.1:5000", False, False), ("localhost:5000", False, False), ("[::1]:5000", False, False),
    ("unix:/run/intake.sock", False, False), ("0.0.0.0:5000", False, True), ("10.0.0.5:80", False, True),
    ("0.0.0.0:5000", True, False),
])
def test_serving_off_this_machine_needs_secure_cookies(bind, secure, refused):
    assert bool(settings.insecure_bind(bind, secure)) is refused
