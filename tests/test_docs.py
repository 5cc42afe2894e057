"""The generated parts of docs/ are current, and `make docs` regenerates every one of them."""

import re
import shutil
from pathlib import Path

import pytest
from cogapp import Cog

ROOT = Path(__file__).resolve().parent.parent
COGGED = sorted(p for p in (ROOT / "docs").glob("*.md") if re.search(r"^<!-- \[\[\[cog", p.read_text(), re.MULTILINE))


def cog_check(path, capsys):
    """Cog's exit status for ``--check`` on ``path`` (0: current, 5: would change), as `make test` runs it."""
    status = Cog().main(["cog", "-I", str(ROOT), "--check", str(path)])
    capsys.readouterr()
    return status


def test_the_rule_table_is_generated():
    assert ROOT / "docs" / "policies.md" in COGGED


@pytest.mark.parametrize("page", COGGED, ids=lambda p: p.name)
def test_generated_page_is_current(page, capsys):
    assert cog_check(page, capsys) == 0, f"{page.name} is stale: run make docs"


def test_make_docs_regenerates_every_generated_page():
    listed = re.search(r"^COGGED := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1).split()
    assert sorted(listed) == [str(p.relative_to(ROOT)) for p in COGGED]


def test_a_stale_rule_table_fails_the_check(tmp_path, capsys):
    page = tmp_path / "policies.md"
    shutil.copy(ROOT / "docs" / "policies.md", page)
    text = page.read_text()
    row = re.search(r"^\| `prohibited_child_safety` \|.*\n", text, re.MULTILINE).group(0)
    page.write_text(text.replace(row, "", 1))
    assert cog_check(page, capsys) == 5
