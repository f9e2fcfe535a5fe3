"""Writes to the model registry: registered models, versions, aliases and their moves."""

from datetime import datetime

from django.db import IntegrityError, transaction

from incidents.ingest.events import RegistryAction, RegistryChange
from incidents.models import AliasMove, Delivery, ModelAlias, ModelVersion, RegisteredModel
from teams.models import Team

# Largest value a version_number column holds (a signed 64-bit integer).
MAX_VERSION_NUMBER = 2**63 - 1


def version_number_parse(version: str) -> int | None:
    """Return the number in a version label ("17", "v17") so versions sort numerically, else None."""
    text = version.strip().removeprefix("v").removeprefix("V")
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= MAX_VERSION_NUMBER else None


def registered_model_get_or_create(*, team: Team | int, name: str, at: datetime, lock: bool = False) -> RegisteredModel:
    """Return the team's registered model of that name, created (at ``at``) when new.

    With ``lock``, hold the row lock until the surrounding transaction ends: work
    on one model's deployments and aliases is then applied one delivery at a time.
    """
    team_id = team if isinstance(team, int) else team.pk
    # FOR NO KEY UPDATE: serializes the model's lane, yet lets rows referring to the model be inserted meanwhile.
    models = RegisteredModel.objects.select_for_update(no_key=True) if lock else RegisteredModel.objects
    try:
        return models.get(team_id=team_id, name=name)
    except RegisteredModel.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            # A row this transaction inserts is locked by it already.
            return RegisteredModel.objects.create(team_id=team_id, name=name, created_at=at)
    except IntegrityError:  # created concurrently: that row, now committed, is the one
        return models.get(team_id=team_id, name=name)


def registered_models_lock(*, named: dict[tuple[int, str], datetime]) -> dict[tuple[int, str], RegisteredModel]:
    """Return the registered models named by (team id, name), registering new ones; lock them all until commit.

    ``named`` maps each (team id, name) to the time a new model is registered
    at. Call it inside a transaction, before taking any other registry or lane
    lock in it. New models are inserted in (team id, name) order, then every
    model's row is locked in id order: transactions that all do so take their
    locks in one global order and never wait on each other in a circle, even
    when several register the same new models at once (the unique index on
    (team, name) makes a second insert of a name wait for the first). A name
    too long for the column is left out: registering it fails where it is used.
    """
    longest = RegisteredModel._meta.get_field("name").max_length
    named = {(team_id, name): at for (team_id, name), at in named.items() if name and len(name) <= longest}
    if not named:
        return {}
    teams, names = ({team_id for team_id, _ in named}, {name for _, name in named})
    existing = set(RegisteredModel.objects.filter(team_id__in=teams, name__in=names).values_list("team_id", "name"))
    new = [
        RegisteredModel(team_id=team_id, name=name, created_at=named[team_id, name])
        for team_id, name in sorted(set(named) - existing)
    ]
    if new:
        # One statement, its rows inserted in the order given; a name another transaction inserts meanwhile is
        # waited for, then left to it.
        RegisteredModel.objects.bulk_create(new, ignore_conflicts=True)
    # FOR NO KEY UPDATE, as lane locks are taken (see registered_model_get_or_create); ignored by SQLite.
    models = RegisteredModel.objects.select_for_update(no_key=True).filter(team_id__in=teams, name__in=names)
    models = models.order_by("id")
    return {(model.team_id, model.name): model for model in models if (model.team_id, model.name) in named}


def model_version_get_or_create(
    *,
    model: RegisteredModel,
    version: str,
    at: datetime,
    run_id: str = "",
    source_uri: str = "",
    description: str = "",
) -> ModelVersion:
    """Return the model's version with that label, created when new; fill in facts it lacked."""
    model_version, created = ModelVersion.objects.get_or_create(
        model=model,
        version=version,
        defaults={
            "version_number": version_number_parse(version),
            "run_id": run_id,
            "source_uri": source_uri,
            "description": description,
            "created_at": at,
        },
    )
    if not created:
        changed = []
        for field, value in (("run_id", run_id), ("source_uri", source_uri), ("description", description)):
            if value and not getattr(model_version, field):
                setattr(model_version, field, value)
                changed.append(field)
        if changed:
            model_version.save(update_fields=changed)
    model_version.model = model
    return model_version


