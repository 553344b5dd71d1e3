"""docs/testing.md quotes its examples from tests/test_app_testing.py verbatim, and the
README links the guide."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "testing.md"
_QUOTED = re.compile(r"<!-- quote: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)^```", re.S | re.M)


def test_the_guide_quotes_the_tests_verbatim() -> None:
    quotes = list(_QUOTED.finditer(GUIDE.read_text()))
    assert len(quotes) >= 6
    for match in quotes:
        source = (ROOT / match["path"]).read_text()
        for piece in match["code"].split("\n\n\n"):
            assert piece.strip() in source, f"no longer in {match['path']}:\n{piece}"


def test_every_python_block_of_the_guide_is_a_quote() -> None:
    text = GUIDE.read_text()
    assert text.count("```python") == len(_QUOTED.findall(text))


def test_the_readme_links_the_guide() -> None:
    assert "(docs/testing.md)" in (ROOT / "README.md").read_text()
