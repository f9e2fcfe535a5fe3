"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
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
