"""The ``reelm`` command: run, serve, worker, migrate, createadmin, check, storage, feed, manage."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelm.storage.console import Output

DEFAULT_BIND = "127.0.0.1:8000"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelm.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    _django()
    from django.core.management import call_command

    call_command(*args)


def _serve_command(bind: str, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "reelm.wsgi:application",
        "--bind", bind, "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--access-logfile", "-", "--timeout", "120", "--graceful-timeout", "10",
        # The control socket's default path is shared by every gunicorn on the machine; Reelm doesn't use it.
        "--no-control-socket",
    ]  # fmt: skip


def _worker_command(threads: int | None) -> list[str]:
    command = [sys.executable, "-m", "reelm.cli", "worker"]
    return [*command, "--threads", str(threads)] if threads else command


def cmd_run(args: argparse.Namespace) -> int:
    """Migrate, then run the web server and a worker together until Ctrl-C."""
    _migrate_all("--verbosity", "1")
    children = [
        subprocess.Popen(_serve_command(args.bind, args.web_workers, args.threads)),
        subprocess.Popen(_worker_command(args.worker_threads)),
    ]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    url = f"http://{args.bind}/"
    announced = False
    while True:
        for child in children:
            if child.poll() is not None and not stopping:
                print(f"reelm: a child process exited with {child.returncode}; stopping", file=sys.stderr)
                stop(signal.SIGTERM, None)
        if stopping:
            break
        if not announced and _responds(url):
            print(
                f"\n  Reelm is ready at {url}\n  Create an operator account with: "
                f"{_reelm_command()} createadmin --username NAME --email ADDRESS\n",
                flush=True,
            )
            announced = True
        time.sleep(0.5)
    code = 0
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
        code = code or (child.returncode if child.returncode and child.returncode > 0 else 0)
    return code


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status < 500)
    except OSError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    if args.dev:
        _manage("runserver", args.bind)
        return 0
    from reelm.config import env_bool

    if env_bool("REELM_DEBUG", False):
        # Debug pages show settings and source to anyone; a production server never runs with them.
        print(
            "reelm: REELM_DEBUG is on; unset it for the production server, or use `reelm serve --dev`", file=sys.stderr
        )
        return 2
    os.execv(sys.executable, _serve_command(args.bind, args.workers, args.threads))  # noqa: S606
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from reelm.config import env_int, worker_threads
    from reelm.core.queues import QUEUES

    # Background work (transcodes, candidate pools, refits) yields the CPU to the web processes on a shared
    # machine; ffmpeg inherits it.
    os.nice(max(0, env_int("REELM_WORKER_NICE", 10)))
    chosen: dict[str, int | None] = dict(args.queue) if args.queue else dict.fromkeys(QUEUES)
    threads = {name: count or args.threads or worker_threads(name) for name, count in chosen.items()}
    _django()
    from django.utils.module_loading import autodiscover_modules

    from reelm.core import realms
    from reelm.core.queues import consume
    from reelm.storage.presence import presence_start

    autodiscover_modules("tasks")  # every app's tasks, each registered on its queue
    if not realms.configured() and not args.queue:
        threads.pop("gateway", None)  # one realm sends nothing to another
    presence_start("worker")
    consume(threads)
    return 0


def _queue_option(text: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME=THREADS`` of ``--queue``."""
    from reelm.core.queues import QUEUES

    name, sep, count = text.partition("=")
    if name not in QUEUES:
        raise argparse.ArgumentTypeError(f"there is no queue {name!r}; the queues are {', '.join(QUEUES)}")
    if not sep:
        return name, None
    try:
        return name, _positive(count)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"{text!r}: the threads after '=' must be a whole number, 1 or more") from None


def _migrate_all(*options: str) -> None:
    """The directory's database first, then each realm's: a realm's account rows refer to directory entries."""
    _django()
    from django.conf import settings

    for alias in settings.DATABASES:
        if len(settings.DATABASES) > 1:
            print(f"Database {alias}:", flush=True)
        _manage("migrate", "--no-input", "--database", alias, *options)


