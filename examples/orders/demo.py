"""The recipe come alive: confirmation emails for a shop's orders, sent by background jobs.

    make demo                                  # from the repository root
    .venv/bin/python examples/orders/demo.py [--orders 5000] [--concurrency 10] [--workdir DIR]

What it does, in order:

1. makes a fresh work directory (``examples/orders/.demo/``) holding three SQLite files: the shop's
   orders, the email provider's records, and the job store ``jobs.db``;
2. seeds orders: most confirmed and never notified, some already notified, some pending or cancelled,
   and some confirmed in the last six hours (the recipe's sweep leaves those for a later pass);
3. calls ``OrderConfirmationWorker.perform_async()`` - enqueue mode - and schedules a
   ``ReportProgressWorker`` with ``perform_in``;
4. starts a real ``sidequest run`` process, prints progress every second until every order the sweep
   picked is notified, then stops it with SIGTERM (a graceful shutdown, exit code 0);
5. checks the result and prints a summary. Exit code 0 when everything checks out, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so `import app` works however this file is started
    sys.path.insert(0, str(HERE))

from app import db, email_service  # noqa: E402
from app.workers import OrderConfirmationWorker, ReportProgressWorker  # noqa: E402

import sidequest  # noqa: E402
from sidequest.job import Counts  # noqa: E402
from sidequest.stores import open_store  # noqa: E402

MARKER = ".sidequest-demo"
"""A file that marks a directory as the demo's own, so a re-run may empty it."""
REPORT_DELAY = 5.0
"""Seconds after the enqueue at which the scheduled ReportProgressWorker job is due."""
STOP_GRACE = 40.0
"""How long to wait for ``sidequest run`` to exit after SIGTERM (its own deadline is ``-t 25``)."""


@dataclass(frozen=True, slots=True)
class Paths:
    """The files of one demo run."""

    workdir: Path

    @property
    def orders(self) -> Path:
        return self.workdir / "orders.db"

    @property
    def emails(self) -> Path:
        return self.workdir / "emails.db"

    @property
    def jobs_url(self) -> str:
        return f"sqlite:///{self.workdir / 'jobs.db'}"

    @property
    def log(self) -> Path:
        return self.workdir / "sidequest.log"

    @property
    def summary(self) -> Path:
        return self.workdir / "summary.json"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Progress at one moment."""

    notified: int
    emails: int
    reported: bool
    counts: Counts

    def line(self, elapsed: float, eligible: int) -> str:
        c = self.counts
        return (
            f"[{elapsed:5.1f}s] notified {self.notified:,}/{eligible:,}  emails sent {self.emails:,}  "
            f"| jobs: enqueued {c.enqueued:,}  retry {c.retry:,}  scheduled {c.scheduled:,}  "
            f"dead {c.dead:,}  processed {c.processed:,} ({c.failed:,} failed)"
        )

    def done(self, eligible: int) -> bool:
        c = self.counts
        settled = c.enqueued == 0 and c.retry == 0 and c.scheduled == 0
        return settled and self.reported and self.notified >= eligible and self.emails >= eligible


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Send order confirmations with sidequest (see the docstring)."
    )
    parser.add_argument("--orders", type=int, default=5000, help="orders to seed (default 5000)")
    parser.add_argument("--concurrency", type=int, default=10, help="sidequest run -c (default 10)")
    parser.add_argument("--workdir", type=Path, default=HERE / ".demo", help="where the files go")
    parser.add_argument("--timeout", type=float, default=90.0, help="give up after this many seconds")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the orders")
    return parser.parse_args(argv)


def fresh_workdir(workdir: Path) -> Paths:
    """Empty the work directory of an earlier run (never a directory the demo did not make)."""
    workdir = workdir.resolve()
    if workdir.exists():
        if any(workdir.iterdir()) and not (workdir / MARKER).exists():
            raise SystemExit(f"refusing to empty {workdir}: it is not a demo work directory (no {MARKER})")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).touch()
    return Paths(workdir)


def start_sidequest(paths: Paths, concurrency: int) -> subprocess.Popen[bytes]:
    """``sidequest run`` in the example's directory, its log in a file. The heartbeat is every second
    (instead of 5) so the processed/failed counts in the progress lines move smoothly."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "sidequest", "run",
        "--url", paths.jobs_url, "-r", "app.workers",
        "-q", "critical,2", "-q", "default", "-c", str(concurrency), "-t", "25",
        "--heartbeat-interval", "1",
    ]  # fmt: skip
    with open(paths.log, "wb") as log:
        return subprocess.Popen(command, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)


