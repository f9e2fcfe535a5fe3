"""The real parts the fault tests start, stop, hang and restore: Redis, a proxy before PostgreSQL, gunicorn, workers.

Each part is a subprocess (or a thread, for the proxy) the test owns, on a
port of its own, pointed at the others through the environment as in
production.
"""

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; return whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class RedisServer:
    """A redis-server of the test's own: started, stopped (SIGTERM), hung (SIGSTOP) and resumed (SIGCONT)."""

    def __init__(self, port: int, directory: Path):
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self.answers, timeout=10), "redis-server did not start"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def hang(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


class Proxy:
    """A TCP proxy before PostgreSQL that passes, refuses or hangs connections, on a thread of its own.

    ``refuse``: new connections are closed at once, and open ones are cut.
    ``hang``: new connections are accepted and nothing is passed on either
    way; open ones go on. ``pass``: everything is passed on.
    """

    def __init__(self, port: int, target: tuple[str, int]):
        self.port = port
        self.target = target
        self.mode = "pass"
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.pairs: dict[socket.socket, socket.socket] = {}
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._serve, name="postgres-proxy", daemon=True)
        self.thread.start()

    def set(self, mode: str) -> None:
        assert mode in ("pass", "refuse", "hang")
        with self.lock:
            self.mode = mode
            if mode == "refuse":
                for connection in list(self.pairs):
                    self._drop(connection)
            if mode == "pass":
                for connection in self.held:
                    connection.close()
                self.held.clear()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        with self.lock:
            for connection in list(self.pairs):
                self._drop(connection)
            for connection in self.held:
                connection.close()
        self.selector.close()
        self.listener.close()

    def _serve(self) -> None:
        while self.running:
            for key, _ in self.selector.select(timeout=0.1):
                with self.lock:
                    if key.fileobj is self.listener:
                        self._accept()
                    elif key.fileobj in self.pairs:
                        self._forward(key.fileobj)

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        if self.mode == "refuse":
            client.close()
            return
        if self.mode == "hang":
            self.held.append(client)
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for one, other in ((client, server), (server, client)):
            one.setblocking(False)
            self.pairs[one] = other
            self.selector.register(one, selectors.EVENT_READ, None)

    def _forward(self, source: socket.socket) -> None:
        try:
            data = source.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(source)
            return
        other = self.pairs[source]
        try:
            other.setblocking(True)
            other.sendall(data)
            other.setblocking(False)
        except OSError:
            self._drop(source)

    def _drop(self, connection: socket.socket) -> None:
        other = self.pairs.pop(connection, None)
        for one in (connection, other):
            if one is None:
                continue
            self.pairs.pop(one, None)
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(one)
            one.close()


def process_env(**overrides: str) -> dict[str, str]:
    """Return an environment for the app's processes: this one's, without test-only switches, plus overrides."""
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_ALLOW_ASYNC_UNSAFE",)}
    return {**env, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "config.settings", **overrides}


class Service:
    """A subprocess of the app (gunicorn, a worker) writing its output to a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.command = command
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> "Service":
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kill the whole process group with SIGKILL, as the kernel's OOM killer or an operator would."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def gunicorn(port: int, env: dict[str, str], log: Path) -> Service:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30", "--graceful-timeout", "5",
    ]  # fmt: skip
    return Service(command, env, log).start()


def worker(env: dict[str, str], log: Path, *, module: str = "celery") -> Service:
    """Start a Celery worker (prefork pool with one child, as production's, but one); ``module`` may patch first."""
    command = [sys.executable, "-m", module, "-A", "config", "worker", "--loglevel", "WARNING", "--concurrency", "1"]
    return Service(command, env, log).start()
