"""Start several Python child processes so they race: each prints "ready", waits for one line on
stdin, does its work and prints its results; every child hears "go" only once all are ready."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def race(script: str, argv_per_child: Sequence[Sequence[str]], timeout: float = 60) -> list[list[str]]:
    """Run ``script`` (``python -c``) once per argument list, released together; returns each child's
    whitespace-separated output. Fails the test if a child exits non-zero."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for argv in argv_per_child
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = []
    for child in children:
        out, _ = child.communicate(timeout=timeout)
        assert child.returncode == 0
        outputs.append(out.split())
    return outputs
