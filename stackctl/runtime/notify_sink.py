"""The local notification sink for the native runtime (docker runs busybox httpd with the same contract).

Alertmanager's local receivers post their webhooks here instead of to Slack or PagerDuty.
Contract: ``POST /cgi-bin/notify`` appends the body as one JSON line to the store;
``GET /cgi-bin/notify`` returns every stored line; ``GET /healthz`` answers ``ok``.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PATH = "/cgi-bin/notify"
MAX_BODY = 4 * 1024 * 1024


def make_handler(store: Path, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # keep the log file quiet
            pass

        def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, b"ok\n", "text/plain")
            elif self.path == PATH:
                data = store.read_bytes() if store.exists() else b""
                self._send(200, data, "application/x-ndjson")
            else:
                self._send(404, b'{"error":"not found"}')

        def do_POST(self) -> None:
            if self.path != PATH:
                self._send(404, b'{"error":"not found"}')
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b'{"error":"too large"}')
                return
            body = self.rfile.read(length)
            try:
                line = json.dumps(json.loads(body), separators=(",", ":"))
            except ValueError:
                self._send(400, b'{"error":"body is not JSON"}')
                return
            with lock, open(store, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            self._send(200, b'{"status":"stored"}\n')

    return Handler


def serve(bind: str, port: int, store: Path) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((bind, port), make_handler(store, threading.Lock()))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stackctl.runtime.notify_sink")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9097)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.bind, args.port, args.store)


if __name__ == "__main__":
    main()
