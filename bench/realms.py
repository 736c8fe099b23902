"""What realms cost a deployment that configures none (target: at most 5 % of a page).

Without REELM_REALMS there is no router, no realm middleware and no gateway queue; what remains on the request path
is a handful of calls that pick the one realm (``realms.atomic()`` instead of ``transaction.atomic()``, the
realm's connection, the realm's store) and a loop over in-transaction event subscribers that returns at once. This
script, in one process on a seeded embedded database:

1. times For You (signed in), Following and a like through Django's test client (no HTTP), as a page costs;
2. counts how often each of those calls runs per page (each wrapped with a counter for that pass only);
3. times each call against what it replaced (``timeit``, many repetitions), and
4. prints calls × extra cost per page, as a share of the page's median time.

The three-realm figures of issue 19 (cross-realm For You p99, outbox lag under load) are not measured here yet.

Run it with the project's interpreter:  .venv/bin/python bench/realms.py [--videos N] [--requests N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
import timeit
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from feed_web import add_seed_arguments, seed
from rich.table import Table
from transcode import SHARED_ENV, console, machine_summary, temporary_root

TARGET_SHARE = 0.05
#: The realm calls a page may make in a deployment without realms, each with what it stands for.
TOUCHES = {
    "current_realm": "the realm being worked for",
    "current_alias": "its database alias",
    "connection": "its database connection",
    "atomic": "a transaction on its database",
    "on_commit": "a callback on its commit",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_seed_arguments(parser, videos=20_000, accounts=4_000, likes=20_000, comments=4_000, sample_users=50)
    parser.add_argument("--requests", type=int, default=300, help="pages timed per endpoint (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the synthetic data (default 1)")
    return parser.parse_args(argv)


def _pages(client: Any, token: str, video_ids: list[str], count: int) -> dict[str, Callable[[], Any]]:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    liked = iter(video_ids * (count // max(1, len(video_ids)) + 2))

    def like() -> Any:
        video = next(liked)
        client.put(f"/api/videos/{video}/like", **auth)
        return client.delete(f"/api/videos/{video}/like", **auth)

    return {
        "For You (signed in)": lambda: client.get("/api/feed/for-you", **auth),
        "Following": lambda: client.get("/api/feed/following", **auth),
        "like and unlike": like,
    }


def _time(call: Callable[[], Any], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 400, response.content[:300]
    return times


def _count_touches(call: Callable[[], Any], count: int) -> Counter[str]:
    from reelm.core import realms

    counts: Counter[str] = Counter()
    originals = {name: getattr(realms, name) for name in TOUCHES}

    def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return fn(*args, **kwargs)

        return inner

    for name, fn in originals.items():
        setattr(realms, name, counted(name, fn))
    try:
        for _ in range(count):
            call()
    finally:
        for name, fn in originals.items():
            setattr(realms, name, fn)
    return Counter({name: n / count for name, n in counts.items()})


def _extra_cost_ns() -> dict[str, float]:
    """Each call against what it replaced, in nanoseconds per call (medians of 7 timeit runs)."""
    from django.db import connection, transaction

    from reelm.core import realms

    def per_call(statement: Callable[[], Any], number: int) -> float:
        return statistics.median(timeit.repeat(statement, number=number, repeat=7)) / number * 1e9

    def atomic_realm() -> None:
        with realms.atomic():
            pass

    def atomic_plain() -> None:
        with transaction.atomic():
            pass

    def noop() -> None:
        pass

    with transaction.atomic():  # a savepoint, as most of a page's transactions are, without a commit's I/O
        atomic = per_call(atomic_realm, 2000) - per_call(atomic_plain, 2000)
        on_commit = per_call(lambda: realms.on_commit(noop), 20_000) - per_call(
            lambda: transaction.on_commit(noop), 20_000
        )
    return {
        "current_realm": per_call(realms.current_realm, 200_000) - per_call(noop, 200_000),
        "current_alias": per_call(realms.current_alias, 200_000) - per_call(noop, 200_000),
        "connection": per_call(realms.connection, 200_000) - per_call(lambda: connection, 200_000),
        "atomic": atomic,
        "on_commit": on_commit,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with temporary_root() as root:
        for key in [k for k in os.environ if k.startswith("REELM_") and k not in SHARED_ENV]:
            del os.environ[key]
        os.environ.update(DJANGO_SETTINGS_MODULE="reelm.settings", REELM_DATA_DIR=str(root / "data"))
        (root / "data").mkdir()
        console.print(f"machine: {machine_summary()}")
        with console.status("seeding…"):
            tokens = seed(args)
        from django.test import Client

        from reelm.core import realms
        from reelm.videos.models import Video, Visibility
        from reelm.videos.states import VideoState

        assert not realms.configured(), "this measures a deployment without realms"
        visible = Video.objects.filter(visibility=Visibility.PUBLIC, state=VideoState.READY, owner__is_private=False)
        video_ids = [str(v) for v in visible.values_list("id", flat=True)[:200]]
        client = Client()
        pages = _pages(client, tokens[0], video_ids, args.requests)
        for call in pages.values():  # warm: the video index, the ranker, the caches
            _time(call, 20)
        extra = _extra_cost_ns()
        table = Table(title="Realm calls per page where no realms are configured")
        for column in ("page", "median ms", "p99 ms", "realm calls per page", "added per page µs", "share"):
            table.add_column(column, justify="left" if column in ("page", "realm calls per page") else "right")
        worst = 0.0
        for name, call in pages.items():
            times = _time(call, args.requests)
            touches = _count_touches(call, max(20, args.requests // 5))
            added_us = sum(touches[t] * max(0.0, extra[t]) for t in TOUCHES) / 1000
            median = statistics.median(times)
            share = added_us / (median * 1000)
            worst = max(worst, share)
            calls = ", ".join(f"{t} {touches[t]:.1f}" for t in TOUCHES if touches[t])
            p99 = sorted(times)[int(0.99 * (len(times) - 1))]
            table.add_row(name, f"{median:.2f}", f"{p99:.2f}", calls or "none", f"{added_us:.2f}", f"{share:.3%}")
        console.print(table)
        costs = ", ".join(f"{name} {ns:.0f} ns" for name, ns in extra.items())
        console.print(f"extra cost per call against what it replaced: {costs}")
        verdict = "[green]within[/green]" if worst <= TARGET_SHARE else "[red]over[/red]"
        console.print(f"worst share {worst:.3%}: {verdict} the target of {TARGET_SHARE:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
