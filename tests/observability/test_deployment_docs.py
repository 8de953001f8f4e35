"""Every ``sidequest`` command line in the deployment and metrics pages names a command and options that
exist (a unit file that copies a misspelt option fails at 3 a.m.), and the grace periods they set match
the ``-t`` they pass."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest

from sidequest.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["deployment.md", "metrics-and-tracing.md"]
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL)


def command_lines(text: str) -> list[list[str]]:
    """The arguments after ``sidequest`` of every invocation in the page's code blocks: shell lines
    (continued with ``\\``), Procfile and systemd lines, and JSON/YAML arrays (Dockerfile, manifests)."""
    found: list[list[str]] = []
    for block in FENCE.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        joined = re.sub(r"\[([^\]]*)\]", lambda m: m.group(0).replace("\n", " "), joined)
        for line in joined.splitlines():
            if "sidequest" not in line:
                continue
            array = re.search(r"\[(\"sidequest\"[^\]]*)\]", line)
            if array:
                words = json.loads(f"[{array.group(1)}]")
            else:
                try:
                    words = shlex.split(line.split(" #", 1)[0], comments=False)
                except ValueError:
                    continue
            for index, word in enumerate(words):
                if (
                    word.endswith("sidequest")
                    and index + 1 < len(words)
                    and words[index + 1] in main.commands
                ):
                    found.append(words[index + 1 :])
    return found


def options_of(command: click.Command) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)} | {
        "-h",
        "--help",
    }


@pytest.mark.parametrize("page", PAGES)
def test_every_command_line_in_the_page_uses_options_that_exist(page: str) -> None:
    lines = command_lines((DOCS / page).read_text())
    assert len(lines) >= 3, lines
    for words in lines:
        command = main.commands[words[0]]
        known = options_of(command)
        for word in words[1:]:
            if word.startswith("-") and not word.lstrip("-").isdigit():
                assert word.split("=", 1)[0] in known, f"{page}: sidequest {words[0]} has no option {word}"


def test_the_grace_periods_of_the_deployment_units_match_their_shutdown_timeout() -> None:
    text = (DOCS / "deployment.md").read_text()
    assert "TimeoutStopSec=30" in text and "KillSignal=SIGTERM" in text
    assert "terminationGracePeriodSeconds: 30" in text
    for words in command_lines(text):
        if words[0] == "run":
            assert "-t" not in words or words[words.index("-t") + 1] == "25", words


def test_the_tracing_snippet_for_tests_runs_as_written() -> None:
    text = (DOCS / "metrics-and-tracing.md").read_text()
    section = text[text.index("### In tests") :]
    snippet = section[section.index("```python\n") + len("```python\n") : section.index("```\n", 10)]
    exec(compile(snippet, "metrics-and-tracing.md", "exec"), {"__name__": "docs_snippet"})
