"""How the browser tests find Chromium (runs without a browser)."""

import pytest

from tests.browser_support import require_chromium


def test_a_missing_chromium_fails_at_once_saying_how_to_install_it(tmp_path):
    with pytest.raises(pytest.fail.Exception, match=r"Chromium is not installed at .*apt-get install chromium"):
        require_chromium(str(tmp_path / "chromium"))


def test_a_file_that_cannot_run_is_not_taken_for_chromium(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("not a program")
    with pytest.raises(pytest.fail.Exception, match="make test"):
        require_chromium(str(fake))

