"""Progress of a run: a live rich display on a terminal, plain periodic log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

LOG_EVERY_SECONDS = 10.0


class Progress:
    """Counts the current phase's work items (partitions, buckets, ...) and, for steps that move documents,
    their documents and MB with MB/s; steps that move none (most dedup sub-steps) show items and time only."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.console = Console(file=self.stream, highlight=False)
        self.live: Live | None = None
        self.phase = ""
        self.unit = "partitions"
        self._reset()

    def _reset(self) -> None:
        self.docs = 0
        self.bytes = 0
        self.done = 0
        self.total: int | None = None
        self.reused = 0
        self.started = time.monotonic()
        self.last_log = self.started

    def start_phase(self, phase: str, unit: str = "partitions") -> None:
        """Begin a new phase (`prepare`, `dedup`, `tokens`, …) counting `unit`; counters start from zero."""
        self.finish_phase()
        self.phase = phase
        self.unit = unit
        self._reset()
        if not self.quiet and self.console.is_terminal:
            self.live = Live(self._line(), console=self.console, refresh_per_second=4, transient=False)
            self.live.start()

    def advance(self, docs: int = 0, nbytes: int = 0, done: int = 0, total: int | None = None, reused: int = 0) -> None:
        self.docs += docs
        self.bytes += nbytes
        self.done += done
        self.reused += reused
        if total is not None:
            self.total = total
        if self.live is not None:
            self.live.update(self._line())
        elif not self.quiet and time.monotonic() - self.last_log >= LOG_EVERY_SECONDS:
            self.last_log = time.monotonic()
            self.log(self._line().plain)

    def _line(self) -> Text:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        megabytes = self.bytes / 1e6
        total = "?" if self.total is None else str(self.total)
        reused = f", {self.reused} reused" if self.reused else ""
        moved = ""
        if self.docs or self.bytes:
            moved = f" · {self.docs:,} docs · {megabytes:,.1f} MB · {megabytes / elapsed:,.2f} MB/s"
        return Text(f"{self.phase}: {self.done}/{total} {self.unit}{reused}{moved} · {elapsed:,.1f} s")

    def finish_phase(self) -> None:
        if self.live is not None:
            self.live.update(self._line())
            self.live.stop()
            self.live = None
        elif self.phase and not self.quiet:
            self.log(self._line().plain)
        self.phase = ""

    def log(self, message: str) -> None:
        """One plain line, e.g. a warning about a damaged input file."""
        if not self.quiet:
            if self.live is not None:
                self.live.console.print(message, markup=False, highlight=False)
            else:
                print(message, file=self.stream, flush=True)
