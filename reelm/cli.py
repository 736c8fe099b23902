"""The ``reelm`` command: run, serve, worker, migrate, createadmin, check, manage."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence

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
    _manage("migrate", "--no-input", "--verbosity", "1")
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
                f"\n  Reelm is ready at {url}\n  Create an operator account with: reelm createadmin\n",
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
    os.execv(sys.executable, _serve_command(args.bind, args.workers, args.threads))  # noqa: S606
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    options = ["run_huey"]
    if args.threads:
        options += ["--workers", str(args.threads)]
    _manage(*options)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _manage("migrate", "--no-input")
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    if args.username and args.password_stdin:
        _django()
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        from reelm.accounts.models import User

        password = sys.stdin.readline().rstrip("\n")
        try:
            validate_password(password, User(username=args.username))
        except ValidationError as exc:
            print("reelm: " + " ".join(exc.messages), file=sys.stderr)
            return 2
        User.objects.create_superuser(username=args.username, email=args.email or "", password=password)
        print(f"Created operator account {args.username!r}.")
        return 0
    options = ["createsuperuser"]
    if args.username:
        options += ["--username", args.username]
    if args.email:
        options += ["--email", args.email]
    _manage(*options)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _django()
    from reelm.core.health import run_checks

    return 0 if run_checks() else 1


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["reelm manage", *args.args])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelm",
        description="Reelm, a self-hostable short-video network. Configure with REELM_* environment variables "
        "(REELM_DATA_DIR, REELM_STORAGE_URL, REELM_SECRET_KEY, ...).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="migrate, then run the web server and a worker together (embedded default)")
    run.add_argument("--bind", default=DEFAULT_BIND, help=f"address to listen on (default {DEFAULT_BIND})")
    run.add_argument("--web-workers", type=int, default=2, help="web server processes (default 2)")
    run.add_argument("--threads", type=int, default=4, help="threads per web process (default 4)")
    run.add_argument(
        "--worker-threads", type=int, default=None, help="background worker threads (default REELM_WORKER_THREADS or 2)"
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="run the web server only (gunicorn)")
    serve.add_argument("--bind", default=DEFAULT_BIND, help=f"address to listen on (default {DEFAULT_BIND})")
    serve.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    serve.add_argument("--threads", type=int, default=4, help="threads per process (default 4)")
    serve.add_argument("--dev", action="store_true", help="Django's auto-reloading development server instead")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a background worker (transcoding and other tasks)")
    worker.add_argument(
        "--threads", type=int, default=None, help="tasks run at once (default REELM_WORKER_THREADS or 2)"
    )
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or upgrade the database tables")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("createadmin", help="create an operator account for the admin console at /admin/")
    admin.add_argument("--username", help="the account's username")
    admin.add_argument("--email", help="the account's e-mail address")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=cmd_createadmin)

    check = sub.add_parser("check", help="check the configuration, database, storage and ffmpeg")
    check.set_defaults(func=cmd_check)

    manage = sub.add_parser("manage", help="run any Django management command (e.g. 'reelm manage shell')")
    manage.add_argument("args", nargs=argparse.REMAINDER, help="the command and its arguments")
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
