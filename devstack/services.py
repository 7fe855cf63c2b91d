"""Starting the three services as separate processes and waiting until they are ready."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = ("portfolio", "scheduling", "notifications")
DEFAULT_PORTS = {"portfolio": 8001, "scheduling": 8002, "notifications": 8003}
# The web front (services/web): the pages people use, in front of the three services.
WEB = "web"
WEB_DEFAULT_PORT = 8000


@dataclass
class ServiceProcess:
    """One service running as ``python -m services.<name>`` (or another ``module``)."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    module: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env, f"{self.name.upper()}_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module or f"services.{self.name}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C in the launcher's terminal reaches the launcher only,
            # which then stops each service in order.
            start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode}); see {self.log_path}"
                )
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as error:
                last = str(error)
            time.sleep(0.1)
        raise TimeoutError(
            f"{self.name} not ready after {timeout:.0f}s ({last}); see {self.log_path}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM: the service stops reading, finishes in-flight events, and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
