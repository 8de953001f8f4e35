"""Facts about the machine and the pid namespace a process runs in, to tell a dead process from a live one.

A process that published the same boot id and pid namespace as ours ran on this very kernel, in our pid
namespace: if its pid is gone, or now belongs to a process that started at another time (the pid was
reused), it is dead and its jobs can be rescued at once instead of waiting for its lease to run out.
The hostname alone proves nothing: containers often share one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HostFacts:
    """Where a process runs: the kernel's boot id, its pid namespace, and its own start time."""

    boot_id: str
    pid_namespace: str
    pid_started: int


def boot_id() -> str:
    """The kernel's boot id ('' where /proc does not have it)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as source:
            return source.read().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    """This process's pid namespace, e.g. ``pid:[4026531836]`` ('' where /proc does not have it)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def pid_started(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot; None when no such process is alive:
    none exists, it is a zombie (exited, not yet reaped by its parent), or /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as source:
            stat = source.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    if fields[:1] in ([b"Z"], [b"X"]):  # field 3, the state: a zombie or a dead task runs nothing
        return None
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def this_process() -> HostFacts:
    """The facts of the calling process."""
    return HostFacts(boot_id(), pid_namespace(), pid_started(os.getpid()) or 0)