def snapshot(paths: Paths, started: float) -> Snapshot:
    notified, _ = db.count_notified(since=started)
    with db.connect(paths.orders) as conn:
        reported = conn.execute("SELECT count(*) FROM reports").fetchone()[0] > 0
    with open_store(paths.jobs_url) as store:
        counts = store.counts()
    return Snapshot(notified, email_service.stats(paths.emails).sent, reported, counts)


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then wait for the graceful shutdown; kill -9 only if it never comes."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -signal.SIGKILL


def checks(summary: dict[str, Any]) -> list[str]:
    """Everything that must hold after a run; each failure as a sentence."""
    problems = []
    if summary["orders_notified"] != summary["orders_to_notify"]:
        problems.append(f"{summary['orders_notified']} of {summary['orders_to_notify']} orders were notified")
    if summary["emails_sent"] != summary["orders_to_notify"]:
        problems.append(f"{summary['emails_sent']} emails sent for {summary['orders_to_notify']} orders")
    if summary["emails_sent_twice"]:
        problems.append(f"{summary['emails_sent_twice']} orders got their email twice")
    if summary["recent_left_alone"] != summary["recent_orders"]:
        problems.append("the sweep touched orders confirmed less than six hours ago")
    if summary["dead"]:
        problems.append(f"{summary['dead']} jobs ended in the dead set")
    if summary["exit_code"] != 0:
        problems.append(f"sidequest run exited with code {summary['exit_code']} after SIGTERM")
    if summary["report"] is None:
        problems.append("the scheduled ReportProgressWorker job never ran")
    return problems


def collect(
    paths: Paths, seeded: db.SeedSummary, eligible: int, started: float, **extra: Any
) -> dict[str, Any]:
    notified, _ = db.count_notified(since=started)
    mail = email_service.stats(paths.emails)
    with open_store(paths.jobs_url) as store:
        counts = store.counts()
    with db.connect(paths.orders) as conn:
        recent_left = conn.execute(
            "SELECT count(*) FROM orders WHERE status = ? AND notified_at IS NULL", (db.CONFIRMED,)
        ).fetchone()[0]
        row = conn.execute("SELECT scheduled_for, ran_at, notified, confirmed FROM reports").fetchone()
    report = None
    if row is not None:
        report = {"due_after": row[0] - started, "ran_after": row[1] - started, "notified": row[2]}
        report["confirmed"] = row[3]
    return {
        "orders": seeded.total,
        "seeded": asdict(seeded),
        "orders_to_notify": eligible,
        "orders_notified": notified,
        "recent_orders": seeded.recent,
        "recent_left_alone": recent_left,
        "emails_sent": mail.sent,
        "emails_sent_twice": mail.keys_sent_twice,
        "email_refused": mail.refused,
        "email_timeouts": mail.timeouts,
        "email_already_sent": mail.already_sent,
        "processed": counts.processed,
        "retries": counts.failed - counts.dead,
        "failed": counts.failed,
        "dead": counts.dead,
        "report": report,
        **extra,
    }


