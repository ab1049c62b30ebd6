"""A small threaded HTTP server for a process without a web framework (the learner): each
path maps to a function returning (status, content type, body)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[], tuple[int, str, bytes]]
log = logging.getLogger(__name__)


class ProbeServer:
    """Serves `routes` on host:port in a daemon thread until `close()`."""

    def __init__(self, host: str, port: int, routes: dict[str, Route]) -> None:
        table = dict(routes)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                route = table.get(self.path.split("?", 1)[0].rstrip("/") or "/")
                if route is None:
                    status, ctype, body = 404, "text/plain; charset=utf-8", b"not found\n"
                else:
                    try:
                        status, ctype, body = route()
                    except Exception as exc:  # a probe must answer, not hang
                        log.exception("probe %s failed", self.path)
                        status, ctype, body = 500, "text/plain; charset=utf-8", repr(exc).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # scrapes every few seconds would flood the log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="coea-probes", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
