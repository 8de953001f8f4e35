"""The Redis benchmark's results and how they are printed: the table, sidequest's own rows, the targets."""

from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass, field
from typing import Any

PHASES = ("bulk", "drain", "single")

SCALE_FLOOR = 0.8
"""A scale case "has no slowdown" when it keeps at least this share of the empty case's rate; below
that is more than this shared 2-core machine's run-to-run noise."""

Phase = dict[str, Any]


def rate_of(result: Phase) -> float:
    """Jobs per second of one phase result."""
    return float(result["jobs"]) / float(result["seconds"])


@dataclass
class SystemRun:
    """One system's phase results over every round."""

    name: str
    label: str
    concurrency: str
    jobs: int
    results: dict[str, list[Phase]] = field(default_factory=lambda: {phase: [] for phase in PHASES})
    error: str = ""

    def add(self, phase: str, result: Phase) -> None:
        """Record one round's result of a phase."""
        self.results[phase].append(result)

    def best(self, phase: str) -> Phase | None:
        """The fastest round of a phase, None if it never ran."""
        done = [result for result in self.results[phase] if result.get("seconds")]
        return max(done, key=rate_of) if done else None

    def rate(self, phase: str) -> float | None:
        """Jobs per second of the fastest round of a phase."""
        best = self.best(phase)
        return None if best is None else rate_of(best)

    def peak_rss_mb(self) -> float | None:
        """The highest peak RSS of any drain round."""
        drains = self.results["drain"]
        return max(float(result["rss_mb"]) for result in drains) if drains else None

    def kind(self) -> str:
        """How the bulk phase enqueued."""
        bulks = self.results["bulk"]
        return str(bulks[0].get("kind", "-")) if bulks else "-"

    def summary(self) -> str:
        """One progress line: every round's rate of each phase."""
        parts = []
        for phase in PHASES:
            rates = "/".join(f"{rate_of(result):,.0f}" for result in self.results[phase])
            parts.append(f"{phase} {rates or '-'}")
        line = ", ".join(parts) + " jobs/s"
        return f"{line}; FAILED: {self.error}" if self.error else line


@dataclass
class Report:
    """Everything one benchmark run measured."""

    jobs: int
    single: int
    concurrency: int
    repeat: int
    versions: dict[str, str]
    load_before: tuple[float, float, float]
    skipped: list[str]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0
    runs: list[SystemRun] = field(default_factory=list)
    latency: Phase | None = None
    scale: Phase | None = None
    errors: list[str] = field(default_factory=list)
    pinned_single: dict[str, list[Phase]] = field(default_factory=dict)

    def pinned_rate(self, name: str) -> float | None:
        """Best one-CPU single-enqueue rate of a system, None if not measured."""
        results = self.pinned_single.get(name)
        return max(rate_of(result) for result in results) if results else None

    def run(self, name: str) -> SystemRun | None:
        """The run of a system, if it ran."""
        return next((run for run in self.runs if run.name == name), None)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def fmt_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}"


def fmt_ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table with padded columns (pastes into README.md and reads in a terminal)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|", *map(line, rows)]


def system_rows(report: Report) -> list[str]:
    sidekiq = report.run("sidekiq")
    base = {phase: sidekiq.rate(phase) if sidekiq else None for phase in PHASES}
    header = ["system", "bulk enqueue", "bulk jobs/s", "vs Sidekiq", "single jobs/s", "vs Sidekiq"]
    header += ["jobs drained", "drain jobs/s", "vs Sidekiq", "concurrency", "peak RSS draining"]
    rows = []
    for run in report.runs:
        rates = {phase: run.rate(phase) for phase in PHASES}
        peak = run.peak_rss_mb()
        rss = "-" if peak is None else f"{peak:.0f} MB"
        rows.append(
            [
                run.label,
                run.kind(),
                fmt_rate(rates["bulk"]),
                fmt_ratio(rates["bulk"], base["bulk"]),
                fmt_rate(rates["single"]),
                fmt_ratio(rates["single"], base["single"]),
                f"{run.jobs:,}",
                fmt_rate(rates["drain"]),
                fmt_ratio(rates["drain"], base["drain"]),
                run.concurrency,
                rss,
            ]
        )
    return table(header, rows)


def scale_rows(scale: Phase) -> list[str]:
    cases = scale["cases"]
    empty = cases["empty"]
    names = {
        "empty": "empty Redis",
        "queued": "1,000,000 jobs waiting in the queue",
        "scheduled": "100,000 jobs in the schedule set",
    }
    header = ["sidequest with", "drain jobs/s", "vs empty", "perform_async/s", "vs empty"]
    header += ["perform_in/s", "vs empty"]
    rows = []
    for key, label in names.items():
        case = cases[key]
        row = [label]
        for metric in ("drain", "single", "scheduled"):
            row += [fmt_rate(case[metric]), fmt_ratio(case[metric], empty[metric])]
        rows.append(row)
    return table(header, rows)


def scale_floor(scale: Phase) -> float:
    """The worst rate ratio of a loaded case to the empty case."""
    cases = scale["cases"]
    return min(
        float(cases[key][metric]) / float(cases["empty"][metric])
        for key in ("queued", "scheduled")
        for metric in ("drain", "single", "scheduled")
    )