def print_summary(s: dict[str, Any]) -> None:
    print("\nSummary")
    print(f"  orders notified    {s['orders_notified']:,} of {s['orders_to_notify']:,} (each exactly once)")
    print(
        f"  left for later     {s['recent_left_alone']:,} confirmed in the last 6 hours (the recipe's window)"
    )
    print(f"  emails sent        {s['emails_sent']:,} ({s['emails_sent_twice']} orders emailed twice)")
    print(
        f"  retries            {s['retries']:,}: {s['email_refused']:,} refused connections, "
        f"{s['email_timeouts']:,} timeouts (their retries found the email already sent: "
        f"{s['email_already_sent']:,}); {s['dead']} dead"
    )
    report = s["report"]
    if report is not None:
        print(
            f"  scheduled job      ReportProgressWorker.perform_in({REPORT_DELAY:g}) due at "
            f"+{report['due_after']:.1f}s, ran at +{report['ran_after']:.1f}s and saw "
            f"{report['notified']:,} of {report['confirmed']:,} confirmed orders notified"
        )
    print(
        f"  jobs processed     {s['processed']:,}: 1 sweep, {s['orders_to_notify']:,} orders x 3 "
        f"(process, notify, mark_notified), {s['retries']:,} retries, 1 report"
    )
    print(
        f"  time taken         {s['seconds_to_done']:.1f}s from perform_async to the last order, "
        f"{s['seconds_total']:.1f}s including the graceful stop (exit code {s['exit_code']})"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    paths = fresh_workdir(args.workdir)
    # The workers find the shop's files through these, here and in the sidequest run process.
    os.environ[db.ORDERS_DB_ENV] = str(paths.orders)
    os.environ[email_service.EMAIL_DB_ENV] = str(paths.emails)
    db.create(paths.orders)
    email_service.create(paths.emails)
    seeded = db.seed(paths.orders, args.orders, random.Random(args.seed), time.time())
    print(
        f"Seeded {seeded.total:,} orders in {paths.orders}:\n  {seeded.eligible:,} confirmed and never "
        f"notified, {seeded.recent:,} confirmed in the last six hours, {seeded.already_notified:,} already "
        f"notified, {seeded.not_confirmed:,} pending or cancelled."
    )

    sidequest.configure(url=paths.jobs_url)
    started = time.time()
    eligible = db.count_to_notify(started - db.SETTLE_WINDOW)
    OrderConfirmationWorker.perform_async()  # enqueue mode: the job finds the orders itself
    ReportProgressWorker.perform_in(REPORT_DELAY, started + REPORT_DELAY)
    print(f"Enqueued OrderConfirmationWorker (enqueue mode) and, in {REPORT_DELAY:g}s, ReportProgressWorker.")
    print(f"Starting sidequest run -c {args.concurrency} on {paths.jobs_url} (log: {paths.log})\n")

    clock = time.monotonic()
    process = start_sidequest(paths, args.concurrency)
    try:
        while True:
            time.sleep(1.0)
            elapsed = time.monotonic() - clock
            now = snapshot(paths, started)
            print(now.line(elapsed, eligible), flush=True)
            if now.done(eligible):
                break
            if process.poll() is not None:
                print(f"\nsidequest run exited early with code {process.returncode}. Its log ends with:")
                print(tail(paths.log))
                return 1
            if elapsed > args.timeout:
                print(
                    f"\nTimed out after {args.timeout:g}s with {now.notified:,} of {eligible:,} orders "
                    f"notified. Stopping sidequest run; see {paths.log}"
                )
                stop(process)
                return 1
    except KeyboardInterrupt:
        print("\nInterrupted: stopping sidequest run gracefully")
        stop(process)
        return 130
    seconds_to_done = time.monotonic() - clock
    print("\nEvery order is notified: sending SIGTERM to sidequest run")
    code = stop(process)
    summary = collect(
        paths,
        seeded,
        eligible,
        started,
        exit_code=code,
        seconds_to_done=seconds_to_done,
        seconds_total=time.monotonic() - clock,
    )
    summary["problems"] = checks(summary)
    paths.summary.write_text(json.dumps(summary, indent=2) + "\n")
    print_summary(summary)
    if summary["problems"]:
        print("\nFAILED: " + "; ".join(summary["problems"]))
        return 1
    cli = Path(sys.executable).parent / "sidequest"
    print(f"\nOK. The files are in {paths.workdir}. Look at the job store with:")
    print(f"  {cli} stats --url {paths.jobs_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