def cmd_migrate(args: argparse.Namespace) -> int:
    _migrate_all()
    return 0


def _reelm_command() -> str:
    """How to type this command from the current directory (the virtual environment is rarely on PATH)."""
    script = Path(sys.executable).parent / "reelm"
    if shutil.which("reelm") == str(script):
        return "reelm"
    try:
        return os.path.join(".", str(script.relative_to(Path.cwd())))
    except ValueError:
        return str(script)


def _ask(prompt: str) -> str:
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def cmd_createadmin(args: argparse.Namespace) -> int:
    """An operator account, without Django's interactive-only createsuperuser: the password comes from
    REELM_ADMIN_PASSWORD, standard input (--password-stdin) or a prompt on a terminal."""
    import getpass

    interactive = sys.stdin.isatty()
    username = args.username or (_ask("Username: ") if interactive else "")
    if not username:
        print("reelm: give the account a name: reelm createadmin --username NAME", file=sys.stderr)
        return 2
    password = os.environ.get("REELM_ADMIN_PASSWORD", "")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not password and interactive:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            print("reelm: the two passwords differ; nothing was created", file=sys.stderr)
            return 2
    if not password:
        print(
            "reelm: no password: set REELM_ADMIN_PASSWORD, pass --password-stdin, or run this on a terminal",
            file=sys.stderr,
        )
        return 2
    _django()
    from django.db import IntegrityError

    from reelm.accounts.models import User
    from reelm.accounts.services import user_create
    from reelm.core import realms
    from reelm.core.errors import ReelmError

    realm = args.realm or realms.default_realm()
    try:
        user = user_create(username=username, password=password, email=args.email or "", realm=realm)
        with realms.working_for(realm):
            User.objects.filter(id=user.id).update(is_staff=True, is_superuser=True)
    except ReelmError as exc:
        print(f"reelm: {exc.message} Nothing was created.", file=sys.stderr)
        return 2
    except IntegrityError:  # made by a concurrent command between the check and the insert
        print(f"reelm: the username {username!r} is taken. Nothing was created.", file=sys.stderr)
        return 2
    print(f"Created operator account {username!r}: sign in at /admin/.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from reelm.config import ConfigError
    from reelm.site.health import report, run_checks

    try:
        _django()
    except ConfigError as exc:
        report(False, "configuration", str(exc))
        return 1
    return 0 if run_checks() else 1


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["reelm manage", *args.args])
    return 0


def cmd_storage_migrate(args: argparse.Namespace) -> int:
    """Copy, verify, switch and purge, as asked; each step refuses rather than risk an object."""
    _django()
    from reelm.core import realms
    from reelm.storage.console import Output

    out = Output()
    if realms.configured():
        try:
            args.realm = realms.realm(args.realm or realms.default_realm()).name
        except realms.RealmError as exc:
            out.error(str(exc))
            return 2
        working_for: contextlib.AbstractContextManager[object] = realms.working_for(args.realm)
    else:  # one database: the realms of REELM_REALM_STORAGE_URLS share it
        args.realm = args.realm or "default"
        working_for = contextlib.nullcontext()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as cleanly as on Ctrl-C
    try:
        with working_for:
            return _storage_command(args, out)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _storage_command(args: argparse.Namespace, out: Output) -> int:
    from reelm.storage import migration
    from reelm.storage.base import StorageError

    try:
        if args.keep_copies and not args.abort:
            out.error("--keep-copies goes with --abort")
            return 2
        if args.abort and (args.switch or args.purge_old or args.verify_only or args.dry_run):
            out.error("--abort goes alone (with --keep-copies at most)")
            return 2
        if args.dry_run:
            plan = migration.migration_plan(
                realm=args.realm, target_url=args.to, switch=args.switch, purge=args.purge_old
            )
            out.plan(plan)
            return 1 if plan.problem else 0
        if args.abort:
            return _storage_abort(args, out)
        if args.verify_only:
            return _storage_verify(args, out)
        return _storage_migrate(args, out)
    except (migration.MigrationError, StorageError, ValueError) as exc:
        out.error(str(exc))
        return 1
    except KeyboardInterrupt:
        out.error(
            "interrupted; finished copies are recorded. Run the same command again to resume "
            "(meanwhile the site keeps writing to both stores and reading from either)."
        )
        return 130


