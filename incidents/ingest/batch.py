"""Turning stored deliveries into deployments, incidents and registry changes, a batch per transaction.

A batch claims deliveries (their rows locked; in a drain, rows another batch
holds are skipped), reads each one (pure: parse, adapt, find the model), takes
every lane lock it needs in one global order (the models it names, registered
first when new, then the sources of events naming no model), reads what the
services would otherwise read again and again into one ``BatchKnowledge``,
then applies the deliveries in the order they were received:

* When inserting a deployment is all a delivery means (the *quick way*, as
  ``deployment_event_quick`` decides), the deployment waits to be inserted
  together with the others.
* Every other delivery goes the *full way* through ``deployment_event_apply``
  or ``registry_change_apply``, alone in a savepoint, after the quick inserts
  before it are written, so it sees them.

The rules are the services'; this module only claims, orders, writes
together and counts failures. A delivery whose full way raises is rolled back
to its savepoint and counted as a failed attempt (retried later, then
failed); the rest of the batch commits. The whole batch is one transaction,
so a worker killed half-way leaves every delivery of it waiting, and the next
attempt starts from scratch; its claim, committed before, counted the attempt
(``delivery_batch_claim``), so a delivery that kills its worker every time is
failed after the attempts it is allowed. A batch that fails as a whole is
processed again one delivery per transaction (``delivery_batch_due``).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping

from incidents.hooks import incident_changes_deferred
from incidents.ingest.adapters import sender_for
from incidents.ingest.discovery import discover_model
from incidents.ingest.errors import IngestError, UnsupportedEvent
from incidents.ingest.events import EventKind, PipelineEvent
from incidents.models import Delivery, Deployment, Incident, IncidentKind, IncidentStatus, ModelVersion, Source
from incidents.services.deployments import (
    BatchKnowledge,
    clip,
    deployment_event_apply,
    deployment_event_quick,
    deployment_run_id,
    event_model_names,
    source_lanes_lock,
)
from incidents.services.registry import registered_models_lock, registry_change_apply
from notifications.models import EventKind as NotificationKind
from notifications.services.events import events_collected, events_savepoint, notify_event

logger = logging.getLogger(__name__)

NO_STATUS = "Event carries no deployment status: nothing to record."
UNREADABLE = "Stored body can no longer be read: {error}"
# Written when a drain claims a delivery, replaced when its processing ends: still there, its worker was lost.
PROCESSING_LOST = "Processing did not finish: its worker was lost (killed, or out of memory) half-way."
WORKER_LOST_TOO_OFTEN = (
    "Processing did not finish {attempts} times, its worker lost each time: not tried again until replayed."
)
RETRY_BACKOFF_CAP = 600.0

WAITING = (Delivery.Status.RECEIVED, Delivery.Status.REPLAYED)
DONE = (Delivery.Status.PROCESSED, Delivery.Status.IGNORED)
# Every field processing may change on a delivery: written for the whole batch in one statement.
WRITTEN_FIELDS = [
    "status",
    "error",
    "attempts",
    "processed_at",
    "next_attempt_at",
    "normalized",
    "model_found",
    "deployment",
]


@dataclass
class BatchResult:
    """What one batch did: the deliveries it claimed (as written), and when the soonest retry is due."""

    deliveries: list[Delivery] = field(default_factory=list)
    # Seconds until the soonest retry of a delivery whose attempt failed; None when none waits.
    retry_in: float | None = None

    @property
    def claimed(self) -> int:
        return len(self.deliveries)


class BatchFailed(Exception):
    """The batch's transaction failed as a whole (nothing of it was written): process its deliveries one by one."""

    def __init__(self, delivery_ids: list[int]):
        super().__init__(f"batch of {len(delivery_ids)} deliveries rolled back")
        self.delivery_ids = delivery_ids


