"""Process one delivery and hang half-way, inside the transaction, until killed.

Usage: python process_and_hang.py <delivery id> <marker file>. The deployment
is upserted, then the step that opens the incident writes the marker file and
sleeps: the test kills this process there with SIGKILL.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from incidents.ingest.batch import delivery_process  # noqa: E402 - after django.setup()
from incidents.services import deployments  # noqa: E402 - after django.setup()


def hang(**kwargs):
    Path(sys.argv[2]).write_text("deployment written, incident next")
    time.sleep(600)


deployments.incident_open = hang
delivery_process(delivery_id=int(sys.argv[1]))