def _storage_migrate(args: argparse.Namespace, out: Output) -> int:
    from reelm.storage import migration
    from reelm.storage.models import RunState

    run = migration.migration_begin(realm=args.realm, target_url=args.to)
    with out.progress(f"Copying {run.source_url} → {run.target_url}") as progress:
        report = migration.migration_copy(run, concurrency=args.concurrency, progress=progress)
    out.copy_summary(run, report)
    if run.objects_verified < run.objects_total:
        out.unfinished(migration.unfinished_rows(run))
        out.error(
            f"{run.objects_total - run.objects_verified} objects are not copied yet (why is listed above, and in "
            "`reelm storage status`); run the same command again to retry them"
        )
        return 1
    if args.switch and run.state not in (RunState.SWITCHED, RunState.PURGED):
        with out.progress("Comparing both stores before the switch") as progress:
            migration.migration_switch(run, concurrency=args.concurrency, progress=progress)
        out.say(f"Switched: {run.target_url} is now the primary store; reads fall back to {run.source_url}.")
    if args.purge_old:
        with out.progress("Re-reading every old object and its copy before deleting") as progress:
            purged = migration.migration_purge(run, concurrency=args.concurrency, progress=progress)
        out.purge(purged, run.source_url)
        out.say(f"Done. Set REELM_STORAGE_URL (or the realm's entry) to {run.target_url} at your next restart.")
    elif run.state == RunState.SWITCHED:
        out.say("Next: check the site, then run the same command with --purge-old to delete the old copies.")
    elif not args.switch:
        out.say("Next: run the same command with --switch to make the new store primary.")
    return 0


def _storage_abort(args: argparse.Namespace, out: Output) -> int:
    from reelm.storage import migration

    migration.abortable(args.realm, args.to)  # refuses before any progress output
    with out.progress(f"Aborting the migration of realm {args.realm!r}") as progress:
        report = migration.migration_abort(
            realm=args.realm,
            target_url=args.to,
            keep_copies=args.keep_copies,
            concurrency=args.concurrency,
            progress=progress,
        )
    out.abort(report, args.realm, args.to, keep_copies=args.keep_copies)
    return 0


def _storage_verify(args: argparse.Namespace, out: Output) -> int:
    from reelm.storage import migration, registry
    from reelm.storage.location import overlap

    source_url = migration.source_url_for(args.realm, args.to)
    if why := overlap(source_url, args.to):
        out.error(f"nothing to compare: {why}")
        return 1
    run = migration.run_for(args.realm, args.to)
    source, target = registry._cached(source_url), registry.store_from_url(args.to)
    with out.progress(f"Comparing {source_url} with {args.to}") as progress:
        comparison = migration.stores_compare(
            source, target, run=run, concurrency=args.concurrency, reread=args.reread, progress=progress
        )
    out.comparison(comparison, source_url, args.to)
    return 0 if comparison.clean else 1


