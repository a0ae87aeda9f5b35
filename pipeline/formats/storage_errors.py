"""Storage failures, said in one line: which file, what it is, and what to do.

Reads and writes of the run directory and of remote inputs go through `reporting_storage_errors`,
which turns the operating system's "no space left" (or quota, or file size limit) into a
`StorageFull`, and an object store that still fails after pyarrow's retries
(`pipeline.filesystems.OBJECT_STORE_ATTEMPTS`) into a `StorageUnreachable`. Both are `UserError`s,
which the CLI prints as one line, also when a Ray task raised them. A writer's temporary file is
never trusted, so running the same command again once the storage is back resumes the run.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.errors import UserError
from pipeline.formats.filesystems import OBJECT_STORE_ATTEMPTS, is_uri, location_name
from pipeline.formats.run_layout import DEDUP_DIR, MANIFEST, REJECTS_DIR, STAGES_DIR, STATS_DIR, TOKENS_DIR

SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
RUN_FILE_KINDS = {
    STAGES_DIR: "intermediate files",
    REJECTS_DIR: "rejected lines",
    DEDUP_DIR: "the dedup clusters table",
    STATS_DIR: "statistics",
    TOKENS_DIR: "token files",
    MANIFEST: "the run record",
}
"""What a file is, by the first part of its path in the run directory."""


class StorageFull(UserError):
    """No space left where a file was being written."""


class StorageUnreachable(UserError):
    """An object store kept failing a request after every retry."""


def describe_run_file(relative: str) -> str:
    """What the run-directory file `relative` is, for messages: `tokens/…` → "token files"."""
    head, _, rest = relative.partition("/")
    if head == STAGES_DIR and rest:
        phase = rest.split("/", 1)[0].split("-", 1)[0]
        return f"intermediate files of the {phase} phase"
    return RUN_FILE_KINDS.get(head, "run files")


@contextmanager
def reporting_storage_errors(location: str, action: str) -> Iterator[None]:
    """Within the block, an out-of-space `OSError` becomes `StorageFull` and, for a URI, any other
    `OSError` but a missing file becomes `StorageUnreachable`; both name `location` (without its
    connection query) and `action` ("writing token files")."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as error:
        name = location_name(location)
        detail = (error.strerror or str(error)).splitlines()[0] if str(error) else type(error).__name__
        if error.errno in SPACE_ERRNOS:
            raise StorageFull(
                f"{name}: no space left while {action} ({detail}); nothing half-written is kept: "
                "free space and run the same command again to resume"
            ) from None
        if is_uri(location):
            raise StorageUnreachable(
                f"{name}: {action} failed after {OBJECT_STORE_ATTEMPTS} attempts ({detail}); "
                "once the storage answers again, run the same command to resume"
            ) from None
        raise
