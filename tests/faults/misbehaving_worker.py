"""A Celery worker whose processing of marked deliveries hangs or kills its own process, as a poison body would.

Run as ``python -m tests.faults.misbehaving_worker -A config worker …``: a
delivery whose body holds ``HANG`` writes the file named by
``KINTSUGI_FAULT_MARKER`` and sleeps until killed; one holding ``POISON``
kills its process with SIGKILL, as the kernel does with a worker out of memory.
"""

import os
import signal
import sys
import time
from pathlib import Path

import django

django.setup()

from celery.__main__ import main  # noqa: E402 - after django.setup()

from incidents.ingest import batch  # noqa: E402 - after django.setup()

HANG = b"fault:hang-here"
POISON = b"fault:poison-pill"

_read = batch._read


def misbehaving_read(delivery):
    body = bytes(delivery.body)
    if POISON in body:
        os.kill(os.getpid(), signal.SIGKILL)
    if HANG in body:
        Path(os.environ["KINTSUGI_FAULT_MARKER"]).write_text(str(delivery.pk))
        time.sleep(600)
    return _read(delivery)


batch._read = misbehaving_read

if __name__ == "__main__":
    sys.argv[0] = "celery"
    sys.exit(main())
