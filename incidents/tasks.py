"""Celery tasks of incidents. Each takes ids (or nothing), is safe to run twice, and calls services."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from incidents.ingest.edge import rate_windows_prune
from incidents.services.deliveries import delivery_drain, delivery_drain_queue, delivery_process_each, delivery_sweep

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def delivery_drain_task() -> int:
    """Process the deliveries due, in batches; a worker lost half-way leaves them due for the redelivered task."""
    return delivery_drain()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def delivery_process_task(delivery_id: int) -> None:
    """Process one delivery now; when its attempt fails, queue a drain for when the retry is due.

    Deliveries are drained in batches; this task serves callers that name one
    (and tasks queued by name before batches existed).
    """
    retry_in = delivery_process_each(ids=[delivery_id])
    if retry_in is not None:
        delivery_drain_queue(countdown=retry_in)


@shared_task(ignore_result=True)
def start_delivery_sweep() -> int:
    """Queue a drain for the deliveries left waiting (broker down, worker lost); prune old rate counters."""
    queued = delivery_sweep()
    rate_windows_prune(before=timezone.now() - timedelta(hours=1))
    return queued
