"""Run a command and measure it with everything it starts: wall time, CPU seconds, peak total RSS.

Ray and datatrove both spread a job over processes that are not all waited for by their parents
(Ray's raylet and workers are killed at shutdown), so `RUSAGE_CHILDREN` misses most of their CPU.
`run_measured` therefore polls /proc every `interval` seconds: every process that descends from the
command (or once did: orphans are kept by pid and start time) has its user + system time and RSS read.
CPU used by a process in its last poll interval before it exits, or by one that lives less than an
interval, is missed; the larger of the poll total and `RUSAGE_CHILDREN` is reported.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    """What one command cost: wall seconds, CPU seconds of all its processes, their peak summed RSS, exit code;
    the peak private memory (resident, not file-backed or shared: RssAnon) of the command itself, of the
    largest process it started and of all of them summed, and the peak of the machine's used memory
    (MemTotal - MemAvailable, which counts shared memory such as Ray's object store once) above what was
    used when the command started. RSS alone counts the page cache of every file a process memory-maps."""

    wall: float
    cpu: float
    peak_rss: int
    returncode: int
    root_peak_private: int = 0
    largest_child_peak_private: int = 0
    peak_private: int = 0
    system_peak_growth: int = 0
    largest_child: str = ""
    """The command line of that process when it peaked (a Ray worker's names its task: `ray::_verify_task`)."""


def _stat(pid: str) -> tuple[int, int, float, int] | None:
    """(ppid, start time, CPU seconds, RSS bytes) of a live process, or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    ppid, utime, stime, start, rss = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[19]), int(fields[21])
    return ppid, start, (utime + stime) / _TICKS, rss * _PAGE


def _private(pid: int) -> int:
    """Resident bytes of a process that are neither file-backed nor shared (statm: resident - shared)."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_bytes().split()
    except OSError:
        return 0
    return (int(fields[1]) - int(fields[2])) * _PAGE


def _command_line(pid: int) -> str:
    """The first 60 characters of a process's command line ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:60]
    except OSError:
        return ""


def machine_memory() -> tuple[int, int]:
    """(MemTotal - MemAvailable, Shmem) of the machine, in bytes: what is in use, and of it the shared memory
    (Ray's object store)."""
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024
    return fields["MemTotal"] - fields["MemAvailable"], fields["Shmem"]


class _TreePoller:
    """Follows the process tree under `root` and keeps each member's last CPU reading and the peak total RSS."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.members: set[tuple[int, int]] = set()  # (pid, start time)
        self.cpu: dict[tuple[int, int], float] = {}
        self.peak_rss = 0
        self.root_peak_private = 0
        self.largest_child_peak_private = 0
        self.peak_private = 0
        self.largest_child = ""
        self.system_idle = machine_memory()[0]
        self.system_peak_growth = 0

    def poll(self) -> None:
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _stat(entry.name)
                if stat is not None:
                    stats[int(entry.name)] = stat
        pids = {pid for pid, start in self.members if stats.get(pid, (0, -1))[1] == start}
        if self.root in stats:
            pids.add(self.root)
        grown = True
        while grown:
            new = {pid for pid, stat in stats.items() if stat[0] in pids and pid not in pids}
            pids |= new
            grown = bool(new)
        rss = private_sum = 0
        for pid in pids:
            _, start, cpu, resident = stats[pid]
            self.members.add((pid, start))
            self.cpu[(pid, start)] = cpu
            rss += resident
            private = _private(pid)
            private_sum += private
            if pid == self.root:
                self.root_peak_private = max(self.root_peak_private, private)
            elif private > self.largest_child_peak_private:
                self.largest_child_peak_private = private
                self.largest_child = _command_line(pid)
        self.peak_private = max(self.peak_private, private_sum)
        self.peak_rss = max(self.peak_rss, rss)
        self.system_peak_growth = max(self.system_peak_growth, machine_memory()[0] - self.system_idle)


def run_measured(command: list[str], interval: float = 0.2, **popen) -> Measured:
    """Run `command` to completion (extra arguments go to `subprocess.Popen`) and measure it and its descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, **popen)
    poller = _TreePoller(process.pid)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            poller.poll()
            done.wait(interval)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    returncode = process.wait()
    wall = time.perf_counter() - started
    done.set()
    thread.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Measured(
        wall,
        max(sum(poller.cpu.values()), waited),
        poller.peak_rss,
        returncode,
        poller.root_peak_private,
        poller.largest_child_peak_private,
        poller.peak_private,
        poller.system_peak_growth,
        poller.largest_child,
    )


def _status_bytes(field: str) -> int:
    """A `kB` field of /proc/self/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_pinned(prepare: Callable[[], object], work: Callable[[object], object], warm_up: Callable[[object], object]):
    """`work(prepare())` in a forked child pinned to one CPU, timing only `work` (after `warm_up(inputs)`):
    (result, CPU seconds, wall seconds, peak RSS growth during `work` in bytes)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        inputs = prepare()
        warm_up(inputs)
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
        before = _status_bytes("VmRSS")
        wall, cpu = time.perf_counter(), time.process_time()
        result = work(inputs)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        send.send((result, cpu, wall, _status_bytes("VmHWM") - before))

    process = context.Process(target=child)
    process.start()
    outcome = receive.recv()
    process.join()
    return outcome
