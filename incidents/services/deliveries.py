"""Writes to deliveries a person asks for: replaying one."""

import logging

from django.db import transaction
from django.utils import timezone

from incidents.ingest.drain import delivery_processing_wake
from incidents.models import Delivery

logger = logging.getLogger(__name__)


@transaction.atomic
def delivery_replay(*, delivery: Delivery, actor=None) -> Delivery:
    """Process the delivery again from its stored body: mark it replayed, reset its attempts, queue it.

    Replaying is safe whatever the delivery's state: processing is idempotent.
    """
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    now = timezone.now()
    delivery.status = Delivery.Status.REPLAYED
    delivery.replay_count += 1
    delivery.attempts = 0
    delivery.error = ""
    delivery.processed_at = None
    delivery.next_attempt_at = now
    delivery.save(update_fields=["status", "replay_count", "attempts", "error", "processed_at", "next_attempt_at"])
    if actor is not None and getattr(actor, "is_authenticated", False):
        logger.info("Delivery %s replayed by %s.", delivery.pk, actor)
    transaction.on_commit(delivery_processing_wake)
    return delivery