def delivery_retry_delay(*, attempts: int) -> float:
    """Return the seconds to wait before the next attempt after ``attempts`` failed ones."""
    base = settings.KINTSUGI_DELIVERY_RETRY_BACKOFF
    return min(base * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_CAP)


def delivery_failure_count(delivery: Delivery, *, error: str, now: datetime) -> float | None:
    """Count a failed attempt on the (unsaved) delivery; return the seconds before the next, or None when final.

    After ``KINTSUGI_DELIVERY_MAX_ATTEMPTS`` attempts the delivery is failed with
    the error, until someone replays it.
    """
    delivery.attempts += 1
    delivery.error = clip(error, 10_000)
    if delivery.attempts >= settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
        delivery.processed_at = now
        delivery.next_attempt_at = None
        notify_event(
            kind=NotificationKind.SOURCE_DELIVERIES_FAILING,
            source=delivery.source,
            key=f"{delivery.pk}-{delivery.replay_count}",
            details={"error": delivery.error[:500]},
            at=now,
        )
        return None
    delay = delivery_retry_delay(attempts=delivery.attempts)
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return delay


def delivery_batch_process(
    *, ids: Sequence[int] | None = None, limit: int | None = None, now: datetime | None = None
) -> BatchResult:
    """Process deliveries in one transaction; return what was claimed and when the soonest retry is due.

    With ``ids``, process those deliveries (waiting for their row locks) unless
    already processed or ignored. Otherwise first claim, in a transaction of
    its own, up to ``limit`` deliveries waiting whose attempt is due, oldest
    due first, skipping rows another batch holds, and no more than
    ``KINTSUGI_DELIVERY_BATCH_BYTES`` of bodies (``delivery_batch_claim``), then
    process them. Raise ``BatchFailed`` when the transaction fails as a whole.
    """
    now = now or timezone.now()
    limit = limit or settings.KINTSUGI_DELIVERY_BATCH_SIZE
    claimed: list[int] = []
    claimed_until = None
    if ids is None:
        ids, claimed_until = delivery_batch_claim(limit=limit, now=now)
        if not ids:
            return BatchResult()
    try:
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            batch = _Batch(now=now)
            for delivery in _claim(ids=ids, claimed_until=claimed_until):
                if delivery.error == PROCESSING_LOST:
                    # The claim counted this attempt: the outcome counts it now (a failure), or takes it back.
                    delivery.attempts -= 1
                claimed.append(delivery.pk)
                batch.read(delivery)
            if claimed:  # a drain with nothing to do asks often: one query
                batch.apply()
            return batch.result()
    except Exception as error:
        if not claimed:
            raise
        raise BatchFailed(claimed) from error


def delivery_batch_due(*, limit: int) -> tuple[int, float | None]:
    """Process one batch of due deliveries; return how many were claimed and the seconds to the soonest retry.

    A batch that fails as a whole is processed again one delivery per transaction.
    """
    try:
        result = delivery_batch_process(limit=limit)
    except BatchFailed as failed:
        logger.warning("A batch failed as a whole; processing its deliveries one by one.", exc_info=True)
        return len(failed.delivery_ids), delivery_process_each(ids=failed.delivery_ids)
    return result.claimed, result.retry_in


def delivery_process_each(*, ids: list[int]) -> float | None:
    """Process the deliveries one per transaction, counting a failed attempt on any that fails as a whole.

    Return the seconds until the soonest retry is due, or None when none waits.
    """
    retry_in = None
    for delivery_id in ids:
        try:
            soonest = delivery_batch_process(ids=[delivery_id]).retry_in
        except Exception as error:  # recorded on the delivery, then retried or final
            logger.exception("Processing delivery %s failed.", delivery_id)
            cause = error.__cause__ if isinstance(error, BatchFailed) and error.__cause__ else error
            soonest = delivery_record_failure(delivery_id=delivery_id, error=f"{cause.__class__.__name__}: {cause}")
        if soonest is not None:
            retry_in = soonest if retry_in is None else min(retry_in, soonest)
    return retry_in


