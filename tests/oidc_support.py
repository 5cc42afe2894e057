"""A real OpenID Connect provider for the single sign-on tests: ``oidc-provider-mock`` in a process of its own.

It listens on a free loopback port (uvicorn binds port 0 and logs the one it got), signs ID tokens with its own
RSA key, and accepts any client id and secret. A test chooses who signs in: ``set_user`` stores a subject's
claims through the mock's API, and its authorize page (or :meth:`OidcProvider.authorize`) signs that subject in.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench.live_server import LiveServer, stop_group

CLIENT_ID = "usecase-intake"
CLIENT_SECRET = "test-client-secret"
ROLE_MAP = "intake-reviewers=reviewer,intake-admins=admin"
_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


class OidcProvider:
    """``python -m oidc_provider_mock`` on 127.0.0.1; ``issuer`` is its URL once started."""

    def __init__(self, folder):
        self.log_path = Path(folder) / "oidc-provider.log"
        self.process = None
        self.issuer = None

    def start(self, timeout=30):
        """Start the provider and wait until its discovery document answers; returns self."""
        self._log = open(self.log_path, "ab")  # handed to the child; closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", "0"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider-mock exited with {self.process.returncode}:\n{self.log()}")
            found = _LISTENING.search(self.log())
            if found:
                self.issuer = found.group(1)
                try:
                    if httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=5).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"oidc-provider-mock did not answer within {timeout} s:\n{self.log()}")

    def stop(self):
        stop_group(self.process)
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def set_user(self, sub, **claims):
        """Store the claims the provider gives ``sub`` from now on (replacing earlier ones)."""
        response = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def authorize(self, authorize_url, sub):
        """Sign ``sub`` in at the provider's authorize page, as its form does; returns where it redirects."""
        response = httpx.post(authorize_url, data={"sub": sub}, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def token_for(self, client_id, sub, nonce, redirect_uri="http://127.0.0.1/cb"):
        """A real token response (ID token included) that the provider issued to ``client_id`` for ``sub``."""
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                 "scope": "openid email profile", "state": "s", "nonce": nonce}
        authorize_url = str(httpx.URL(f"{self.issuer}/oauth2/authorize", params=query))
        code = parse_qs(urlsplit(self.authorize(authorize_url, sub)).query)["code"][0]
        response = httpx.post(f"{self.issuer}/oauth2/token", timeout=10,
                              data={"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": redirect_uri, "client_id": client_id,
                                    "client_secret": "any"})
        assert response.status_code == 200, response.text
        return response.json()


def sso_settings(issuer, **overrides):
    """The app settings for single sign-on with the provider at ``issuer`` (roles from the ``groups`` claim)."""
    return {"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_PROVIDER_NAME": "Mock IdP", "OIDC_ROLE_CLAIM": "groups", "OIDC_ROLE_MAP": ROLE_MAP,
            **overrides}


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """One provider process for the session; killed at the end."""
    provider = OidcProvider(tmp_path_factory.mktemp("oidc")).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def sso_live_server(tmp_path_factory, oidc_provider):
    """The service under gunicorn with single sign-on through ``oidc_provider`` and password sign-in off."""
    env = {f"INTAKE_{key}": value for key, value in sso_settings(oidc_provider.issuer).items()}
    env.update({"INTAKE_OIDC_AUTO_CREATE": "true", "INTAKE_PASSWORD_LOGIN": "false"})
    server = LiveServer(tmp_path_factory.mktemp("sso-live"), fake_model=True, env=env).start()
    yield server
    server.kill()
