"""The welcome banner waits quietly: it asks the web server's /healthz only once the rest is ready.

A /healthz that answers 503 is logged as an error by the web server, so probing it while the worker and the
broker are still starting printed the only ERROR line of ``make run``.
"""

import http.server
import threading
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


class Web(http.server.BaseHTTPRequestHandler):
    probes: list[str] = []

    def do_GET(self):
        self.probes.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    Web.probes = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Web)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Web.probes
    server.shutdown()
    server.server_close()


def test_the_banner_asks_healthz_only_after_the_worker_is_ready(web, tmp_path, monkeypatch):
    monkeypatch.setattr("demo.management.commands.welcome.POLL_SECONDS", 0.05)
    url, probes = web
    ready = tmp_path / "worker.ready"
    out = StringIO()
    done = threading.Event()

    def welcome():
        call_command("welcome", web=url, worker_ready_file=str(ready), timeout=20, exit=True, stdout=out)
        done.set()

    thread = threading.Thread(target=welcome, daemon=True)
    thread.start()
    assert not done.wait(1.0), "the banner did not wait for the worker"
    assert probes == [], "the banner probed /healthz while the worker was still starting"

    ready.touch()
    assert done.wait(10)
    assert probes == ["/healthz"]
    assert "Kintsugi is up at" in out.getvalue()
