"""Serving a sandbox WSGI app on 127.0.0.1 from a daemon thread, for tests and `shellenv sandbox`.

It owns the threaded server's start, address and stop. It never listens beyond the host it is given,
which is the loopback address unless a caller asks otherwise.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]
POLL_SECONDS = 0.05  # how often the serving thread checks for stop(); werkzeug's default makes it 0.5 s


class Server:
    """A WSGI app served by werkzeug's threaded server on its own port (0: the system picks one)."""

    def __init__(
        self, app: WSGIApp, port: int = 0, host: str = "127.0.0.1", ssl_context: Any = None
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:40123, without a trailing slash. Known once started."""
        if not self.port:
            raise RuntimeError("the server is not started; call start() first")
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> Server:
        from werkzeug.serving import make_server

        if self._server is not None:
            return self
        self._server = make_server(
            self.host,
            self.port,
            self.app,
            threaded=True,
            ssl_context=self.ssl_context,
            request_handler=_quiet_handler(),
        )
        self.port = self._server.server_port
        name = getattr(self.app, "__name__", type(self.app).__name__)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"sandbox-{name}-{self.port}", daemon=True
        )
        self._thread.start()
        log.debug("serving %s on %s", name, self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.debug("stopped the server on port %d", self.port)
        self._server = None
        self._thread = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _quiet_handler() -> type:
    """werkzeug's request handler, logging each request at debug level here instead of on stderr.

    Only the method, path and status are logged: query strings can carry keys (console sign-in).
    """
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def make_environ(self) -> Any:
            # werkzeug drops headers with "_" in their names, but the SSO portal's bearer token
            # travels in one (x-amz-sso_bearer_token): keep them, as a real AWS front end does.
            environ = super().make_environ()
            for key, value in self.headers.items():
                if "_" in key:
                    environ.setdefault("HTTP_" + key.upper().replace("-", "_"), value)
            return environ

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            path = self.path.split("?", 1)[0]
            log.debug("%s %s -> %s", self.command, path, getattr(code, "value", code))

        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
            log.debug("the server noted a%s %s", "n" if type[:1] in "aeiou" else "", type)

    return QuietHandler
