"""Print where Kintsugi runs and who can sign in, once the web server and the worker are up.

``make run`` starts this beside the web server, the worker and beat. Printed first, the banner would scroll
away under their start-up output; printed when they are ready, it is the last thing on the screen.

The wait is quiet: the web server logs a /healthz that answers 503 as an error, and its first check of the
broker can outlast the check's deadline while the worker and beat are still creating the broker's tables. So
the worker's readiness and the database and broker are awaited here, in this process, and /healthz is asked
only then.
"""

import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.views import health_checks
from demo.chapters.people import DEMO_PASSWORD, demo_sign_ins

POLL_SECONDS = 0.5


def _services_answer() -> bool:
    return all(check() == "ok" for check in health_checks().values())


def _web_is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:  # noqa: S310 (a URL of our own)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Command(BaseCommand):
    help = "Wait for the web server and the worker, print the URL and the demo sign-ins, then stay running."

    def add_arguments(self, parser):
        parser.add_argument("--web", default=os.environ.get("KINTSUGI_WEB_URL", settings.SITE_URL))
        parser.add_argument("--worker-ready-file", default=os.environ.get("KINTSUGI_WORKER_READY_FILE", ""))
        parser.add_argument("--timeout", type=float, default=600.0)
        parser.add_argument("--exit", action="store_true", help="Exit after printing (honcho stops all on exit).")

    def handle(self, *args, web, worker_ready_file, timeout, exit, **options):
        deadline = time.monotonic() + timeout
        web = web.rstrip("/")
        while worker_ready_file and not Path(worker_ready_file).exists():
            self._wait_or_give_up(deadline, "The worker did not start.")
        while not _services_answer():
            self._wait_or_give_up(deadline, "The database or the broker did not answer.")
        while not _web_is_up(web):
            self._wait_or_give_up(deadline, f"The web server at {web} did not answer /healthz.")
        self.stdout.write(self.banner())
        if not exit:
            # honcho stops every process when one exits: stay until it stops this one.
            threading.Event().wait()

    def _wait_or_give_up(self, deadline: float, message: str) -> None:
        if time.monotonic() > deadline:
            raise CommandError(message)
        time.sleep(POLL_SECONDS)

    def banner(self) -> str:
        sign_ins = demo_sign_ins()
        width = max(len(sign_in["username"]) for sign_in in sign_ins)
        lines = [
            "",
            "=" * 72,
            f"  Kintsugi is up at {settings.SITE_URL}/",
            "",
            "  Demo sign-ins:",
            *(f"    {s['username']:<{width}}  {s['name']}: {s['roles']}" for s in sign_ins),
            f"  Password for every demo sign-in: {DEMO_PASSWORD}",
            "  A post-mortem is approved by a reviewer other than its author: invite amara or kenji to review demo's.",
            "=" * 72,
            "",
        ]
        return "\n".join(lines)
