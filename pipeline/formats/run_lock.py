"""One run at a time per run directory: `RUN_DIR/run.lock` names the run that holds it.

The lock file holds `{host, pid, pid_started, started, heartbeat, token}`; the holder rewrites
`heartbeat` (seconds since the epoch) every `HEARTBEAT_SECONDS` and deletes the file when it ends.
A second run refuses to start, naming the holder, unless the lock is stale:

- A local or mounted (POSIX) run directory is in use while another process holds `flock` on the
  file; the kernel drops it when that process dies, even by SIGKILL.
- An object store (`s3://…`) has no `flock`: the directory is in use while the recorded holder is
  alive by the rules below. The claim is written, left `CLAIM_SETTLE_SECONDS`, and read back: the
  last writer wins, the other stops.
- A lock left behind is stale when its holder is on this host and not alive (its pid, with that
  process's start time, so a reused pid does not count), or on another host and its heartbeat is
  older than `LEASE_SECONDS`. A stale lock is taken over, and the run says whose it was.

The heartbeat covers file systems whose `flock` does not reach other hosts (an NFS mount with
`local_lock`, some FUSE mounts): a holder on another host keeps the directory for `LEASE_SECONDS`
after its last heartbeat, so a crashed remote run blocks the directory for at most that long.
Clocks of hosts sharing a run directory must agree to well within the lease.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone

import orjson

from pipeline.errors import UserError
from pipeline.formats.filesystems import is_uri
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import LOCK_FILE
from pipeline.formats.storage_errors import reporting_storage_errors
from pipeline.runtime.progress import Progress

HEARTBEAT_SECONDS = 10.0
LEASE_SECONDS = 120.0
"""A lock from another host without a heartbeat for this long is stale (12 missed heartbeats)."""
CLAIM_SETTLE_SECONDS = 2.0


def process_start(pid: int) -> str | None:
    """`boot id:start time` of a live process on this host (Linux), so a reused pid is not taken for the
    holder; None where /proc does not tell."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot, open(f"/proc/{pid}/stat") as stat:
            return f"{boot.read().strip()}:{stat.read().rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, started: str | None) -> bool:
    """True when process `pid` runs on this host and, if `started` is known, is the same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return started is None or process_start(pid) in (started, None)


def holder_is_alive(holder: dict, host: str, now: float) -> bool:
    """Whether the run recorded in a lock file may still be running, seen from `host` at time `now`."""
    if holder.get("host") == host:
        return pid_alive(int(holder.get("pid", -1)), holder.get("pid_started"))
    return now - float(holder.get("heartbeat", 0)) < LEASE_SECONDS


def describe_holder(holder: dict | None) -> str:
    """`host H, pid P, started T` for messages."""
    if not holder:
        return "another run (its lock file is being written)"
    return f"host {holder.get('host')}, pid {holder.get('pid')}, started {holder.get('started')}"


def _this_run() -> dict:
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "pid_started": process_start(pid),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "heartbeat": time.time(),
        "token": uuid.uuid4().hex,
    }


def _parse(data: bytes) -> dict | None:
    try:
        holder = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return holder if isinstance(holder, dict) else None


def _in_use(run: RunDirectory, holder: dict | None) -> UserError:
    return UserError(
        f"{run.location}: in use by another pileline run ({describe_holder(holder)}); "
        f"wait for it to finish, or stop it (its lock is {run.uri(LOCK_FILE)})"
    )


class _LocalLock:
    """The lock on a POSIX file system: `flock` on the lock file, the record written in place."""

    def __init__(self, run: RunDirectory) -> None:
        self.path = run.path(LOCK_FILE)
        self.run = run
        self.fd = -1

    def acquire(self, record: dict, progress: Progress) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _parse(_read_all(fd))
                os.close(fd)
                raise _in_use(self.run, holder) from None
            try:
                current = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)  # the holder released and removed the file between our open and flock: try again
        self.fd = fd
        previous = _parse(_read_all(fd))
        if previous and holder_is_alive(previous, record["host"], time.time()):
            self.fd = -1
            os.close(fd)
            raise _in_use(self.run, previous)
        if previous:
            progress.log(f"taking over the lock of a run that is gone ({describe_holder(previous)})")
        with reporting_storage_errors(self.path, "writing the run directory's lock"):
            self.write(record)

    def write(self, record: dict) -> None:
        data = orjson.dumps(record) + b"\n"
        os.pwrite(self.fd, data, 0)
        os.ftruncate(self.fd, len(data))

    def release(self) -> None:
        os.unlink(self.path)
        os.close(self.fd)


def _read_all(fd: int) -> bytes:
    return os.pread(fd, 1 << 16, 0)


class _ObjectStoreLock:
    """The lock on an object store: the record claimed by writing it, confirmed by reading it back."""

    def __init__(self, run: RunDirectory) -> None:
        self.run = run
        self.token = ""

    def _holder(self) -> dict | None:
        return _parse(self.run.read_bytes(LOCK_FILE)) if self.run.exists(LOCK_FILE) else None

    def acquire(self, record: dict, progress: Progress) -> None:
        previous = self._holder()
        if previous and holder_is_alive(previous, record["host"], time.time()):
            raise _in_use(self.run, previous)
        if previous:
            progress.log(f"taking over the lock of a run that is gone ({describe_holder(previous)})")
        self.write(record)
        time.sleep(CLAIM_SETTLE_SECONDS)
        holder = self._holder()
        if not holder or holder.get("token") != record["token"]:
            raise _in_use(self.run, holder)
        self.token = record["token"]

    def write(self, record: dict) -> None:
        self.run.write_bytes(LOCK_FILE, orjson.dumps(record) + b"\n")

    def release(self) -> None:
        holder = self._holder()
        if holder and holder.get("token") == self.token:
            self.run.delete(LOCK_FILE)


def _beat(write: Callable[[dict], None], record: dict, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        record["heartbeat"] = time.time()
        try:
            write(dict(record))
        except OSError:
            continue  # storage briefly unreachable: the run's own writes will say so; the lease allows misses


@contextmanager
def run_lock(run: RunDirectory, progress: Progress) -> Iterator[None]:
    """Hold the run directory's lock while the block runs; a `UserError` naming the holder if it is in use."""
    lock = _ObjectStoreLock(run) if is_uri(run.location) else _LocalLock(run)
    record = _this_run()
    lock.acquire(record, progress)
    stop = threading.Event()
    heartbeat = threading.Thread(target=_beat, args=(lock.write, record, stop), name="run-lock-heartbeat", daemon=True)
    heartbeat.start()
    try:
        yield
    except BaseException:
        stop.set()
        heartbeat.join()
        with suppress(OSError, UserError):  # storage gone: the lock stays, and is stale once this process ends
            lock.release()
        raise
    stop.set()
    heartbeat.join()
    lock.release()
