"""``tuidash serve``: the dashboard in a browser tab, served with textual-serve.

Every browser tab runs its own ``tuidash`` process on the same store; trainings are jobs,
so closing the tab loses nothing. It binds 127.0.0.1 by default and says how to reach it
through an SSH tunnel; any other address gets a warning: there is no password, so anyone
who can reach the port can use the dashboard and its store. Needs the ``serve`` extra
(``pip install 'tuidash[serve]'``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from tuidash.cli.common import CommandError, store_dir, subcommand, usable_store, whole

NAME = "serve"
"""The command's name."""

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Addresses that only this machine can reach."""


def register(subparsers: Any) -> None:
    """Add ``serve`` and its options."""
    serve = subcommand(
        subparsers,
        NAME,
        "serve the dashboard to a browser tab (textual-serve), on 127.0.0.1 by default",
        "example:\n  tuidash serve --port 8000 --store /data/models\n"
        "  then on your laptop: ssh -L 8000:localhost:8000 you@server\n"
        "  and open http://localhost:8000\n\n"
        "Each tab runs its own dashboard on the same store; trainings are jobs, so closing\n"
        "the tab loses nothing. There is no password: a --host other than 127.0.0.1 lets\n"
        "anyone who can reach the port use the dashboard. Needs: pip install 'tuidash[serve]'.",
        run,
        json_flag=False,
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=whole, default=8000, help="the port to listen on (default 8000)"
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address the browser uses, if not http://localhost:PORT (a proxy, say)",
    )
    serve.add_argument("data", nargs="?", metavar="DATA", help="a data file each tab opens")


def dashboard_command(store: Path | str, data: str | None) -> str:
    """The shell command each browser tab runs: this Python, this tuidash, this store (a
    folder, made absolute, or a store URL as it is)."""
    place = str(store.absolute()) if isinstance(store, Path) else store
    words = [sys.executable, "-m", "tuidash", "--store", place]
    if data is not None:
        words.insert(3, str(Path(data).absolute()))
    return " ".join(shlex.quote(word) for word in words)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (SIGINT) or SIGTERM."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise CommandError(
            "tuidash serve needs textual-serve: pip install 'tuidash[serve]'."
        ) from None
    if not 1 <= args.port <= 65535:
        raise CommandError(f"--port must be between 1 and 65535, not {args.port}.")
    if args.data is not None and not Path(args.data).exists():
        raise CommandError(f"{args.data}: no such file.")
    store = usable_store(store_dir(args))
    import tuidash

    # Each tab's process runs this very tuidash (a source checkout or the installed one).
    root = str(Path(tuidash.__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p
    )
    public_url = args.public_url or f"http://localhost:{args.port}"
    if args.host in LOCAL_HOSTS:
        print(
            f"tuidash: serving the dashboard on {args.host}:{args.port} (this machine only).\n"
            f"  From your laptop: ssh -N -L {args.port}:localhost:{args.port} "
            f"{os.environ.get('USER', 'you')}@{_hostname()}\n"
            f"  then open {public_url} in a browser. Ctrl-C stops serving.",
            file=sys.stderr,
        )
    else:
        print(
            f"tuidash: warning: serving on {args.host}:{args.port}: anyone who can reach this "
            "port can use the dashboard and its store (there is no password). Prefer the "
            "default 127.0.0.1 and an SSH tunnel.",
            file=sys.stderr,
        )
    sys.stderr.flush()
    server = Server(
        dashboard_command(store, args.data),
        host=args.host,
        port=args.port,
        title="tuidash",
        public_url=public_url,
    )
    try:
        server.serve()
    except OSError as error:
        raise CommandError(
            f"Cannot serve on {args.host}:{args.port}: {error.strerror or error}; "
            "choose another --port."
        ) from None
    return 0


def _hostname() -> str:
    import socket

    return socket.gethostname()
