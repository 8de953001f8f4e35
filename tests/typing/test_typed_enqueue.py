"""Typed enqueue, checked by the real type checkers: mypy (strict) and pyright (strict) accept every
call of ``samples/passes.py`` and reject every marked call of ``samples/fails.py`` with the expected
error, as they would a direct call of ``perform`` (or of the ``@sidequest.job`` function)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent / "samples"
SRC = Path(__file__).resolve().parents[2] / "src"
EXPECTATION = re.compile(
    r"^\s*# mypy (?P<mypy_code>[\w-]+): (?P<mypy_text>.+?) \| pyright (?P<rule>\w+): (?P<text>.+)$"
)
MYPY_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*?)\s+\[(?P<code>[\w-]+)\]$")


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    code: str
    message: str


def expected_errors() -> dict[int, dict[str, tuple[str, str]]]:
    """Line of fails.py -> {"mypy": (code, text), "pyright": (rule, text)}, from the comment above it."""
    found: dict[int, dict[str, tuple[str, str]]] = {}
    lines = (SAMPLES / "fails.py").read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        match = EXPECTATION.search(line)
        if match:
            found[number + 1] = {
                "mypy": (match["mypy_code"], match["mypy_text"].strip()),
                "pyright": (match["rule"], match["text"].strip()),
            }
    return found


@pytest.fixture(scope="module")
def checked_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples, copied where no project configuration applies, with sidequest's sources first."""
    where = tmp_path_factory.mktemp("typing")
    for sample in SAMPLES.glob("*.py"):
        shutil.copy(sample, where / sample.name)
    (where / "mypy.ini").write_text(f"[mypy]\nstrict = True\nmypy_path = {SRC}\npython_version = 3.11\n")
    config = {"extraPaths": [str(SRC)], "typeCheckingMode": "strict", "pythonVersion": "3.11"}
    (where / "pyrightconfig.json").write_text(json.dumps(config))
    return where


@pytest.fixture(scope="module")
def mypy_errors(checked_dir: Path) -> list[Diagnostic]:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", ".mypy_cache", "."],
        cwd=checked_dir,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    errors = []
    for line in result.stdout.splitlines():
        match = MYPY_LINE.match(line)
        if match:
            file = Path(match["file"]).name
            errors.append(Diagnostic(file, int(match["line"]), match["code"], match["message"]))
    assert errors or result.returncode == 0, result.stdout
    return errors


@pytest.fixture(scope="module")
def pyright_errors(checked_dir: Path) -> list[Diagnostic]:
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent)) or "pyright"
    result = subprocess.run(
        [pyright, "--pythonpath", sys.executable, "--outputjson", "."],
        cwd=checked_dir,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report = json.loads(result.stdout)
    return [
        Diagnostic(
            Path(item["file"]).name, item["range"]["start"]["line"] + 1, item.get("rule", ""), item["message"]
        )
        for item in report["generalDiagnostics"]
        if item["severity"] == "error"
    ]


def test_mypy_strict_accepts_every_typed_enqueue_of_the_passing_sample(mypy_errors: list[Diagnostic]) -> None:
    assert [error for error in mypy_errors if error.file != "fails.py"] == []


def test_pyright_strict_accepts_every_typed_enqueue_of_the_passing_sample(
    pyright_errors: list[Diagnostic],
) -> None:
    assert [error for error in pyright_errors if error.file != "fails.py"] == []


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_each_checker_rejects_each_wrong_enqueue_on_its_line_with_the_expected_message(
    checker: str, request: pytest.FixtureRequest
) -> None:
    errors: list[Diagnostic] = request.getfixturevalue(f"{checker}_errors")
    expected = expected_errors()
    assert len(expected) >= 15
    in_fails = [error for error in errors if error.file == "fails.py"]
    unexpected = [error for error in in_fails if error.line not in expected]
    assert unexpected == []
    for line, wanted in expected.items():
        code, text = wanted[checker]
        on_line = [error for error in in_fails if error.line == line]
        assert any(error.code == code and text in error.message for error in on_line), (
            f"fails.py:{line}: {checker} should report [{code}] containing {text!r}; it reported {on_line}"
        )
