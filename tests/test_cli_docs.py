"""docs/cli.md says what ``runbridge --help`` says: the same commands, options and exit codes.

The options are read from the help each command prints (what a user sees), and the
documentation from its Markdown: a command's usage block (the ``runbridge <command>``
lines of the first code block of its section) must name every option of the command
and none it lacks; option tables and every ``--option`` anywhere must exist.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import attrs
import pytest

from runbridge.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")

REFUSED = frozenset({"--token"})
"""Options the parser knows only to refuse them, which the help hides and the docs explain."""


@attrs.frozen
class Help:
    """What ``runbridge <command> --help`` lists, by section."""

    own: frozenset[str]
    """The command's options (``options:``), without ``--help``."""
    common: frozenset[str]
    """The global options it takes (``global options ...:``)."""


@cache
def help_text(*command: str) -> str:
    capture = _Capture()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "100")
        patch.setattr("sys.stdout", capture)
        assert main([*command, "--help"]) == 0
    return capture.text


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def sections(text: str) -> dict[str, list[str]]:
    """The lines of each section of a help text, by heading (``options``, ``exit codes``)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = found.setdefault(line[:-1], [])
        elif line.strip():
            current.append(line)
    return found


def options_in(lines: list[str]) -> frozenset[str]:
    """The long options of the option lines (``  -i KEY=VALUE, --input KEY=VALUE  help``)."""
    invocations = [re.split(r"\s{2,}", line.strip())[0] for line in lines if line[:3] == "  -"]
    return frozenset(f for text in invocations for f in FLAG.findall(text)) - {"--help"}


def commands() -> list[str]:
    """The commands ``runbridge --help`` lists."""
    listed = sections(help_text())["positional arguments"]
    return [m[1] for line in listed if (m := re.match(r"^    ([a-z][a-z-]*)(\s{2,}|$)", line))]


def help_of(command: str) -> Help:
    parts = sections(help_text(command))
    (common,) = [lines for title, lines in parts.items() if title.startswith("global options")]
    return Help(options_in(parts["options"]), options_in(common))


# -- the Markdown ------------------------------------------------------------------------


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def doc_sections() -> dict[str, str]:
    """The text of each ``### name`` section, by command (``### pause, resume``: both)."""
    found: dict[str, str] = {}
    for block in re.split(r"^### ", doc(), flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        body = re.split(r"^## ", body, flags=re.M)[0]
        for name in heading.split(","):
            found[name.strip()] = body
    return found


def usage(section: str) -> dict[str, set[str]]:
    """The options each ``runbridge <command>`` line of a section's first code block names."""
    block = re.search(r"^```\w*\n(.*?)^```", section, flags=re.M | re.S)
    assert block, "no usage block"
    statements: list[str] = []
    for line in block[1].splitlines():
        if line.startswith("runbridge "):
            statements.append(line)
        elif statements:
            statements[-1] += " " + line
    named: dict[str, set[str]] = {}
    for statement in statements:
        words = [w for w in statement.split()[1:] if not w.startswith(("-", "["))]
        named.setdefault(words[0], set()).update(FLAG.findall(statement))
    return named


def table(section: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose first header cell is ``first_header``."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def option_rows(section: str) -> list[set[str]]:
    """The options the first cell of each row of a section's ``| option |`` tables names."""
    rows: list[set[str]] = []
    inside = False
    for line in section.splitlines():
        if line.startswith("| option |"):
            inside = True
        elif not line.startswith("|"):
            inside = False
        elif inside and not line.startswith("|---"):
            rows.append(set(FLAG.findall(line.split("|")[1])))
    return rows


# -- the tests ---------------------------------------------------------------------------


def test_every_command_has_a_section_and_a_row() -> None:
    listed = commands()
    assert {"create", "emulate", "listen", "demo"} <= set(listed)
    assert set(listed) <= set(doc_sections()), "commands without a '### command' section"
    rows = {re.sub(r"[`\[\]]|\(.*\)", "", row[0]) for row in table(doc(), "command")}
    assert rows == set(listed), "the table of commands at the top"


@pytest.mark.parametrize("command", commands())
def test_the_usage_block_names_every_option_and_no_other(command: str) -> None:
    options = help_of(command)
    section = doc_sections()[command]
    named = usage(section).get(command)
    assert named is not None, f"no 'runbridge {command} ...' line in its usage block"
    assert sorted(options.own - named) == [], "options --help lists that the usage lacks"
    assert sorted(named - options.own - options.common) == [], "options the parser lacks"
    for row in option_rows(section):
        assert sorted(row - options.own - options.common) == [], "a row of its option table"


def test_the_global_options_table_lists_every_global_option() -> None:
    common = help_of("get").common
    section = doc().split("## Choosing the provider", 1)[1]
    documented = {f for row in table(section, "global option") for f in FLAG.findall(row[0])}
    assert documented == set(common)


def test_every_option_the_docs_name_exists() -> None:
    known = set(REFUSED) | {"--version", "--help"}
    for command in commands():
        options = help_of(command)
        known |= options.own | options.common
    assert sorted(set(FLAG.findall(doc())) - known) == []


def test_the_exit_codes_agree_with_the_epilog() -> None:
    listed = sections(help_text())["exit codes"]
    epilog = dict(m.groups() for line in listed if (m := re.match(r"^  (\d+)\s+(.*)$", line)))
    assert len(epilog) >= 6
    documented = {row[0]: row[1] for row in table(doc(), "code")}
    assert list(documented) == list(epilog)
    for code, meaning in epilog.items():
        head = meaning.split(" (")[0]
        assert documented[code].startswith(head), (code, head, documented[code])
    for command in commands():  # every command's help ends with the same list
        assert sections(help_text(command))["exit codes"] == listed[: len(epilog)]
