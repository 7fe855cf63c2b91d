"""``slc-deadletters``: list, inspect and replay dead letters.

    slc-deadletters list                         # every dead-letter stream, with its entries
    slc-deadletters list --group notifications   # one consumer group's
    slc-deadletters show slc.portfolio.goal.set.v1:dlq:notifications 1764000000000-0
    slc-deadletters replay slc.portfolio.goal.set.v1:dlq:notifications 1764000000000-0
    slc-deadletters replay slc.portfolio.goal.set.v1:dlq:notifications --all

Redis is ``--redis-url``, else ``REDIS_URL``, else the operator's URL in ``var/demo.env`` (what
``make run`` writes, in the directory it runs in), else ``redis://127.0.0.1:6379/0``; unless
given, which one is said on stderr, without its password. Replaying hands the original entry
back to the group that gave up on it (on its replay stream, ``<stream>:replay:<group>``) and
removes it from the dead-letter stream; nothing is published again on the shared stream, so
other groups never see it twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from shared.messaging.deadletters import (
    DeadLetter,
    dead_letter_streams,
    get_dead_letter,
    is_dlq,
    list_dead_letters,
    replay,
)
from shared.messaging.group_keys import replay_stream
from shared.messaging.redis_streams import url_without_password

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Where `make run` (python -m devstack) writes the running system's URLs, the operator's Redis
# user among them.
DEMO_ENV = Path("var") / "demo.env"


def redis_url_to_use(given: str | None, environment: Mapping[str, str]) -> tuple[str, str]:
    """The Redis to talk to, and where its URL came from."""
    if given:
        return given, "--redis-url"
    if environment.get("REDIS_URL"):
        return environment["REDIS_URL"], "REDIS_URL"
    if DEMO_ENV.is_file():
        for line in DEMO_ENV.read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name == "REDIS_URL" and value:
                return value, f"{DEMO_ENV}, written by make run"
    return DEFAULT_REDIS_URL, "the default"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slc-deadletters", description="List, inspect and replay dead-lettered events."
    )
    parser.add_argument(
        "--redis-url",
        help="Redis server (default: $REDIS_URL, else REDIS_URL in ./var/demo.env,"
        f" else {DEFAULT_REDIS_URL})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="dead letters, newest last")
    listing.add_argument("dlq", nargs="?", help="one dead-letter stream (default: all of them)")
    listing.add_argument("--group", help="only this consumer group's dead letters")
    listing.add_argument("--count", type=int, default=100, help="at most this many per stream")
    show = commands.add_parser("show", help="one dead letter, with its original entry")
    show.add_argument("dlq")
    show.add_argument("id")
    again = commands.add_parser(
        "replay", help="hand dead letters back to the group that gave up on them"
    )
    again.add_argument("dlq")
    again.add_argument("id", nargs="?", help="the dead letter's id (or --all)")
    again.add_argument("--all", action="store_true", help="replay every letter on the stream")
    return parser


async def _run(args: argparse.Namespace) -> int:
    if getattr(args, "dlq", None) and not is_dlq(args.dlq):
        raise SystemExit(
            f"{args.dlq!r} is not a dead-letter stream (they are named <stream>:dlq:<group>)"
        )
    if args.redis_from != "--redis-url":
        shown = url_without_password(args.redis_url)
        print(f"slc-deadletters: Redis {shown} (from {args.redis_from})", file=sys.stderr)
    redis = Redis.from_url(args.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        if args.command == "list":
            return await _list(redis, args)
        if args.command == "show":
            letter = await _letter(redis, args.dlq, args.id)
            detail = _detail(letter)
            print(json.dumps(detail, indent=2) if args.json else _detail_text(detail))
            return 0
        return await _replay(redis, args)
    finally:
        await redis.aclose()


async def _list(redis: Redis, args: argparse.Namespace) -> int:
    streams = [args.dlq] if args.dlq else await dead_letter_streams(redis, group=args.group)
    letters: list[DeadLetter] = []
    for dlq in streams:
        letters += await list_dead_letters(redis, dlq, count=args.count)
    if args.json:
        print(json.dumps([letter.summary() for letter in letters], indent=2))
        return 0
    if not letters:
        print("no dead letters")
        return 0
    for letter in letters:
        s = letter.summary()
        print(
            f"{s['dlq']}  {s['id']}  event {s['event_id'] or '?'}  group {s['group']}"
            f"  attempts {s['deliveries']}  at {s['dead_lettered_at']}\n    {s['error']}"
        )
    print(f"{len(letters)} dead letter(s) in {len(streams)} stream(s)")
    return 0


async def _replay(redis: Redis, args: argparse.Namespace) -> int:
    if args.all == bool(args.id):
        raise SystemExit("give a dead letter's id or --all, not both")
    if args.all:
        letters = await list_dead_letters(redis, args.dlq, count=1_000_000)
    else:
        letters = [await _letter(redis, args.dlq, args.id)]
    replayed, skipped = [], 0
    for letter in letters:
        try:
            new_id = await replay(redis, letter)
        except ValueError as cannot:  # (nothing to replay in it: the others still go)
            if not args.all:
                raise
            print(f"slc-deadletters: skipped: {cannot}", file=sys.stderr)
            skipped += 1
            continue
        target = replay_stream(letter.stream, letter.group)
        replayed.append({"id": letter.id, "replay_stream": target, "new_entry_id": new_id})
        if not args.json:
            print(f"replayed {letter.id} to group {letter.group} ({target}) as {new_id}")
    if args.json:
        print(json.dumps(replayed, indent=2))
    elif not replayed:
        print("no dead letters to replay")
    return 1 if skipped else 0


async def _letter(redis: Redis, dlq: str, entry_id: str) -> DeadLetter:
    letter = await get_dead_letter(redis, dlq, entry_id)
    if letter is None:
        raise SystemExit(f"no dead letter {entry_id} on {dlq}")
    return letter


def _detail(letter: DeadLetter) -> dict[str, Any]:
    original = {
        key.decode(errors="replace"): value.decode(errors="replace")
        for key, value in letter.original.items()
    }
    return {**letter.summary(), "original": original}


def _detail_text(detail: dict[str, Any]) -> str:
    lines = [f"{key}: {value}" for key, value in detail.items() if key != "original"]
    lines.append("original entry:")
    lines += [f"  {key}: {value}" for key, value in detail["original"].items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.redis_url, args.redis_from = redis_url_to_use(args.redis_url, os.environ)
    try:
        return asyncio.run(_run(args))
    except ResponseError as error:  # reached Redis, which refused the command
        print(f"slc-deadletters: Redis refused the command: {error}", file=sys.stderr)
        return 2
    except RedisError as error:
        shown = url_without_password(args.redis_url)
        print(f"slc-deadletters: cannot reach Redis at {shown}: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a URL that is not Redis's, a letter with nothing to replay
        print(f"slc-deadletters: {_first_line(error)}", file=sys.stderr)
        return 2


def _first_line(error: Exception) -> str:
    """The error's reason, without a URL that may hold a password."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return "not a Redis URL (redis://, rediss:// or unix://)" if "Redis URL" in text else text


if __name__ == "__main__":
    sys.exit(main())
