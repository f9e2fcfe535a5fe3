"""Real receivers on loopback: an HTTP server that records what arrives, and an SMTP server (aiosmtpd)."""

import json
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until it holds or the deadline passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers the statuses it is told, in order.

    ``answers`` is consumed one per request (the last one repeats); the
    answer "hang" holds the request until the receiver stops.
    """

    def __init__(self):
        self.requests: list[Received] = []
        self.answers: list[int | str] = [200]
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                if answer == "hang":
                    receiver.release.wait(30)
                    return
                self.send_response(int(answer))
                if 300 <= int(answer) < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if path is None or request.path == path]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    """Collects every message the SMTP server accepts: (recipients, parsed message)."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                (envelope.rcpt_tos, message_from_bytes(envelope.original_content, policy=policy.default))
            )
        return "250 OK"

    def to(self, address: str) -> list:
        with self.lock:
            return [message for recipients, message in self.messages if address in recipients]

    def all(self) -> list:
        with self.lock:
            return list(self.messages)
