"""Celery tasks of incidents. Each takes ids, is safe to run twice, and calls services."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from incidents.services.deliveries import delivery_process, delivery_record_failure, delivery_sweep
from incidents.services.ratelimit import rate_windows_prune

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def delivery_process_task(self, delivery_id: int) -> None:
    """Process one delivery; on error retry with backoff until the attempts run out, then mark it failed."""
    try:
        delivery_process(delivery_id=delivery_id)
    except Exception as error:  # every error is recorded on the delivery, then retried or final
        logger.exception("Processing delivery %s failed.", delivery_id)
        delay = delivery_record_failure(delivery_id=delivery_id, error=f"{error.__class__.__name__}: {error}")
        if delay is not None:
            raise self.retry(countdown=delay, exc=error) from error


@shared_task(ignore_result=True)
def start_delivery_sweep() -> int:
    """Queue the deliveries left waiting (broker down, worker lost); prune old rate counters. Return how many."""
    queued = delivery_sweep()
    rate_windows_prune(before=timezone.now() - timedelta(hours=1))
    return queued
