"""A webhook receiver on 127.0.0.1 for tests: records every request and replies with set statuses."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclasses.dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def raw(self) -> str:
        """Return the request line, headers and body as one text, for searching secrets."""
        headers = "\n".join(f"{name}: {value}" for name, value in self.headers.items())
        return f"{self.method} {self.path}\n{headers}\n\n{self.body.decode('utf-8', 'replace')}"


class Receiver:
    """Records requests in ``received`` and replies to each with the next of ``statuses``, then 200."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.received: list[Received] = []
        self._statuses = list(statuses)
        self._lock = threading.Lock()
        self.url = ""

    def _reply_status(self) -> int:
        with self._lock:
            return self._statuses.pop(0) if self._statuses else 200

    def _record(self, entry: Received) -> None:
        with self._lock:
            self.received.append(entry)


@contextmanager
def webhook_receiver(statuses: tuple[int, ...] = (), *, path: str = "/hooks/T000/B000/secret-part") -> Iterator[Receiver]:
    receiver = Receiver(statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  # name fixed by http.server
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver._record(Received("POST", self.path, dict(self.headers.items()), body))
            status = receiver._reply_status()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"error")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # quiet test output
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
