"""pileline's side of `benchmarks/end_to_end.py`: run one manifest and record the wall time of each phase.

    python -P benchmarks/pileline_job.py [--memory] MANIFEST.yaml TIMINGS.json

Runs `pipeline.phases.runner.run_manifest` (an embedded Ray unless the manifest names an address) with a
`Progress` that keeps quiet and notes when each phase starts and ends. TIMINGS.json gets
{"phases": {name: seconds}, "run_seconds": ..., "before_phases": ..., "after_phases": ..., "totals": ...};
the time not in any phase is Ray's start and stop plus the driver's own work between phases;
with --memory, `memory_by_phase` is the peak of the machine's used memory (MemTotal - MemAvailable) and of its shared
memory (Shmem: Ray's object store) while each phase ran, above what was used when the job started
(sampled every 0.1 s by a thread: ~3 % of a one-core run's CPU, hence off unless asked for);
`before_phases` is the time until the first phase started (Ray's start, listing inputs), `after_phases`
the time from the last phase's end to the return (output hashes left, manifest.json, removing
intermediates). The embedded Ray is stopped after TIMINGS.json is written, as the process ends (`exit_now`),
as the `pileline` command stops it: a caller timing the whole process counts it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson

from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.process_exit import end_with_exit_now, exit_now
from pipeline.runtime.progress import Progress

# Started with `python -P` (the benchmarks folder is not searched first); its process_tree module is looked up last.
sys.path.append(str(Path(__file__).resolve().parent))
from process_tree import machine_memory  # noqa: E402


class PhaseClock(Progress):
    """A quiet `Progress` that adds up the wall seconds spent in each named phase and, with `sample_memory`,
    samples the machine's memory while it runs."""

    def __init__(self, sample_memory: bool) -> None:
        super().__init__(quiet=True)
        self.seconds: Counter = Counter()
        self._phase_started = time.perf_counter()
        self.first_start: float | None = None
        self.last_finish: float | None = None
        self.memory: dict[str, list[int]] = {}
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        if sample_memory:
            self.idle = machine_memory()
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            used, shared = machine_memory()
            peak = self.memory.setdefault(self.phase or "between phases", [0, 0])
            peak[0] = max(peak[0], used - self.idle[0])
            peak[1] = max(peak[1], shared - self.idle[1])

    def stop(self) -> None:
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()

    def start_phase(self, phase: str, unit: str = "partitions") -> None:
        super().start_phase(phase, unit)
        self._phase_started = time.perf_counter()
        self.first_start = self.first_start or self._phase_started

    def finish_phase(self) -> None:
        if self.phase:
            self.last_finish = time.perf_counter()
            self.seconds[self.phase] += self.last_finish - self._phase_started
        super().finish_phase()


def main() -> None:
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return
    arguments = sys.argv[1:]
    sample_memory = arguments[:1] == ["--memory"]
    if len(arguments) != 2 + sample_memory:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    manifest_path, timings_path = arguments[sample_memory:]
    clock = PhaseClock(sample_memory)
    end_with_exit_now()  # as the `pileline` command does: the embedded Ray is stopped by `exit_now`
    started = time.perf_counter()
    result = run_manifest(load_manifest(manifest_path), clock)
    ended = time.perf_counter()
    clock.stop()
    timings = {
        "phases": dict(clock.seconds),
        "run_seconds": ended - started,
        "before_phases": (clock.first_start or ended) - started,
        "after_phases": ended - (clock.last_finish or started),
        "memory_by_phase": {phase: {"used": used, "shared": shared} for phase, (used, shared) in clock.memory.items()},
        "totals": result.totals,
    }
    Path(timings_path).write_bytes(orjson.dumps(timings, option=orjson.OPT_INDENT_2))
    exit_now(0)  # as the `pileline` command ends


if __name__ == "__main__":
    main()
