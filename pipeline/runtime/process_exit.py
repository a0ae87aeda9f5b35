"""End a finished command's process at once, without tearing the interpreter down object by object."""

from __future__ import annotations

import glob
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

_ENDS_WITH_EXIT_NOW = False
_BEFORE_EXIT: list[Callable[[], None]] = []


def end_with_exit_now() -> None:
    """Declare that this process ends through `exit_now` once its command returns, so that what would be stopped
    gracefully at the end of a block (the embedded Ray) can be left to `exit_now` instead (`before_exit_now`)."""
    global _ENDS_WITH_EXIT_NOW
    _ENDS_WITH_EXIT_NOW = True


def ends_with_exit_now() -> bool:
    """Whether `end_with_exit_now` was called in this process."""
    return _ENDS_WITH_EXIT_NOW


def before_exit_now(stop: Callable[[], None]) -> None:
    """Have `exit_now` call `stop` before the process ends (in the order registered)."""
    _BEFORE_EXIT.append(stop)


def exit_now(code: int) -> NoReturn:
    """Run what `before_exit_now` registered, flush the log handlers and standard streams, then `os._exit(code)`:
    a run's outputs are written and closed by the time a command returns, and freeing every module's objects
    (Ray, pyarrow, pydantic) one by one took the driver ~0.15 CPU s after each run. Only for a process's last
    step: atexit handlers and other threads' pending work are skipped."""
    while _BEFORE_EXIT:
        _BEFORE_EXIT.pop(0)()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can reach it
            pass
    os._exit(code)


def descendants(pid: int) -> list[int]:
    """The processes `pid` started and theirs, parents before children, from Linux's /proc (empty elsewhere)."""
    found: list[int] = []
    for listing in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(listing) as children:
                started = [int(child) for child in children.read().split()]
        except OSError:  # the thread or process ended meanwhile
            continue
        for child in started:
            found += [child, *descendants(child)]
    return found


def kill_descendants() -> bool:
    """SIGKILL every process this one started, and theirs, and reap the direct children; False (nothing done)
    where /proc cannot list them."""
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        return False
    pids = descendants(os.getpid())
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # not our child: its own parent, or init, reaps it
            pass
    return True
