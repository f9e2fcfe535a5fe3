"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kintsugi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def reuse_database_connections(sender=None, **kwargs) -> None:
    """Handle database connections around a task as Django does around a request.

    Keep a connection for CONN_MAX_AGE seconds, drop it when unusable: opening
    one per task would cost more than most tasks. Tasks run eagerly (in the
    caller's thread and transaction) leave the caller's connection alone.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()


@worker_ready.connect
def announce_worker_ready(sender=None, **kwargs) -> None:
    """Create ``KINTSUGI_WORKER_READY_FILE`` when set: ``make run`` prints its banner once the worker is up.

    Its embedded broker cannot answer a broadcast ping, so a file is the one signal every broker allows.
    """
    path = os.environ.get("KINTSUGI_WORKER_READY_FILE")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).touch()