def cmd_storage_status(args: argparse.Namespace) -> int:
    _django()
    from django.db import DatabaseError, connection

    from reelm.core import realms
    from reelm.storage.console import Output
    from reelm.storage.models import StoreConfig
    from reelm.storage.presence import alive_processes
    from reelm.storage.routing import current_route

    out = Output()
    try:
        configs = {config.realm: config for config in StoreConfig.objects.all()}
    except DatabaseError:
        # No such table (SQLite) or relation (PostgreSQL): say so; any other database error keeps its traceback.
        if StoreConfig._meta.db_table in connection.introspection.table_names():
            raise
        out.error("the database has no tables yet: run `reelm migrate`")
        return 1
    names = realms.realm_names() if realms.configured() else sorted({"default", *settings_realms(), *configs})
    for realm in names:
        route = current_route(realm)
        reads = f"reads {route.new_url}, then {route.old_url}" if route.old_url else f"uses {route.primary_url}"
        out.say(f"realm {realm!r}: {route.phase} (v{route.version}), {reads}")
    alive = alive_processes()
    running = ", ".join(f"{process.role} {process.name}" for process in alive)
    out.say(f"{len(alive)} running processes report in" + (f": {running}" if running else ""))
    for realm in realms.realm_names():
        with realms.working_for(realm):
            _storage_runs(out)
    return 0


def _storage_runs(out: Output) -> None:
    from reelm.storage.models import MigrationRun, ObjectState

    for run in MigrationRun.objects.all()[:10]:
        counts = {state: run.items.filter(state=state).count() for state in ObjectState.values}
        out.say(
            f"run {run.id} {run.realm!r}: {run.source_url} → {run.target_url}, {run.state}, started {run.created_at:%Y-%m-%d %H:%M}"
        )
        out.say("  " + ", ".join(f"{count} {state}" for state, count in counts.items()))
        for item in run.items.filter(state=ObjectState.FAILED)[:10]:
            out.say(f"  failed: {item.key}: {item.error}")


def cmd_feed_rebuild(args: argparse.Namespace) -> int:
    """Refit every vector, recompute co-engagement and reindex, with a progress bar."""
    _django()
    from rich.console import Console

    from reelm.recommend.console import rebuild_progress, rebuild_table
    from reelm.recommend.rebuild import rebuild

    console = Console()
    with rebuild_progress(console) as progress:
        report = rebuild(progress)
    console.print(rebuild_table(report))
    return 0


def cmd_realm(args: argparse.Namespace) -> int:
    """``reelm realm list|classify|audit|access|gateway``: each prints a table, or JSON with ``--json``."""
    _django()
    from django.db import DatabaseError
    from rich.console import Console

    from reelm.core.scopes import classification_markdown
    from reelm.residency import console

    if args.realm_command == "classify" and args.markdown:
        sys.stdout.write(classification_markdown())
        return 0
    show = {
        "list": console.realm_list,
        "classify": console.realm_classify,
        "audit": console.realm_audit,
        "access": console.realm_access_log,
        "gateway": console.realm_gateway,
    }[args.realm_command]
    try:
        return int(show(Console(), as_json=args.json) or 0)
    except DatabaseError as exc:
        print(
            f"reelm: cannot read the databases ({exc}); has `reelm migrate` run since the last upgrade?",
            file=sys.stderr,
        )
        return 2


