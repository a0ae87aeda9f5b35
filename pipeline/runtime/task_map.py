"""Run one Ray task per work item with a bounded number in flight, skipping items already finished.

`run_bounded` is the one loop over `ray.wait` that bounded maps share (this one, `parallel_map` and the
prepare phase, whose task arguments stream from its readers through a `TaskSource`).

Every phase after reading is a list of independent items (partitions, buckets) whose result is a
small JSON summary written last by the task; an item whose summary exists is reused, not rerun.
An argument object given to many tasks (a plan naming every partition) is stored in the object
store once and passed by reference, not serialised again for each of thousands of tasks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import ray

from pipeline.formats.run_directory import RunDirectory
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_or_local_map import share_repeated

WAIT_SECONDS = 1.0
"""Longest wait for a task or a source before the bound (`max_in_flight()`, which may grow) is asked again."""


class TaskSource(Protocol):
    """Task arguments that arrive while tasks run: from streaming reader tasks (Ray generators), say."""

    def waitables(self) -> list:
        """Refs or streaming generators whose next object brings arguments; [] once the source is spent."""

    def take(self, ready: Any) -> list[tuple]:
        """The task arguments that `ready` (one of `waitables()`, now ready) brings; maybe none."""


def run_bounded(
    remote_fn,
    arguments: Sequence[tuple],
    max_in_flight: Callable[[], int],
    on_result: Callable[[int, Any], None],
    held: Callable[[], int] = lambda: 0,
    source: TaskSource | None = None,
) -> None:
    """Run `remote_fn.remote(*args)` for every args of `arguments`, then of `source` as they arrive, in
    order, with at most `max_in_flight()` tasks submitted and not finished, counting `held()` results the
    caller keeps too; `on_result(i, value)` as the i-th task submitted finishes. The source is only
    waited on while there is room, so a streaming reader is held back by its own backpressure.
    The one loop over `ray.wait` that bounded task maps share."""
    in_flight: dict = {}
    pending = deque(arguments)
    submitted = 0
    while True:
        while pending and len(in_flight) + held() < max_in_flight():
            in_flight[remote_fn.remote(*pending.popleft())] = submitted
            submitted += 1
        waitables = list(in_flight)
        if source is not None and not pending and len(in_flight) + held() < max_in_flight():
            waitables += source.waitables()
        if not waitables:
            return
        ready, _ = ray.wait(waitables, num_returns=1, timeout=WAIT_SECONDS)
        for ref in ready:
            if ref in in_flight:
                on_result(in_flight.pop(ref), ray.get(ref))
            else:
                pending.extend(source.take(ref))


def map_items(
    run: RunDirectory,
    remote_fn,
    items: Sequence,
    summary_path: Callable[[object], str],
    args_for: Callable[[object], tuple],
    max_in_flight: Callable[[], int],
    progress: Progress,
    phase: str,
    unit: str = "partitions",
) -> list[dict]:
    """Summaries of `remote_fn(*args_for(item))` for every item, in item order; finished items are read back.
    `max_in_flight()` bounds the tasks submitted and not yet finished (asked again before each submission)."""
    results: dict[int, dict] = {}
    todo = []
    for index, item in enumerate(items):
        path = summary_path(item)
        if run.exists(path):
            results[index] = run.read_json(path)
        else:
            todo.append(index)
    progress.start_phase(phase, unit)
    progress.advance(done=len(results), reused=len(results), total=len(items))

    def finished(position: int, summary: dict) -> None:
        results[todo[position]] = summary
        progress.advance(docs=summary.get("docs", 0), nbytes=summary.get("bytes", 0), done=1)

    run_bounded(remote_fn, share_repeated([args_for(items[index]) for index in todo]), max_in_flight, finished)
    progress.finish_phase()
    return [results[index] for index in range(len(items))]
