"""What the local servers share: an HTTP server on loopback, served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import HTTPServer
from typing import Self


class LoopbackServer:
    """Start with ``start()`` or ``with``; ``endpoint_url`` is what the ``AWS_ENDPOINT_URL_*`` variables take."""

    def __init__(self, server: HTTPServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
