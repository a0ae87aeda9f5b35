"""A real S3 server (moto's) on 127.0.0.1 with one bucket, for tests and benchmarks; every request it
serves is logged, so a caller can count them."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.fs as pafs

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
"""moto accepts any credentials; pyarrow and the `pileline run` subprocesses find these in the environment."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def s3_server(bucket: str, log_path: Path) -> Iterator[str]:
    """Serve S3 on a free port with `bucket` created and the credentials set in this process's environment;
    yields the URI query that reaches it (`?endpoint_override=127.0.0.1:PORT&scheme=http`)."""
    with s3_server_process(bucket, log_path) as (query, _):
        yield query


@contextmanager
def s3_server_process(bucket: str, log_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`s3_server`, also yielding the server's process: SIGSTOP stops it answering (its objects kept,
    connections time out), SIGCONT resumes it."""
    if importlib.util.find_spec("moto") is None:
        raise RuntimeError("an S3 server needs moto: pip install 'moto[server]' (the test extra)")
    port = _free_port()
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"the moto S3 server did not start; see {log_path}") from None
                    time.sleep(0.1)
            query = f"?endpoint_override=127.0.0.1:{port}&scheme=http"
            filesystem, _ = pafs.FileSystem.from_uri(f"s3://{bucket}{query}&allow_bucket_creation=true")
            filesystem.create_dir(bucket)
            yield query, server
        finally:
            server.send_signal(signal.SIGCONT)
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