@transaction.atomic
def delivery_record_failure(*, delivery_id: int, error: str) -> float | None:
    """Count a failed processing attempt; return the seconds to wait before retrying, or None to stop.

    After ``KINTSUGI_DELIVERY_MAX_ATTEMPTS`` attempts the delivery is marked
    failed with the error, until someone replays it.
    """
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in WAITING:
        return None
    if delivery.error == PROCESSING_LOST:
        delivery.attempts -= 1  # the claim counted this attempt already
    delay = delivery_failure_count(delivery, error=error, now=timezone.now())
    delivery.save(update_fields=["attempts", "error", "status", "processed_at", "next_attempt_at"])
    return delay


def delivery_process(*, delivery_id: int) -> Delivery | None:
    """Process one delivery (see ``delivery_batch_process``); return it as written, or None when it is gone."""
    result = delivery_batch_process(ids=[delivery_id])
    if result.deliveries:
        return result.deliveries[0]
    return Delivery.objects.filter(pk=delivery_id).first()


def delivery_batch_claim(*, limit: int, now: datetime) -> tuple[list[int], datetime | None]:
    """Claim due deliveries for one batch and commit the claim; return their ids and until when they are claimed.

    Claiming counts the attempt before it is made, so a worker lost half-way
    (killed, out of memory) has counted it: each claimed delivery gets one
    more attempt, ``PROCESSING_LOST`` as its error and, as its next attempt,
    the end of the claim (``KINTSUGI_DELIVERY_CLAIM_SECONDS``), when it is due
    again if its processing never ended. Its processing replaces all three.

    A delivery claimed before whose processing never ended is claimed alone,
    so a body that kills its worker takes no other delivery with it; after
    ``KINTSUGI_DELIVERY_MAX_ATTEMPTS`` attempts it is failed instead. The
    bodies of one batch add up to ``KINTSUGI_DELIVERY_BATCH_BYTES`` at most
    (one delivery at least), so a batch of large bodies cannot exhaust a
    worker's memory either.
    """
    most_bytes = settings.KINTSUGI_DELIVERY_BATCH_BYTES
    with transaction.atomic():
        _commit_without_waiting_for_disk()  # a claim lost with the server's crash counts no attempt: harmless
        due = (
            Delivery.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(status__in=WAITING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .annotate(size=Length("body"))
            .values_list("id", "attempts", "error", "size")[:limit]
        )
        chosen: list[int] = []
        lost_too_often: list[int] = []
        total = 0
        for delivery_id, attempts, error, size in due:
            if error == PROCESSING_LOST:
                if attempts >= settings.KINTSUGI_DELIVERY_MAX_ATTEMPTS:
                    lost_too_often.append(delivery_id)
                elif not chosen:
                    chosen = [delivery_id]  # alone in its batch
                    break
                continue
            if chosen and total + (size or 0) > most_bytes:
                break
            chosen.append(delivery_id)
            total += size or 0
        if lost_too_often:
            _fail_lost(lost_too_often, now=now)
        if not chosen:
            return [], None
        claimed_until = now + timedelta(seconds=settings.KINTSUGI_DELIVERY_CLAIM_SECONDS)
        Delivery.objects.filter(pk__in=chosen).update(
            attempts=F("attempts") + 1, error=PROCESSING_LOST, next_attempt_at=claimed_until
        )
    return chosen, claimed_until


def _fail_lost(ids: list[int], *, now: datetime) -> None:
    """Fail deliveries whose processing lost its worker on every attempt they were allowed."""
    for delivery in Delivery.objects.select_related("source").defer("body").filter(pk__in=ids):
        delivery.attempts -= 1  # the last claim counted the attempt that is now counted as failed
        delivery_failure_count(delivery, error=WORKER_LOST_TOO_OFTEN.format(attempts=delivery.attempts + 1), now=now)
        delivery.save(update_fields=["attempts", "error", "status", "processed_at", "next_attempt_at"])


def _claim(*, ids: Sequence[int], claimed_until: datetime | None) -> list[Delivery]:
    """Lock the deliveries to process (unless done), and with ``claimed_until`` only while still claimed so."""
    deliveries = Delivery.objects.select_related("source", "source__team", "source__default_model")
    locked = deliveries.select_for_update(of=("self",)).filter(pk__in=list(ids)).exclude(status__in=DONE)
    if claimed_until is not None:  # another drain may have claimed them again since, were this one slow
        locked = locked.filter(error=PROCESSING_LOST, next_attempt_at=claimed_until)
    return list(locked.order_by("id"))


def _commit_without_waiting_for_disk() -> None:
    """Let PostgreSQL acknowledge this transaction's commit before its WAL reaches the disk.

    Safe here, and only here: everything processing writes is derived from
    the stored delivery. A crash may lose the last fraction of a second of
    such commits, never part of one, and a lost one leaves its deliveries
    waiting, so the sweeper queues them again. The delivery itself is stored
    with a durable commit before the sender is answered.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@dataclass
class _Item:
    delivery: Delivery
    event: PipelineEvent
    occurred_at: datetime


class _Batch:
    """The deliveries of one transaction, read, then applied in order (see the module's docstring)."""

    def __init__(self, *, now: datetime):
        self.now = now
        self.deliveries: list[Delivery] = []
        self.items: list[_Item] = []
        self.retry_in: float | None = None
        # Filled by _look_up once every delivery is read; kept true by the services.
        self.known = BatchKnowledge()
        # Quick deployments not yet inserted, with their items.
        self.pending: list[tuple[_Item, Deployment]] = []

    # -- reading ------------------------------------------------------------------------------------------------

    def read(self, delivery: Delivery) -> None:
        """Read the delivery's event; finish it at once when there is nothing to apply."""
        self.deliveries.append(delivery)
        try:
            event = _read(delivery)
        except Exception as error:  # an adapter failing on a payload is that delivery's failure, not the batch's
            logger.exception("Reading delivery %s failed.", delivery.pk)
            self._fail(delivery, error)
            return
        if event is not None:
            self.items.append(_Item(delivery=delivery, event=event, occurred_at=_event_time(event, delivery)))

    # -- applying -----------------------------------------------------------------------------------------------

    def apply(self) -> None:
        # The followers of the incidents the batch opens or changes (search) hear of them once, at its end;
        # the events people should hear of are written together there, and dispatched by one task.
        with incident_changes_deferred(), events_collected():
            self._look_up()
            for item in self.items:
                deployment = self._quick(item)
                if deployment is not None:
                    self.pending.append((item, deployment))
                else:
                    self._write_pending()  # the full way reads what came before it
                    self._full(item)
            self._write_pending()
        _deliveries_write(self.deliveries)

    def result(self) -> BatchResult:
        return BatchResult(deliveries=self.deliveries, retry_in=self.retry_in)

    def _look_up(self) -> None:
        """Take every lane lock the batch needs, in one global order, then read what the services would read again.

        The models the batch names are registered when new and locked
        (``registered_models_lock``), then the lanes of events naming no model
        (``source_lanes_lock``): two batches never wait on each other in a
        circle. Then the known versions, the runs already recorded and the
        lanes with an open incident go into ``known``.
        """
        named: dict[tuple[int, str], datetime] = {}
        labels: set[str] = set()
        sources_without_model: set[int] = set()
        for item in self.items:
            team = item.delivery.source.team_id
            if item.event.kind == EventKind.REGISTRY:
                named.setdefault((team, item.event.registry.model_name), item.occurred_at)
                continue
            name, label = event_model_names(item.event)
            if not name:
                sources_without_model.add(item.delivery.source_id)
                continue
            named.setdefault((team, name), item.occurred_at)
            if label:
                labels.add(label)
        models = {model.pk: model for model in registered_models_lock(named=named).values()}
        source_lanes_lock(source_ids=sorted(sources_without_model))
        if labels and models:
            for version in ModelVersion.objects.filter(model_id__in=models, version__in=labels):
                version.model = models[version.model_id]
                self.known.versions[version.model.team_id, version.model.name, version.version] = version
        pipeline_items = [item for item in self.items if item.event.kind != EventKind.REGISTRY]
        if pipeline_items:
            self.known.runs.update(
                Deployment.objects.filter(
                    source_id__in={item.delivery.source_id for item in pipeline_items},
                    external_id__in={_run_id(item) for item in pipeline_items},
                ).values_list("source_id", "external_id")
            )
        if models:
            self.known.open_lanes.update(
                Incident.objects.filter(
                    kind=IncidentKind.FAILED_DEPLOYMENT, status=IncidentStatus.OPEN, model_id__in=models
                ).values_list("team_id", "model_id", "environment")
            )
        self.known.unrecorded_deliveries.update(
            delivery.pk for delivery in self.deliveries if delivery.status == Delivery.Status.RECEIVED
        )

    def _quick(self, item: _Item) -> Deployment | None:
        """Return the deployment the item makes when inserting it is all it means (unsaved), else None."""
        if item.event.kind == EventKind.REGISTRY:
            return None
        return deployment_event_quick(
            source=item.delivery.source,
            event=item.event,
            occurred_at=item.occurred_at,
            fallback_external_id=_fallback_id(item),
            known=self.known,
        )

    def _write_pending(self) -> None:
        """Insert the quick deployments waiting, together; if one was recorded meanwhile, take the full way for all."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        try:
            with transaction.atomic():
                Deployment.objects.bulk_create([deployment for _, deployment in pending])
        except IntegrityError:  # a run recorded concurrently by another lane since the look-up: rare, and safe this way
            logger.info("A run of this batch was recorded concurrently; applying its deliveries one by one.")
            for item, _ in pending:
                self._full(item)
            return
        for item, deployment in pending:
            delivery = item.delivery
            delivery.deployment = deployment
            delivery.model_found = clip(str(deployment.model_version), 240)
            _finish(delivery, status=Delivery.Status.PROCESSED)

    def _full(self, item: _Item) -> None:
        """Apply one item with the full services, in a savepoint; count a failed attempt when they raise."""
        delivery, event, source = item.delivery, item.event, item.delivery.source
        kept = (delivery.normalized, delivery.model_found, delivery.deployment_id)
        known = self.known.copy()
        try:
            with transaction.atomic(), events_savepoint():
                if event.kind == EventKind.REGISTRY:
                    _registry_apply(delivery, event=event, occurred_at=item.occurred_at)
                else:
                    outcome = deployment_event_apply(
                        source=source,
                        event=event,
                        occurred_at=item.occurred_at,
                        delivery=delivery,
                        fallback_external_id=_fallback_id(item),
                        known=self.known,
                    )
                    delivery.deployment = outcome.deployment
                    delivery.model_found = outcome.model_found
                _finish(delivery, status=Delivery.Status.PROCESSED)
        except Exception as error:  # recorded on the delivery, then retried or final: never the batch's failure
            logger.exception("Processing delivery %s failed.", delivery.pk)
            delivery.normalized, delivery.model_found, delivery.deployment_id = kept
            self.known.restore(known)  # what the savepoint rolled back is not known any more
            self._fail(delivery, error)

    def _fail(self, delivery: Delivery, error: Exception) -> None:
        delay = delivery_failure_count(delivery, error=f"{error.__class__.__name__}: {error}", now=self.now)
        if delay is not None:
            self.retry_in = delay if self.retry_in is None else min(self.retry_in, delay)


def _fallback_id(item: _Item) -> str:
    """Return the id the item's run is recorded under when its event names no run."""
    return f"delivery:{item.delivery.delivery_id}"


def _run_id(item: _Item) -> str:
    return deployment_run_id(event=item.event, fallback_external_id=_fallback_id(item))


def _deliveries_write(deliveries: list[Delivery]) -> None:
    """Write what processing changed on each delivery: one statement, its rows sent together.

    ``bulk_update`` would build a CASE per field and row, which costs more than
    the processing itself; one UPDATE run for many rows (psycopg pipelines
    them) writes the same values through the same field conversions. Like
    ``bulk_update`` it leaves out ``Model.save()``: no signal is sent (none is
    connected to Delivery), and Delivery has no ``auto_now`` field to stamp.
    """
    if not deliveries:
        return
    fields = [Delivery._meta.get_field(name) for name in WRITTEN_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Delivery._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608 - model's own names
    rows = [
        [field.get_db_prep_save(getattr(delivery, field.attname), connection) for field in fields] + [delivery.pk]
        for delivery in deliveries
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _read(delivery: Delivery) -> PipelineEvent | None:
    """Return the delivery's event with its model found, or None after finishing a delivery with nothing to apply."""
    source = delivery.source
    sender = sender_for(source.kind)
    # Kept headers win over the stored content type (they carry its parameters, such as the charset).
    headers = CaseInsensitiveMapping({"Content-Type": delivery.content_type, **(delivery.headers or {})})
    try:
        payload = sender.parse(headers, bytes(delivery.body))
    except IngestError as error:
        _finish(delivery, status=Delivery.Status.FAILED, error=UNREADABLE.format(error=error.message))
        return None
    try:
        event = _discover(event=sender.adapt(delivery.event, payload), source=source)
    except UnsupportedEvent as unsupported:
        _finish(delivery, status=Delivery.Status.IGNORED, error=str(unsupported))
        return None
    delivery.normalized = _json_safe(event.as_json())
    if delivery.is_test:
        # Signature and reading are what a test exercises; it leaves the registry and incidents as they were.
        _finish(delivery, status=Delivery.Status.PROCESSED)
        return None
    if event.kind == EventKind.PING:
        _finish(delivery, status=Delivery.Status.PROCESSED)
        return None
    if event.kind == EventKind.REGISTRY:
        if event.registry is None or not event.registry.model_name:
            _finish(delivery, status=Delivery.Status.IGNORED, error=NO_STATUS)
            return None
        return event
    if event.status is None:
        _finish(delivery, status=Delivery.Status.IGNORED, error=NO_STATUS)
        return None
    return event


def _registry_apply(delivery: Delivery, *, event: PipelineEvent, occurred_at: datetime) -> None:
    model, version, _ = registry_change_apply(
        team=delivery.source.team_id, change=event.registry, occurred_at=occurred_at, delivery=delivery
    )
    delivery.model_found = clip(str(version or model), 240)


def _discover(*, event: PipelineEvent, source: Source) -> PipelineEvent:
    default_model = source.default_model.name if source.default_model_id else ""
    return discover_model(
        event,
        pattern=source.model_pattern,
        pattern_field=source.model_pattern_field,
        default_model=default_model,
    )


def _event_time(event: PipelineEvent, delivery: Delivery) -> datetime:
    for value in (event.occurred_at, event.finished_at, event.started_at):
        if value is not None and timezone.is_aware(value):
            # Nothing happened after it was received: a sender whose clock runs
            # ahead must not make its events outrank later ones.
            return min(value, delivery.received_at)
    return delivery.received_at


def _json_safe(value):
    """Return the value with NUL characters removed from every string (PostgreSQL's JSON refuses them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _finish(delivery: Delivery, *, status: str, error: str = "") -> None:
    delivery.status = status
    delivery.error = clip(error, 10_000)
    # When this delivery's processing ended (a batch's clock started earlier).
    delivery.processed_at = timezone.now()
    delivery.next_attempt_at = None