def targets(report: Report) -> list[tuple[str, bool | None, str]]:
    """(target, passed or None when it could not be measured, measured value) for each target."""
    ours, sidekiq = report.run("sidequest"), report.run("sidekiq")
    out: list[tuple[str, bool | None, str]] = []

    def versus(phase: str, factor: float, label: str) -> None:
        value = ours.rate(phase) if ours else None
        base = sidekiq.rate(phase) if sidekiq else None
        if value is None or base is None:
            out.append((label, None, "not measured"))
        else:
            out.append((label, value >= factor * base, f"{value / base:.2f}x ({value:,.0f} vs {base:,.0f})"))

    versus("drain", 2.0, "drain >= 2x Sidekiq")
    peers = [run for run in report.runs if run.name not in ("sidequest", "sidekiq") and run.rate("drain")]
    ours_drain = ours.rate("drain") if ours else None
    if ours_drain is None or not peers:
        out.append(("drain ahead of every Python peer", None, "not measured"))
    else:
        best = max(peers, key=lambda run: run.rate("drain") or 0.0)
        best_rate = best.rate("drain") or 0.0
        value = f"{ours_drain:,.0f} vs best peer {best.label} {best_rate:,.0f}"
        out.append(("drain ahead of every Python peer", ours_drain > best_rate, value))
    versus("bulk", 2.0, "bulk enqueue >= 2x Sidekiq")
    versus("single", 1.5, "single perform_async >= 1.5x Sidekiq")
    pinned, base = report.pinned_rate("sidequest"), report.pinned_rate("sidekiq")
    if pinned is not None and base is not None:
        label = "single perform_async >= 1.5x Sidekiq, client and Redis on one CPU"
        out.append((label, pinned >= 1.5 * base, f"{pinned / base:.2f}x ({pinned:,.0f} vs {base:,.0f})"))

    def check(label: str, limit: float, key: str) -> None:
        if report.latency is None:
            out.append((label, None, "not measured"))
        else:
            value = float(report.latency[key])
            out.append((label, value <= limit, f"{value:.2f} ms"))

    check("idle latency p50 <= 1 ms", 1.0, "p50_ms")
    check("idle latency p99 <= 5 ms", 5.0, "p99_ms")
    rss = ours.peak_rss_mb() if ours else None
    if rss is not None:
        out.append(("peak RSS draining <= 60 MB", rss <= 60.0, f"{rss:.0f} MB"))
    else:
        out.append(("peak RSS draining <= 60 MB", None, "not measured"))
    if report.scale is None:
        out.append(("no slowdown with 1M queued / 100k scheduled", None, "not measured"))
    else:
        worst = scale_floor(report.scale)
        label = f"no slowdown with 1M queued / 100k scheduled (every ratio >= {SCALE_FLOOR})"
        out.append((label, worst >= SCALE_FLOOR, f"worst ratio {worst:.2f}"))
    return out


def print_report(report: Report) -> None:
    """Print the whole report on stdout."""
    v = report.versions
    today = datetime.date.today().isoformat()
    print(f"Redis benchmark, {today}: {os.cpu_count()} cores ({cpu_model()}), Redis {v.get('redis')}")
    print(f"sidequest at {v.get('sidequest')}")
    stack = [f"Python {v.get('python')}"]
    if "ruby" in v:
        stack.append(f"Ruby {v['ruby']}")
    stack += [f"{name} {v[name]}" for name in ("dramatiq", "rq", "celery", "arq") if name in v]
    print("; ".join(stack))
    load = f"{report.load_before[0]:.2f} before, {report.load_after[0]:.2f} after"
    print(
        f"{report.jobs:,} no-op jobs (one int argument), {report.single:,} single enqueues, "
        f"best of {report.repeat} rounds per phase"
    )
    print(f"load average (other work on this machine skews figures): {load}")
    if report.skipped:
        print(f"not installed, skipped: {', '.join(report.skipped)}")
    print()
    for line in system_rows(report):
        print(line)
    print()
    print("drain: one process, clock from its start until the last job's perform returned; peak RSS is the")
    print("draining process's own (highest of the rounds). Slow peers drain fewer jobs ('jobs drained').")
    print("Every round, jobs/s:")
    for run in report.runs:
        print(f"  {run.label}: {run.summary()}")
    if report.latency is not None:
        lat = report.latency
        print()
        print(
            f"sidequest idle latency, enqueue call to perform start ({lat['jobs']} jobs, one every 10 ms): "
            f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms"
        )
    if report.pinned_single:
        rounds = max(len(results) for results in report.pinned_single.values())
        rates = ", ".join(f"{name} {fmt_rate(report.pinned_rate(name))}/s" for name in report.pinned_single)
        print()
        print(f"single enqueue with the client and redis-server on one CPU (best of {rounds}): {rates}")
        print("(a free-running round trip costs 2-3x more whenever the other CPU is idle and must be woken)")
    if report.scale is not None:
        print()
        sc = report.scale
        print(
            f"sidequest at scale: drain of {sc['jobs']:,} jobs (best of {sc['rounds']}); "
            f"{sc['enqueues']:,} perform_async, {sc['enqueues']:,} perform_in due in an hour "
            f"(best of {sc['enqueue_rounds']}); the cases alternate; client and redis-server on one CPU"
        )
        for line in scale_rows(report.scale):
            print(line)
    for error in report.errors:
        print(f"FAILED: {error}")
    print()
    for label, passed, value in targets(report):
        verdict = "n/a " if passed is None else ("PASS" if passed else "MISS")
        print(f"{verdict}  {label}: {value}")
    print(f"\n(total {report.seconds:.0f} s)")
