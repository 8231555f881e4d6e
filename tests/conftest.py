"""Shared fixtures: a real redis-server on loopback for the Redis tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Set this to the URL of a Redis server to test against it instead of starting one.
REDIS_URL_VARIABLE = "TRIO_BUCKET_REDIS_URL"
#: Seconds to wait for a started redis-server to reply to PING.
REDIS_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _wait_until_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    while not _answers_ping(port):
        if server.poll() is not None:
            output = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"redis-server exited with status {server.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"redis-server did not answer PING on 127.0.0.1:{port} "
                f"within {REDIS_START_TIMEOUT} seconds"
            )
        time.sleep(0.02)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Yield the URL of a Redis server on loopback, started for this session if needed.

    With ``TRIO_BUCKET_REDIS_URL`` set, the tests use that server. Otherwise this
    starts ``redis-server`` on 127.0.0.1 on a free port, without persistence, in a
    temporary folder, and stops it when the session ends.
    """
    configured = os.environ.get(REDIS_URL_VARIABLE)
    if configured:
        yield configured
        return

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "the Redis tests need redis-server: install it (apt-get install redis-server) "
            f"or set {REDIS_URL_VARIABLE} to the URL of a Redis server"
        )

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="trio-bucket-redis-") as folder:
        log = Path(folder, "redis.log")
        command = [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", folder,
            "--logfile", str(log),
        ]  # fmt: skip
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        try:
            _wait_until_ready(server, port, log)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture
def redis_name() -> str:
    """Return a bucket name that no other test uses, so tests share one server safely."""
    return f"test-{uuid.uuid4().hex}"