def settings_realms() -> list[str]:
    from django.conf import settings

    return list(settings.REELM_REALM_STORAGE_URLS)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelm",
        description="Reelm, a self-hostable short-video network. Configure with REELM_* environment variables "
        "(REELM_DATA_DIR, REELM_STORAGE_URL, REELM_SECRET_KEY, ...).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from reelm.core.queues import QUEUES

    queue_names = ", ".join(QUEUES)
    run = sub.add_parser(
        "run",
        help=f"migrate, then run the web server and a worker consuming every queue ({queue_names}) together "
        "(embedded default)",
    )
    run.add_argument("--bind", default=DEFAULT_BIND, help=f"address to listen on (default {DEFAULT_BIND})")
    run.add_argument("--web-workers", type=int, default=2, help="web server processes (default 2)")
    run.add_argument("--threads", type=int, default=4, help="threads per web process (default 4)")
    run.add_argument(
        "--worker-threads",
        type=int,
        default=None,
        help="the worker's threads per queue (default REELM_WORKER_THREADS_<QUEUE>, else REELM_WORKER_THREADS, else 2)",
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="run the web server only (gunicorn; --prod is the default)")
    serve.add_argument("--bind", default=DEFAULT_BIND, help=f"address to listen on (default {DEFAULT_BIND})")
    # The CPUs this process may run on (its cpuset), where the system can tell.
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    serve.add_argument("--workers", type=_positive, default=cpus, help=f"processes (default: one per CPU, here {cpus})")
    serve.add_argument("--threads", type=_positive, default=4, help="threads per process (default 4)")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument(
        "--prod",
        action="store_true",
        help="the production server (the default): gunicorn with --workers processes, static files from "
        "WhiteNoise, debug off (refuses REELM_DEBUG)",
    )
    mode.add_argument("--dev", action="store_true", help="Django's auto-reloading development server instead")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker",
        help=f"run a background worker on the task queues ({queue_names})",
        description="Take tasks from the named queues and run them; any number of workers may share the queues "
        "(REELM_QUEUE_URL). The queues: "
        + "; ".join(f"{queue.name} ({queue.purpose})" for queue in QUEUES.values())
        + ". Ctrl-C lets running tasks finish (a second Ctrl-C stops at once); SIGTERM stops at once.",
    )
    worker.add_argument(
        "--queue",
        action="append",
        type=_queue_option,
        metavar="NAME[=THREADS]",
        help=f"consume this queue ({queue_names}), with THREADS tasks at once; repeat for several queues "
        "(default: every queue)",
    )
    worker.add_argument(
        "--threads",
        type=int,
        default=None,
        help="tasks run at once per queue, unless --queue says (default REELM_WORKER_THREADS_<QUEUE>, else "
        "REELM_WORKER_THREADS, else 2)",
    )
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or upgrade the database tables")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("createadmin", help="create an operator account for the admin console at /admin/")
    admin.add_argument("--username", help="the account's username")
    admin.add_argument("--email", help="the account's e-mail address")
    admin.add_argument("--realm", help="the realm the account lives in and administers (default: the default realm)")
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (else REELM_ADMIN_PASSWORD, else a prompt on a terminal)",
    )
    admin.set_defaults(func=cmd_createadmin)

    check = sub.add_parser("check", help="check the configuration, database, storage and ffmpeg")
    check.set_defaults(func=cmd_check)

    storage = sub.add_parser("storage", help="move media to another object store while the site keeps serving")
    storage_sub = storage.add_subparsers(dest="storage_command", required=True, metavar="STORAGE_COMMAND")
    migrate_store = storage_sub.add_parser(
        "migrate",
        help="copy every object to another store, verify, switch, purge (resumable)",
        description="Copy every object of a realm (originals, renditions, posters, avatars, exports) to the store "
        "at --to, verifying each copy by SHA-256. From the first run until --switch the site writes to both stores; "
        "until --purge-old it reads the new store first and falls back to the old. Interrupt it at any time "
        "(Ctrl-C) and run "
        "the same command again to resume. Typical use: run it once, then again with --switch, then again with "
        "--purge-old. Before the realm starts using the new store, it is tried from here and from every running web "
        "and worker process (write, read, range, list, delete); --abort goes back at any point before --purge-old.",
    )
    migrate_store.add_argument(
        "--to", required=True, metavar="URL", help="the new store (file://, s3://, gs://, az://)"
    )
    migrate_store.add_argument("--realm", help="the realm to move (default: the default realm)")
    migrate_store.add_argument(
        "--concurrency", type=_positive, default=8, metavar="N", help="objects copied at once (default 8)"
    )
    migrate_store.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    migrate_store.add_argument(
        "--verify-only",
        action="store_true",
        help="only compare the stores: missing, differing and extra objects (exit 1 if they differ)",
    )
    migrate_store.add_argument(
        "--reread", action="store_true", help="with --verify-only: hash every object, even ones verified before"
    )
    migrate_store.add_argument(
        "--switch",
        action="store_true",
        help="once everything is copied and the stores are identical, make the new store primary",
    )
    migrate_store.add_argument(
        "--purge-old",
        action="store_true",
        help="after the switch: re-check every old object against its copy, then delete the old copies",
    )
    migrate_store.add_argument(
        "--abort",
        action="store_true",
        help="give up this migration: the realm goes back to its old store (copying back what was written only to "
        "the new one after --switch) and the copies in the new store are deleted; possible until --purge-old",
    )
    migrate_store.add_argument(
        "--keep-copies", action="store_true", help="with --abort: leave the copies in the new store"
    )
    migrate_store.set_defaults(func=cmd_storage_migrate)
    status = storage_sub.add_parser("status", help="show each realm's store and the recorded migration runs")
    status.set_defaults(func=cmd_storage_status)

    realm = sub.add_parser("realm", help="the realms this deployment keeps its data in")
    realm.set_defaults(func=cmd_realm)
    realm_sub = realm.add_subparsers(dest="realm_command", required=True, metavar="REALM_COMMAND")
    realm_list = realm_sub.add_parser("list", help="each realm's database, store, queue, countries and accounts")
    realm_list.add_argument("--json", action="store_true", help="print JSON rather than a table")
    classify = realm_sub.add_parser(
        "classify",
        help="every model, where its rows live and what of it may leave its realm",
        description="Every model declares its scope: the directory, realm-protected (never leaves its home "
        "realm), realm-public (may be replicated read-only into other realms, less its protected fields), or "
        "every database (schema bookkeeping). docs/realms.md holds the same table.",
    )
    classify_format = classify.add_mutually_exclusive_group()
    classify_format.add_argument("--json", action="store_true", help="print JSON rather than a table")
    classify_format.add_argument("--markdown", action="store_true", help="print the table of docs/realms.md")

    audit = realm_sub.add_parser(
        "audit",
        help="scan every realm's database and store for data outside its home realm (exit 1 if any)",
        description="Reads every realm's tables and bucket and reports any protected row or object of an account "
        "that lives in another realm, any replica carrying a protected field or of something that may not leave its "
        "realm, any session of another realm and any directory entry that disagrees. A clean audit finds nothing.",
    )
    audit.add_argument("--json", action="store_true", help="print JSON rather than tables")
    access = realm_sub.add_parser(
        "access",
        help="the staff access log of every realm: emergency grants with their reasons, requests, refusals",
    )
    access.add_argument("--json", action="store_true", help="print JSON rather than a table")
    gateway = realm_sub.add_parser(
        "gateway",
        help="what crossed between realms: per pair of realms and kind of message, how many, how big, how late",
        description="Every message from one realm to another passes the gateway, which refuses any field of "
        "protected scope. This shows each flow as the sending realm logged it and as the receiving realm counted it.",
    )
    gateway.add_argument("--json", action="store_true", help="print JSON rather than a table")

    feed = sub.add_parser("feed", help="the For You recommender")
    feed_sub = feed.add_subparsers(dest="feed_command", required=True, metavar="FEED_COMMAND")
    rebuild = feed_sub.add_parser(
        "rebuild",
        help="refit every user and video vector, recompute co-engagement and reindex (the worker does it nightly)",
        description="Refit user and video vectors (ALS over the last 90 days of watch events, likes, comments and "
        "bookmarks), recompute 'people who finished this also finished' neighbours, expire tastes untouched for "
        "180 days, and rebuild this process's nearest-neighbour index. The site keeps serving meanwhile; web "
        "processes pick the new vectors up within a second.",
    )
    rebuild.set_defaults(func=cmd_feed_rebuild)

    manage = sub.add_parser("manage", help="run any Django management command (e.g. 'reelm manage shell')")
    manage.add_argument("args", nargs=argparse.REMAINDER, help="the command and its arguments")
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from reelm.config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # a malformed REELM_* setting: say which, without a traceback
        print(f"reelm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
