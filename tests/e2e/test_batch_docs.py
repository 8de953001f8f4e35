"""docs/batches.md's first example, as written: its worker module and its enqueue script run against a
real store, and a real ``sidequest run`` performs the jobs and the callbacks, on every store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import sidequest
from processes import SRC, SidequestProcess, wait_for
from sidequest.client import Client
from sidequest.stores import open_store

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_first_batches_example_runs_as_written(store_url: str, tmp_path: Path) -> None:
    module, script = re.findall(r"```python\n(.*?)```", (DOCS / "batches.md").read_text(), re.S)[:2]
    (tmp_path / "app" / "workers").mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "workers" / "__init__.py").write_text("")
    (tmp_path / "app" / "workers" / "import_rows.py").write_text(module)
    (tmp_path / "start.py").write_text(script)
    env = {**os.environ, "SIDEQUEST_URL": store_url, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(SRC)])}
    started = subprocess.run(
        [sys.executable, "start.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0, started.stderr
    bid = started.stdout.splitlines()[0]
    assert "total=1000, pending=1000" in started.stdout
    proc = SidequestProcess(store_url, tmp_path, ["-r", "app.workers.import_rows", "-c", "10"])
    store = open_store(store_url)
    try:
        wait_for(
            lambda: (s := sidequest.Batch.status(bid, Client(store))) is not None and s.succeeded,
            90,
            "the batch to succeed",
        )
        wait_for(lambda: "user 7: 1000 rows imported" in proc.output(), 30, "the success callback's line")
    finally:
        assert proc.terminate() == 0
        store.close()
    assert "rows failed" not in proc.output()
