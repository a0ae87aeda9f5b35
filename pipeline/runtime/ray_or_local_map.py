"""Run a plain function over many items: as Ray tasks when Ray is up, else one after another here.

The inspection commands (`stats`, `report`, `clusters`) read per-partition and per-row-group data
with plain Python functions, so tests can call them directly; this module only decides where they
run. Results are handed to `combine` as they arrive, so the caller keeps running totals (histograms,
top-k lists) and never every result at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def ray_is_up() -> bool:
    """True when this process is connected to a Ray instance (embedded or a cluster)."""
    try:
        import ray
    except ImportError:
        return False
    return ray.is_initialized()


def share_repeated(arguments: Sequence[tuple]) -> list[tuple]:
    """The arguments with every object passed to more than one call (a `RunFiles`, a list of row
    groups) put in Ray's object store once and passed by reference, instead of pickled per task."""
    import ray

    seen: dict[int, int] = {}
    for args in arguments:
        for value in args:
            if not isinstance(value, (bool, int, float, str, bytes, type(None))):
                seen[id(value)] = seen.get(id(value), 0) + 1
    refs: dict[int, Any] = {}
    shared = []
    for args in arguments:
        row = []
        for value in args:
            if seen.get(id(value), 0) > 1:
                if id(value) not in refs:
                    refs[id(value)] = ray.put(value)
                value = refs[id(value)]
            row.append(value)
        shared.append(tuple(row))
    return shared


def parallel_map(
    fn: Callable[..., Any],
    arguments: Sequence[tuple],
    combine: Callable[[T, Any], T],
    initial: T,
    max_in_flight: int | None = None,
) -> T:
    """`combine(…combine(initial, fn(*arguments[0]))…, fn(*arguments[-1]))`, in order of `arguments`.

    With Ray up, each call is a Ray task (at most `max_in_flight` at once, default 2 × CPUs), objects
    shared by several calls travel once through the object store, and results are combined in
    argument order, so the answer never depends on task timing.
    """
    if not ray_is_up():
        result = initial
        for args in arguments:
            result = combine(result, fn(*args))
        return result
    from pipeline.runtime.ray_session import InFlightLimit
    from pipeline.runtime.task_map import run_bounded
    from pipeline.runtime.task_resources import phase_task

    limit = InFlightLimit(max_in_flight)()
    result = initial
    next_to_combine = 0
    finished: dict[int, Any] = {}

    def add(index: int, value: Any) -> None:
        """Keep a result until every earlier one is combined, so the answer is in argument order."""
        nonlocal result, next_to_combine
        finished[index] = value
        while next_to_combine in finished:
            result = combine(result, finished.pop(next_to_combine))
            next_to_combine += 1

    run_bounded(phase_task(fn), share_repeated(arguments), lambda: limit, add, held=lambda: len(finished))
    return result
