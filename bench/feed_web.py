"""Benchmark Reelm's feed API on the embedded default (SQLite, a real ``reelm run``: gunicorn, 2 workers).

The data directory is seeded directly through the ORM before the server starts (bulk_create, synthetic rows:
no media, which the feed endpoints never read): accounts, ready videos spread over the last 30 days, a sample of
signed-in users with access tokens who follow 50-200 accounts each, likes and comments (rows, as For You counts
them, plus the denormalised counters the API shows).

A load generator *process* (Python threads, one keep-alive ``http.client`` connection each, 127.0.0.1 only, bounded
in time and requests) then measures, endpoint by endpoint at a fixed concurrency:

  following       GET /api/feed/following, Bearer token of a random sample user per request
  for-you anon    GET /api/feed/for-you, anonymous
  for-you auth    GET /api/feed/for-you, Bearer token of a random sample user
  trivial django  GET /api/nope: the API's JSON 404, through the whole Django + Ninja stack, no database
  static file     GET /static/reelm/app.css served by WhiteNoise: the web server's ceiling, no view at all

Targets (from the issue): feed p99 <= 50 ms and >= 50 % of the trivial Django view's requests/s.

Run it with the project's interpreter:  .venv/bin/python bench/feed_web.py [--videos N] [--duration S]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.table import Table
from transcode import (
    PYTHON,
    SHARED_ENV,
    ReelmServer,
    _interrupt_on_sigterm,
    console,
    machine_summary,
    settle,
    temporary_root,
)

from reelm.core.timing import parse as server_timing

P99_TARGET_MS = 50.0
RATIO_TARGET = 0.5
TRIVIAL = "trivial django"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    auth: bool
    #: > 0: each connection plays viewers swiping on: an untimed first page, then this many timed cursor pages
    session_pages: int = 0


ENDPOINTS = (
    Endpoint("following", "/api/feed/following", auth=True),
    Endpoint("for-you anon", "/api/feed/for-you", auth=False),
    Endpoint("for-you auth", "/api/feed/for-you", auth=True),
    Endpoint(TRIVIAL, "/api/nope", auth=False),
    Endpoint("static file", "/static/reelm/app.css", auth=False),
)


# --- seeding -------------------------------------------------------------------------------------------------


def uuid7_at(when: datetime) -> Any:
    """A UUIDv7 for a given time (seeded rows keep ids and created_at in the same order, as real ones do)."""
    import uuid

    ms = int(when.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (random.getrandbits(12) << 64) | (0b10 << 62) | random.getrandbits(62)
    return uuid.UUID(int=value)


def add_seed_arguments(
    parser: argparse.ArgumentParser, *, videos: int, accounts: int, likes: int, comments: int, sample_users: int = 200
) -> None:
    """The options ``seed`` reads, with each benchmark's own sizes as defaults."""
    parser.add_argument("--videos", type=int, default=videos, help=f"ready videos to seed (default {videos})")
    parser.add_argument("--accounts", type=int, default=accounts, help=f"accounts to seed (default {accounts})")
    parser.add_argument(
        "--sample-users",
        type=int,
        default=sample_users,
        help=f"signed-in users with follows (default {sample_users})",
    )
    parser.add_argument("--likes", type=int, default=likes, help=f"like rows on last-7-days videos (default {likes})")
    parser.add_argument("--comments", type=int, default=comments, help=f"comment rows (default {comments})")


