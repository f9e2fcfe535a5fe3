"""Celery tasks of incidents. Each takes ids (or nothing), is safe to run twice, and calls services.

The drain task lives with the drain (``incidents.ingest.drain``); importing
that module here registers it with the workers, which import this one.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from incidents.ingest.drain import delivery_drain_task, delivery_sweep
from incidents.ingest.edge import rate_windows_prune

logger = logging.getLogger(__name__)

__all__ = ["delivery_drain_task", "start_delivery_sweep"]


@shared_task(ignore_result=True)
def start_delivery_sweep() -> int:
    """Queue a drain for the deliveries left waiting (broker down, worker lost); prune old rate counters."""
    queued = delivery_sweep()
    rate_windows_prune(before=timezone.now() - timedelta(hours=1))
    return queued
