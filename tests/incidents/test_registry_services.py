"""Registry changes: models, versions, tags, alias promotions, rollbacks and removals."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.ingest.events import RegistryAction, RegistryChange
from incidents.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel
from incidents.services.registry import registry_change_apply, version_number_parse
from tests.factories import DeliveryFactory, SourceFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def change(action, version="", alias="", **extra):
    return RegistryChange(
        action=RegistryAction(action), model_name="fraud-detector", version=version, alias=alias, **extra
    )


def set_alias(team, version, at, delivery=None):
    return registry_change_apply(
        team=team, change=change("alias_set", version, "champion"), occurred_at=at, delivery=delivery
    )[2]


def test_version_created_fills_the_registry(team):
    model, version, move = registry_change_apply(
        team=team,
        change=change("version_created", "17", run_id="a1b2c3", source_uri="models:/m-17", tags={"stage": "candidate"}),
        occurred_at=T0,
    )
    assert move is None
    assert (model.team, model.name) == (team, "fraud-detector")
    assert (version.version, version.version_number, version.run_id, version.source_uri) == (
        "17",
        17,
        "a1b2c3",
        "models:/m-17",
    )
    assert version.tags == {"stage": "candidate"}
    assert version.created_at == T0


def test_model_created_keeps_description_and_tags(team):
    registry_change_apply(
        team=team,
        change=change("model_created", description="Scores card payments.", tags={"owner": "fraud"}),
        occurred_at=T0,
    )
    model = RegisteredModel.objects.get()
    assert (model.description, model.tags) == ("Scores card payments.", {"owner": "fraud"})


def test_tags_are_set_and_deleted(team):
    registry_change_apply(team=team, change=change("version_tag_set", "3", tags={"validated": "true"}), occurred_at=T0)
    registry_change_apply(team=team, change=change("version_tag_set", "3", tags={"drift": "low"}), occurred_at=T0)
    registry_change_apply(team=team, change=change("version_tag_deleted", "3", tags={"validated": ""}), occurred_at=T0)
    assert ModelVersion.objects.get().tags == {"drift": "low"}


def test_alias_promotion_then_rollback(team):
    first = set_alias(team, "7", T0)
    promotion = set_alias(team, "8", T0 + timedelta(hours=1))
    rollback = set_alias(team, "7", T0 + timedelta(hours=2))
    assert (first.kind, first.from_version, first.to_version.version) == ("promotion", None, "7")
    assert (promotion.kind, promotion.from_version.version, promotion.to_version.version) == ("promotion", "7", "8")
    assert (rollback.kind, rollback.from_version.version, rollback.to_version.version) == ("rollback", "8", "7")
    alias = ModelAlias.objects.get()
    assert (alias.alias, alias.version.version, alias.updated_at) == ("champion", "7", T0 + timedelta(hours=2))


def test_numeric_versions_compare_as_numbers(team):
    set_alias(team, "9", T0)
    assert set_alias(team, "10", T0 + timedelta(hours=1)).kind == "promotion"


def test_alias_removal(team):
    set_alias(team, "8", T0)
    _, _, removal = registry_change_apply(
        team=team, change=change("alias_deleted", "8", "champion"), occurred_at=T0 + timedelta(hours=1)
    )
    assert (removal.kind, removal.from_version.version, removal.to_version) == ("removal", "8", None)
    assert not ModelAlias.objects.exists()


def test_an_older_alias_event_is_history_and_does_not_move_the_alias(team):
    set_alias(team, "7", T0)
    set_alias(team, "9", T0 + timedelta(hours=2))
    late = set_alias(team, "8", T0 + timedelta(hours=1))
    assert (late.from_version.version, late.to_version.version, late.kind) == ("7", "8", "promotion")
    assert ModelAlias.objects.get().version.version == "9"
    assert AliasMove.objects.count() == 3


def test_one_alias_move_per_delivery(team):
    delivery = DeliveryFactory(source=SourceFactory(team=team, kind="mlflow"), event="model_version_alias.created")
    first = set_alias(team, "8", T0, delivery=delivery)
    again = set_alias(team, "8", T0, delivery=delivery)
    assert first == again
    assert AliasMove.objects.count() == 1


def test_registries_of_teams_are_separate(team):
    other = SourceFactory(name="other").team
    registry_change_apply(team=team, change=change("version_created", "1"), occurred_at=T0)
    registry_change_apply(team=other, change=change("version_created", "1"), occurred_at=T0)
    assert RegisteredModel.objects.filter(name="fraud-detector").count() == 2


@pytest.mark.parametrize(
    ("label", "number"),
    [("17", 17), ("v17", 17), ("V3", 3), ("1.2.0", None), ("latest", None), ("", None), ("9" * 30, None), ("١٢", None)],
)
def test_version_number_parse(label, number):
    assert version_number_parse(label) == number