def seed(args: argparse.Namespace) -> list[str]:
    """Fill the (already configured) database; return the sample users' access-token secrets."""
    import django
    from django.core.management import call_command
    from django.db import connection, transaction

    django.setup()
    call_command("migrate", "--no-input", verbosity=0)
    from reelm.accounts.models import AccessToken, User
    from reelm.accounts.services import TOKEN_PREFIX, hash_token
    from reelm.relations.models import Follow, FollowStatus
    from reelm.social.models import Comment, Like
    from reelm.videos.models import Video, Visibility
    from reelm.videos.states import VideoState

    rng = random.Random(args.seed)
    random.seed(args.seed)
    now = datetime.now(UTC)
    batch = 5000
    started = time.perf_counter()
    with transaction.atomic():
        users = []
        for i in range(args.accounts):
            joined = now - timedelta(days=60, seconds=args.accounts - i)
            users.append(
                User(
                    id=uuid7_at(joined),
                    username=f"u{i:06d}",
                    password="!",  # unusable: these accounts sign in with tokens only
                    is_private=rng.random() < 0.02,
                    date_joined=joined,
                )
            )
        User.objects.bulk_create(users, batch_size=batch)
        owners = [u.id for u in users]
        # A long tail: a few accounts post a lot, most post a little.
        weights = [1.0 / (rank + 10) for rank in range(len(owners))]
        video_owners = rng.choices(owners, weights=weights, k=args.videos)
        span = 30 * 24 * 3600
        times = sorted(now - timedelta(seconds=rng.uniform(60, span)) for _ in range(args.videos))
        videos = []
        for owner_id, created in zip(video_owners, times, strict=True):
            videos.append(
                Video(
                    id=uuid7_at(created),
                    owner_id=owner_id,
                    caption="synthetic #bench video",
                    visibility=Visibility.FOLLOWERS if rng.random() < 0.05 else Visibility.PUBLIC,
                    state=VideoState.READY,
                    source_key="",
                    duration=15.0,
                    width=1080,
                    height=1920,
                    ready_at=created,
                    like_count=rng.randint(0, 50),
                    comment_count=rng.randint(0, 10),
                )
            )
        # created_at is auto_now_add: switch that off while the synthetic times are written.
        created_at = Video._meta.get_field("created_at")
        created_at.auto_now_add = False
        try:
            for video, created in zip(videos, times, strict=True):
                video.created_at = created
            Video.objects.bulk_create(videos, batch_size=batch)
        finally:
            created_at.auto_now_add = True
        sample = rng.sample(users, args.sample_users)
        follows = []
        for user in sample:
            for followee in rng.sample(owners, rng.randint(50, 200)):
                if followee != user.id:
                    follows.append(Follow(owner_id=user.id, followee_id=followee, status=FollowStatus.ACCEPTED))
        Follow.objects.bulk_create(follows, batch_size=batch)
        secrets_out = []
        tokens = []
        for user in sample:
            secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
            secrets_out.append(secret)
            tokens.append(
                AccessToken(
                    owner=user, name="bench", prefix=secret[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(secret)
                )
            )
        AccessToken.objects.bulk_create(tokens, batch_size=batch)
        # Reaction rows on recent videos (For You counts rows made before its snapshot, not the counters).
        recent = [v for v, t in zip(videos, times, strict=True) if t > now - timedelta(days=7)]
        likes: set[tuple[Any, Any]] = set()
        while len(likes) < min(args.likes, len(recent) * 10):
            likes.add((rng.choice(owners), rng.choice(recent).id))
        Like.objects.bulk_create([Like(owner_id=o, video_id=v) for o, v in likes], batch_size=batch)
        Comment.objects.bulk_create(
            [
                Comment(owner_id=rng.choice(owners), video_id=rng.choice(recent).id, body="nice")
                for _ in range(args.comments)
            ],
            batch_size=batch,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    console.print(
        f"seeded {len(users)} accounts, {len(videos)} videos ({len(recent)} in the last 7 days), "
        f"{len(follows)} follows of {len(sample)} sample users, {len(likes)} likes, {args.comments} comments "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return secrets_out


def explain(secret: str) -> list[tuple[str, list[str]]]:
    """EXPLAIN QUERY PLAN of every query one following and one for-you page run (as the sample user)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reelm.accounts.services import token_authenticate
    from reelm.feed.feeds import feed_get
    from reelm.videos.cards import video_cards

    user = token_authenticate(secret)
    plans = []
    for name in ("following", "for-you"):
        with CaptureQueriesContext(connection) as captured:
            page = feed_get(name).page(user, None, 20)
            video_cards(page.ids, user)
        for query in captured.captured_queries:
            sql = query["sql"]
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = [row[-1] for row in cursor.fetchall()]
            plans.append((f"{name} ({float(query['time']) * 1000:.1f} ms): {sql[:110]}…", plan))
    connection.close()
    return plans


# --- the load generator (runs as its own process) -------------------------------------------------------------


def load(args: argparse.Namespace) -> int:
    """Hit one path from ``--connections`` threads until ``--duration`` or ``--max-requests``; print JSON."""
    # The measuring process must not pause mid-request: each response leaves a tracked dict (its Server-Timing),
    # and the collector's passes over them would be counted as the server's latency. A few seconds of requests
    # make no cyclic garbage worth collecting.
    gc.disable()
    tokens = json.loads(Path(args.tokens).read_text()) if args.tokens else []
    deadline = time.perf_counter() + args.duration
    lock = threading.Lock()
    latencies: list[float] = []
    timings: list[dict[str, float] | None] = []  # each response's Server-Timing, when the server sends it
    viewers: list[int] = []  # each request's token, by its index in --tokens (-1: none)
    statuses: dict[int, int] = {}
    errors = [0]
    budget = [args.max_requests]

    def worker(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        mine: list[float] = []
        my_timings: list[dict[str, float] | None] = []
        my_viewers: list[int] = []
        seen: dict[int, int] = {}
        cursor: str | None = None  # sessions: where this connection's viewer is
        left = 0
        headers: dict[str, str] = {}
        who = -1
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            if not args.session_pages or not left or cursor is None:
                who = rng.randrange(len(tokens)) if tokens else -1
                headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens else {}
            path = args.path
            if args.session_pages and (not left or cursor is None):  # a new viewer opens the app: untimed
                try:
                    conn.request("GET", path, headers=headers)
                    cursor = json.loads(conn.getresponse().read()).get("next_cursor")
                except (OSError, http.client.HTTPException, ValueError):
                    errors[0] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                    continue
                left = args.session_pages
                if cursor is None:
                    continue
            if args.session_pages:
                path = f"{args.path}?cursor={cursor}"
                left -= 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            timing = response.getheader("Server-Timing")
            my_timings.append(server_timing(timing) if timing else None)
            my_viewers.append(who)
            seen[response.status] = seen.get(response.status, 0) + 1
            if args.session_pages:
                try:
                    cursor = json.loads(body).get("next_cursor")
                except ValueError:
                    cursor = None
        conn.close()
        with lock:
            latencies.extend(mine)
            timings.extend(my_timings)
            viewers.extend(my_viewers)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    out = {"latencies": latencies, "wall": wall, "statuses": statuses, "errors": errors[0]}
    print(json.dumps({**out, "timings": timings, "viewers": viewers}))
    return 0


@dataclass
class Measured:
    endpoint: Endpoint
    latencies: list[float]
    wall: float
    statuses: dict[str, int]
    errors: int
    timings: list[dict[str, float] | None] = field(default_factory=list)  # aligned with latencies
    viewers: list[int] = field(default_factory=list)  # aligned with latencies: the token's index

    @classmethod
    def merged(cls, runs: Sequence[Measured]) -> Measured:
        """Several rounds of one endpoint as one measurement."""
        out = cls(runs[0].endpoint, [], 0.0, {}, 0)
        for m in runs:
            out.latencies += m.latencies
            out.timings += m.timings
            out.viewers += m.viewers
            out.wall += m.wall
            out.errors += m.errors
            for status, count in m.statuses.items():
                out.statuses[status] = out.statuses.get(status, 0) + count
        return out

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def measure(server: ReelmServer, endpoint: Endpoint, tokens_file: Path, args: argparse.Namespace) -> Measured:
    command = [
        str(PYTHON), __file__, "_load", "--port", str(server.port), "--path", endpoint.path,
        "--connections", str(args.connections), "--duration", str(args.duration),
        "--max-requests", str(args.max_requests),
    ]  # fmt: skip
    if endpoint.auth:
        command += ["--tokens", str(tokens_file)]
    if endpoint.session_pages:
        command += ["--session-pages", str(endpoint.session_pages)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60, check=True)
    raw = json.loads(done.stdout)
    return Measured(
        endpoint, raw["latencies"], raw["wall"], raw["statuses"], raw["errors"], raw["timings"], raw["viewers"]
    )


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "_load":  # internal: the load generator process
        sub = argparse.ArgumentParser(prog="feed_web.py _load")
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--path", required=True)
        sub.add_argument("--connections", type=int, default=8)
        sub.add_argument("--duration", type=float, default=10)
        sub.add_argument("--max-requests", type=int, default=50_000)
        sub.add_argument("--tokens")
        sub.add_argument("--session-pages", type=int, default=0)
        args = sub.parse_args(argv[1:])
        args.mode = "load"
        return args
    parser = argparse.ArgumentParser(
        description="Seed a fresh embedded Reelm (SQLite) with synthetic accounts, videos, follows and reactions, "
        "start a real `reelm run` on a free loopback port and measure the feed API's latency and throughput "
        "against a trivial Django view (the API's JSON 404) and a static file, from a separate load process.",
        epilog="Run with the project's interpreter: .venv/bin/python bench/feed_web.py",
    )
    add_seed_arguments(parser, videos=100_000, accounts=20_000, likes=100_000, comments=20_000)
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per endpoint and round (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds over the endpoints (default 2)")
    parser.add_argument(
        "--max-requests", type=int, default=50_000, help="request cap per endpoint and round (default 50000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for the synthetic data (default 1)")
    parser.add_argument(
        "--quiet-wait", type=float, default=20, help="wait up to this long for an idle machine per endpoint (0: never)"
    )
    args = parser.parse_args(argv)
    args.mode = "bench"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.mode == "load":
        return load(args)
    _interrupt_on_sigterm()
    try:
        with temporary_root() as root, contextlib.ExitStack() as stack:
            os.environ["DJANGO_SETTINGS_MODULE"] = "reelm.settings"
            for key in [k for k in os.environ if k.startswith("REELM_") and k not in SHARED_ENV]:
                del os.environ[key]
            os.environ["REELM_DATA_DIR"] = str(root / "data")
            (root / "data").mkdir()
            machine = machine_summary()
            console.print(f"machine: {machine}")
            with console.status("seeding…"):
                tokens = seed(args)
            tokens_file = root / "tokens.json"
            tokens_file.write_text(json.dumps(tokens))
            plans = explain(tokens[0])
            server = ReelmServer(root, 0.05)
            stack.callback(server.stop)
            with console.status(f"starting reelm run on {server.base}…"):
                server.start()
            with console.status("warming up…"):
                for endpoint in ENDPOINTS:
                    warm = argparse.Namespace(connections=2, duration=2, max_requests=200)
                    measure(server, endpoint, tokens_file, warm)
            results: dict[str, list[Measured]] = {e.name: [] for e in ENDPOINTS}
            for round_index in range(1, args.rounds + 1):
                for endpoint in ENDPOINTS:
                    settle(args.quiet_wait)
                    with console.status(f"round {round_index}/{args.rounds}: {endpoint.name}…"):
                        m = measure(server, endpoint, tokens_file, args)
                    results[endpoint.name].append(m)
                    console.print(
                        f"round {round_index} {endpoint.name}: {m.rps:.0f} req/s, p50 {m.pct(0.5):.1f} ms, "
                        f"p99 {m.pct(0.99):.1f} ms, statuses {m.statuses}, errors {m.errors}"
                    )
            report(results, args, plans)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cleaned up[/yellow]")
        return 130
    return 0


def report(results: dict[str, list[Measured]], args: argparse.Namespace, plans: list[tuple[str, list[str]]]) -> None:
    def pooled(name: str) -> Measured:
        return Measured.merged(results[name])

    trivial = pooled(TRIVIAL).rps
    table = Table(
        title=f"Feed API, {args.connections} connections, {args.rounds} x {args.duration:g} s per endpoint",
        title_justify="left",
    )
    for column in ("endpoint", "path", "requests", "req/s", "p50 ms", "p99 ms", "vs trivial", "statuses", "target"):
        table.add_column(column, justify="left" if column in ("endpoint", "path", "statuses") else "right")
    for endpoint in ENDPOINTS:
        m = pooled(endpoint.name)
        ratio = m.rps / trivial if trivial else float("nan")
        verdict = ""
        if endpoint.path.startswith("/api/feed"):
            ok = m.pct(0.99) <= P99_TARGET_MS and ratio >= RATIO_TARGET
            verdict = "[green]met[/green]" if ok else "[red]missed[/red]"
        table.add_row(
            endpoint.name,
            endpoint.path + (" (Bearer)" if endpoint.auth else ""),
            str(len(m.latencies)),
            f"{m.rps:.0f}",
            f"{m.pct(0.5):.1f}",
            f"{m.pct(0.99):.1f}",
            f"{ratio:.0%}",
            " ".join(f"{k}×{v}" for k, v in sorted(m.statuses.items())) + (f" err×{m.errors}" if m.errors else ""),
            verdict,
        )
    console.print(table)
    console.print(
        f"targets: feed p99 <= {P99_TARGET_MS:g} ms and >= {RATIO_TARGET:.0%} of the trivial view's req/s "
        f"(per-round req/s: " + ", ".join(f"{n} {[round(m.rps) for m in results[n]]}" for n in results) + ")"
    )
    console.print("[bold]EXPLAIN QUERY PLAN[/bold] (one page of each feed, as a sample user):")
    for label, plan in plans:
        console.print(f"  {label}")
        for line in plan:
            console.print(f"      {line}", highlight=False)


if __name__ == "__main__":
    sys.exit(main())
