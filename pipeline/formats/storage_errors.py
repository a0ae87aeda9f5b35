"""Running out of space, said in one line: the file that was being written and what it is.

Writes into the run directory go through `reporting_full_storage`, which turns the operating
system's "no space left" (or quota, or file size limit) into a `StorageFull`, a `UserError` the CLI
prints as one line, also when a Ray task raised it. The writer's temporary file is removed, so
nothing half-written is ever trusted, and running the same command once there is space resumes.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.errors import UserError

SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
RUN_FILE_KINDS = {
    "stages": "intermediate files",
    "rejects": "rejected lines",
    "dedup": "the dedup clusters table",
    "stats": "statistics",
    "tokens": "token files",
    "manifest.json": "the run record",
}
"""What a file is, by the first part of its path in the run directory."""


class StorageFull(UserError):
    """No space left where a file was being written."""


def describe_run_file(relative: str) -> str:
    """What the run-directory file `relative` is, for messages: `tokens/…` → "token files"."""
    head, _, rest = relative.partition("/")
    if head == "stages" and rest:
        phase = rest.split("/", 1)[0].split("-", 1)[0]
        return f"intermediate files of the {phase} phase"
    return RUN_FILE_KINDS.get(head, "run files")


@contextmanager
def reporting_full_storage(path: str, what: str) -> Iterator[None]:
    """Within the block, an out-of-space `OSError` becomes a one-line `StorageFull` naming `path` and `what`."""
    try:
        yield
    except OSError as error:
        if error.errno not in SPACE_ERRNOS:
            raise
        raise StorageFull(
            f"{path}: no space left while writing {what} ({error.strerror or error}); nothing half-written is kept: "
            "free space and run the same command again to resume"
        ) from None
