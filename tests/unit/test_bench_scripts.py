"""The benchmark scripts import against the current package: a refactor that moves a module breaks a
benchmark nobody runs in CI, so importing each one here is the cheap guard. A peer's own library (the
``bench`` extra: dramatiq, rq, celery, arq) may be missing; nothing of sidequest may be."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
PEER_LIBRARIES = {"arq", "celery", "dramatiq", "rq", "psutil"}


@pytest.mark.parametrize("script", sorted(path.stem for path in BENCH.glob("*.py")))
def test_a_benchmark_script_imports(script: str) -> None:
    src = BENCH.parent / "src"
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(BENCH)!r}, {str(src)!r}]\n"
        "try:\n"
        f"    import {script}\n"
        "except ModuleNotFoundError as exc:\n"
        f"    sys.exit(0 if exc.name in {sorted(PEER_LIBRARIES)!r} else f'missing {{exc.name}}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