def alias_move_kind(*, from_version: ModelVersion | None, to_version: ModelVersion | None) -> str:
    """Return how an alias move reads: removal, rollback (to a lower version than before) or promotion."""
    if to_version is None:
        return AliasMove.Kind.REMOVAL
    if (
        from_version is not None
        and from_version.version_number is not None
        and to_version.version_number is not None
        and to_version.version_number < from_version.version_number
    ):
        return AliasMove.Kind.ROLLBACK
    return AliasMove.Kind.PROMOTION


@transaction.atomic(savepoint=False)
def registry_change_apply(
    *, team: Team | int, change: RegistryChange, occurred_at: datetime, delivery: Delivery | None = None
) -> tuple[RegisteredModel, ModelVersion | None, AliasMove | None]:
    """Apply one registry change for the team; return the model, the version and the alias move it touched.

    Lock the registered model's row, so changes to one model apply one after the
    other. Idempotent per delivery: a delivery that already recorded an alias
    move records no second one. An alias event older than the alias's current
    position is kept as history (an AliasMove) without moving the alias back.
    """
    model = registered_model_get_or_create(team=team, name=change.model_name, at=occurred_at, lock=True)
    if change.action == RegistryAction.MODEL_CREATED:
        changed = []
        if change.description and not model.description:
            model.description = change.description
            changed.append("description")
        if change.tags:
            model.tags = {**model.tags, **change.tags}
            changed.append("tags")
        if changed:
            model.save(update_fields=changed)
        return model, None, None
    if not change.version:
        return model, None, None
    version = model_version_get_or_create(
        model=model,
        version=change.version,
        at=occurred_at,
        run_id=change.run_id,
        source_uri=change.source_uri,
        description=change.description,
    )
    if change.action == RegistryAction.VERSION_TAG_SET and change.tags:
        version.tags = {**version.tags, **change.tags}
        version.save(update_fields=["tags"])
    elif change.action == RegistryAction.VERSION_TAG_DELETED and change.tags:
        version.tags = {key: value for key, value in version.tags.items() if key not in change.tags}
        version.save(update_fields=["tags"])
    elif change.action == RegistryAction.VERSION_CREATED and change.tags:
        version.tags = {**change.tags, **version.tags}
        version.save(update_fields=["tags"])
    elif change.action in (RegistryAction.ALIAS_SET, RegistryAction.ALIAS_DELETED) and change.alias:
        move = alias_move_record(
            model=model,
            alias=change.alias,
            version=version,
            removed=change.action == RegistryAction.ALIAS_DELETED,
            moved_at=occurred_at,
            delivery=delivery,
        )
        return model, version, move
    return model, version, None


def alias_move_record(
    *,
    model: RegisteredModel,
    alias: str,
    version: ModelVersion,
    removed: bool,
    moved_at: datetime,
    delivery: Delivery | None = None,
) -> AliasMove:
    """Record an alias set on (or removed from) a version and move the alias when this is its newest event.

    The caller holds the registered model's row lock.
    """
    if delivery is not None:
        existing = AliasMove.objects.filter(delivery=delivery).first()
        if existing is not None:
            return existing
    current = ModelAlias.objects.select_related("version").filter(model=model, alias=alias).first()
    is_newest = current is None or moved_at >= current.updated_at
    if removed:
        from_version, to_version = version, None
    elif is_newest:
        from_version, to_version = (current.version if current is not None else None), version
    else:
        # Older than where the alias points now: history only, read against the move before it.
        previous = (
            AliasMove.objects.filter(model=model, alias=alias, moved_at__lte=moved_at, to_version__isnull=False)
            .select_related("to_version")
            .first()
        )
        from_version, to_version = (previous.to_version if previous is not None else None), version
    move = AliasMove.objects.create(
        model=model,
        alias=alias,
        from_version=from_version,
        to_version=to_version,
        kind=alias_move_kind(from_version=from_version, to_version=to_version),
        moved_at=moved_at,
        delivery=delivery,
    )
    if is_newest:
        if removed:
            if current is not None and current.version_id == version.pk:
                current.delete()
        elif current is None:
            ModelAlias.objects.create(model=model, alias=alias, version=version, updated_at=moved_at)
        else:
            current.version = version
            current.updated_at = moved_at
            current.save(update_fields=["version", "updated_at"])
    return move
