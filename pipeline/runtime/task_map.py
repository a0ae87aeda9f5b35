"""Run one Ray task per work item with a bounded number in flight, skipping items already finished.

`run_bounded` is the one loop over `ray.wait` that bounded maps share (this one and `parallel_map`).

Every phase after reading is a list of independent items (partitions, buckets) whose result is a
small JSON summary written last by the task; an item whose summary exists is reused, not rerun.
An argument object given to many tasks (a plan naming every partition) is stored in the object
store once and passed by reference, not serialised again for each of thousands of tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ray

from pipeline.formats.run_directory import RunDirectory
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_or_local_map import share_repeated


def run_bounded(
    remote_fn,
    arguments: Sequence[tuple],
    max_in_flight: Callable[[], int],
    on_result: Callable[[int, Any], None],
    held: Callable[[], int] = lambda: 0,
) -> None:
    """Run `remote_fn.remote(*arguments[i])` for every i in order, with at most `max_in_flight()` tasks
    submitted and not finished, counting `held()` results the caller keeps too; `on_result(i, value)`
    as each finishes. The one loop over `ray.wait` that bounded task maps share."""
    in_flight: dict = {}
    next_index = 0
    while next_index < len(arguments) or in_flight:
        while next_index < len(arguments) and len(in_flight) + held() < max_in_flight():
            in_flight[remote_fn.remote(*arguments[next_index])] = next_index
            next_index += 1
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in ready:
            on_result(in_flight.pop(ref), ray.get(ref))


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
