"""The progress line names what a step moves: documents and MB only where it moves some."""

from __future__ import annotations

import io

from pipeline.runtime.progress import Progress


def _lines(steps) -> list[str]:
    stream = io.StringIO()
    progress = Progress(stream=stream)
    for phase, unit, advance in steps:
        progress.start_phase(phase, unit)
        progress.advance(**advance)
    progress.finish_phase()
    return stream.getvalue().splitlines()


def test_a_step_that_moves_documents_shows_documents_and_megabytes():
    (line,) = _lines([("prepare", "partitions", {"docs": 1200, "nbytes": 3_000_000, "done": 2, "total": 2})])
    assert line.startswith("prepare: 2/2 partitions · 1,200 docs · 3.0 MB · ")
    assert " MB/s · " in line


def test_a_step_that_moves_no_documents_shows_its_own_unit_only():
    first, second = _lines(
        [
            ("dedup: candidate edges", "buckets", {"done": 8, "total": 8}),
            ("dedup: labels", "buckets", {"done": 3, "reused": 3, "total": 8}),
        ]
    )
    assert first.startswith("dedup: candidate edges: 8/8 buckets · ") and first.endswith(" s")
    assert "docs" not in first and "MB" not in first
    assert second.startswith("dedup: labels: 3/8 buckets, 3 reused · ")
