"""docs/testing.md covers what runbridge gives application tests, and the README links it.

That its examples run as written is ``tests/test_testing_guide_examples.py``'s job;
here: every fixture and marker of the pytest plugin is in the guide's table, and every
helper of ``runbridge.testing`` meant for application tests is explained.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import runbridge.testing
from runbridge.testing import fixtures

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "testing.md"

FOR_ADAPTER_AUTHORS_OR_PROCESSES = {
    "HostedEmulator",  # docs/scale-out.md: an emulator in a process of its own
    "HostedState",
    "RawClient",  # emulator tests over plain HTTP (docs/adapter-authoring.md)
    "RawResponse",
    "raw_client",
    "testing_options",  # the options the helpers use; reliability.md
}


def _table_rows() -> set[str]:
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split("| Fixture / marker |", 1)[1].split("\n\n", 1)[0]
    return {m[1] for m in re.finditer(r"^\| `@?(?:pytest\.mark\.)?(\w+)", table, re.M)}


def test_every_fixture_of_the_plugin_is_in_the_guides_table() -> None:
    plugin_fixtures = {name for name in vars(fixtures) if name.startswith("runbridge_")}
    assert {"runbridge_client", "runbridge_events"} <= plugin_fixtures
    markers = {fixtures.CLOCK_MARKER, fixtures.PROVIDERS_MARKER}
    assert plugin_fixtures | markers <= _table_rows()


@pytest.mark.parametrize(
    "name", sorted(set(runbridge.testing.__all__) - FOR_ADAPTER_AUTHORS_OR_PROCESSES)
)
def test_every_application_helper_is_explained(name: str) -> None:
    assert f"`runbridge.testing.{name}" in GUIDE.read_text(encoding="utf-8")


def test_the_readme_links_the_guide() -> None:
    assert "(docs/testing.md)" in (ROOT / "README.md").read_text()
