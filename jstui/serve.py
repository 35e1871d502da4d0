"""`jstui serve`: the same control center in a browser (textual-serve runs one app
process per browser session), behind a random access token, read-only unless asked.

The token is checked in front of every route: the URL printed at start carries it, and
the page it opens gets it as a cookie so that its assets and its websocket carry it too.
"""
from __future__ import annotations

import errno
import hmac
import os
import secrets
import shlex
import socket
import sys

from aiohttp import web
from textual_serve.server import Server

from jstui.session import SERVED_ENV, UsageError

TOKEN_COOKIE = "jstui_token"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def app_command(args) -> str:
    """The command each browser session runs: this jstui, looking where ARGS say."""
    argv = [sys.executable, "-m", "jstui", "--refresh", str(args.refresh)]
    for flag in ("config", "dsn", "puzzle"):
        value = getattr(args, flag, None)
        if value:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    if getattr(args, "pool_only", False):
        argv.append("--pool-only")
    # A closed browser tab must not stop the fleet it looked at, nor start one of its own.
    argv += ["--keep-running", "--keep-pool"] if args.allow_actions else ["--read-only"]
    return shlex.join(argv)


def check_port_free(host: str, port: int) -> None:
    """Port in use (or a host that is not ours) is one sentence before anything starts."""
    if not 0 < port < 65536:
        raise UsageError(f"--port: {port} is not a TCP port (1-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host: cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"--port: cannot listen on {host}:{port}: {exc.strerror} "
                                 "(another server there? pick another --port)") from None
            if exc.errno == errno.EACCES:
                raise UsageError(f"--port: cannot listen on {host}:{port}: {exc.strerror} "
                                 "(ports below 1024 need privileges: pick another --port)"
                                 ) from None
            raise UsageError(f"--host: cannot listen on {host}: {exc.strerror} (not an "
                             "address of this machine? 0.0.0.0 listens on all of them)"
                             ) from None


class TokenServer(Server):
    """textual-serve's server with the token checked before any route."""

    def __init__(self, command: str, host: str, port: int, token: str, allow_actions: bool):
        super().__init__(command, host=host, port=port, title="jstui")
        self.token, self.allow_actions = token, allow_actions

    @property
    def url(self) -> str:
        shown = socket.gethostname() if self.host in ("0.0.0.0", "::", "") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}/?token={self.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.check_token)
        return app

    @web.middleware
    async def check_token(self, request: web.Request, handler):
        given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE, "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise web.HTTPForbidden(text="jstui serve: this address needs the access token "
                                         "printed when the server started (?token=...)\n")
        response = await handler(request)
        if request.path == "/" and "token" in request.query:
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    async def handle_index(self, request: web.Request):
        # The page's websocket and assets point back where the browser came from (a phone
        # reaches this host by a name the server cannot know).
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def on_startup(self, app: web.Application) -> None:
        mode = ("actions allowed (--allow-actions)" if self.allow_actions else
                "read-only (--allow-actions lets a browser act on the fleet)")
        print(f"jstui serve: open {self.url}\njstui serve: sessions are {mode}; "
              f"each browser session runs: {self.command}\njstui serve: ctrl+c stops",
              flush=True)


def run_serve(args) -> int:
    """`jstui serve`: serve until ctrl+c."""
    check_port_free(args.host, args.port)
    if args.host not in LOOPBACK:
        print(f"jstui serve: listening on {args.host}, beyond this machine: anyone with the "
              "URL and its token can watch", file=sys.stderr)
    server = TokenServer(app_command(args), args.host, args.port,
                         token=secrets.token_urlsafe(24), allow_actions=args.allow_actions)
    os.environ[SERVED_ENV] = "actions" if args.allow_actions else "read-only"
    server.serve()
    return 0
