"""``python -m devstack`` (what ``make run`` does): the whole system on one machine.

Starts a real Redis server bundled from PyPI (unless ``REDIS_URL`` is set), the three services
on SQLite files under ``./var`` (unless their ``*_DATABASE_URL`` is set), loads the demo
district, prints URLs and tokens, and stops everything cleanly on Ctrl-C. Data is kept in
``./var`` between runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from devstack.demo import DISTRICT, SITES, demo_tokens, load_demo_district
from devstack.redis_server import RedisServer
from devstack.services import DEFAULT_PORTS, SERVICES, ServiceProcess
from shared.settings import DEV_JWT_SECRET


class Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, default=Path("var"), help="data directory (./var)")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo district")
    args = parser.parse_args(argv)
    var: Path = args.var.resolve()
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)

    redis: RedisServer | None = None
    processes: list[ServiceProcess] = []
    (var / "demo.env").unlink(missing_ok=True)
    try:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis = RedisServer(var / "redis").start()
            redis_url = redis.url
            _say(f"Redis {redis_url} (bundled redis-server, append-only file in {var / 'redis'})")
        else:
            _say(f"Redis {redis_url} (from REDIS_URL)")

        env = {"REDIS_URL": redis_url}
        for name in SERVICES:
            key = f"{name.upper()}_DATABASE_URL"
            env[key] = os.environ.get(key) or f"sqlite+aiosqlite:///{var / f'{name}.db'}"
        for name in SERVICES:
            port = int(os.environ.get(f"{name.upper()}_PORT", DEFAULT_PORTS[name]))
            processes.append(ServiceProcess(name, port, env, var / "logs" / f"{name}.log").start())
        for service in processes:
            service.wait_ready()
            _say(f"{service.name:<14} {service.url}  (log: {service.log_path})")

        secret = os.environ.get("AUTH_JWT_SECRET", DEV_JWT_SECRET)
        urls = {service.name: service.url for service in processes}
        if not args.no_demo:
            for line in load_demo_district(urls, secret=secret) or ["already loaded"]:
                _say(f"demo: {line}")
        _print_welcome(urls, redis_url=redis_url, tokens=demo_tokens(secret), var=var)
        while True:
            for service in processes:
                if service.process is not None and service.process.poll() is not None:
                    raise RuntimeError(f"{service.name} stopped; see {service.log_path}")
            time.sleep(1)
    except Stop as stop:
        _say(f"{stop}: stopping")
        return 0
    except (RuntimeError, TimeoutError) as error:
        _say(f"error: {error}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for service in reversed(processes):
            service.stop()
        if redis is not None:
            redis.stop()
        if processes or redis:
            _say("stopped; data kept in " + str(var))


def _print_welcome(
    urls: dict[str, str], *, redis_url: str, tokens: dict[str, str], var: Path
) -> None:
    token_file = var / "demo.env"
    shell_vars = {f"{name.upper()}_URL": url for name, url in urls.items()}
    shell_vars |= {"REDIS_URL": redis_url} | tokens
    token_file.write_text("".join(f"export {name}={value}\n" for name, value in shell_vars.items()))
    print(
        f"""
Student-led conferences is running for district {DISTRICT!r} ({", ".join(SITES.values())}).

  Portfolio      {urls["portfolio"]}/docs       events: {urls["portfolio"]}/asyncapi
  Scheduling     {urls["scheduling"]}/docs       events: {urls["scheduling"]}/asyncapi
  Notifications  {urls["notifications"]}/docs       events: {urls["notifications"]}/asyncapi
  Family mailbox {urls["notifications"]}/mailbox  (every message sent to families)

The service URLs and demo tokens (valid 12 hours) are in {token_file}; in another terminal:

  source {token_file}

{chr(10).join(f"  {name:<22} {value[:24]}..." for name, value in tokens.items())}

The README's "Try it" section walks through setting a goal and booking a conference.
Press Ctrl-C to stop.
""",
        flush=True,
    )


def _say(message: str) -> None:
    print(f"[slc] {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
