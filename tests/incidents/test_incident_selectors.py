from datetime import UTC, datetime, timedelta

import pytest

from incidents.models import ModelAlias
from incidents.selectors.incidents import (
    incident_durations,
    incident_find_by_reference,
    incident_get_visible,
    incident_list,
    incident_open_counts,
    incident_timeline,
)
from incidents.selectors.registry import environment_sort_key, model_lineage
from incidents.services import incidents as services
from tests.factories import (
    AliasMoveFactory,
    DeploymentFactory,
    IncidentFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    TeamFactory,
    TimelineEntryFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_restricted_incidents_are_visible_to_the_team_and_staff_only(team, member, outsider, staff):
    public = IncidentFactory(team=team, severity="SEV1")
    secret = IncidentFactory(team=team, severity="SEV1", restricted=True)
    assert set(incident_list(user=member)) == {public, secret}
    assert set(incident_list(user=staff)) == {public, secret}
    assert list(incident_list(user=outsider)) == [public]
    assert incident_get_visible(user=outsider, pk=secret.pk) is None
    assert incident_open_counts(user=outsider)["SEV1"] == 1
    assert incident_open_counts(user=member)["SEV1"] == 2
    assert incident_find_by_reference(reference=secret.reference, user=outsider) is None
    assert incident_find_by_reference(reference=f"inc-{secret.pk}", user=member) == secret


def test_open_counts_cover_every_severity_and_only_open_incidents(team, member):
    IncidentFactory(team=team, severity="SEV2")
    IncidentFactory(team=team, severity="SEV2", status="mitigated")
    IncidentFactory(team=team, severity="SEV4", status="closed")
    assert incident_open_counts(user=member) == {"SEV1": 0, "SEV2": 1, "SEV3": 0, "SEV4": 0}
    other = TeamFactory(slug="recsys")
    IncidentFactory(team=other, severity="SEV3")
    assert incident_open_counts(user=member, team_ids=[team.pk])["SEV3"] == 0


def test_durations_measure_from_the_start_and_acknowledgement_from_detection():
    incident = IncidentFactory.build(
        status="resolved",
        started_at=T0,
        detected_at=T0 + timedelta(minutes=15),
        acknowledged_at=T0 + timedelta(minutes=20),
        mitigated_at=T0 + timedelta(hours=1),
        resolved_at=T0 + timedelta(hours=5),
    )
    values = {duration.label: duration.value for duration in incident_durations(incident=incident)}
    assert values == {
        "Time to detect": timedelta(minutes=15),
        "Time to acknowledge": timedelta(minutes=5),
        "Time to mitigate": timedelta(hours=1),
        "Time to resolve": timedelta(hours=5),
    }


def test_durations_of_an_open_incident_keep_running():
    incident = IncidentFactory.build(status="open", started_at=T0, detected_at=T0 + timedelta(minutes=5))
    durations = incident_durations(incident=incident, now=T0 + timedelta(hours=2))
    mitigate = next(duration for duration in durations if duration.label == "Time to mitigate")
    acknowledge = next(duration for duration in durations if duration.label == "Time to acknowledge")
    assert mitigate.value == timedelta(hours=2) and mitigate.running
    assert acknowledge.value is None and not acknowledge.running


def test_timeline_merges_alias_moves_of_linked_models_within_the_window(team):
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    other_model = RegisteredModelFactory(team=team, name="churn-predictor")
    v8 = ModelVersionFactory(model=model, version="8")
    v9 = ModelVersionFactory(model=model, version="9")
    incident = IncidentFactory(team=team, model=model, started_at=T0, detected_at=T0 + timedelta(minutes=5))
    incident.resolved_at = T0 + timedelta(hours=2)
    incident.save()
    TimelineEntryFactory(incident=incident, occurred_at=T0 + timedelta(minutes=5), text="Opened")
    TimelineEntryFactory(incident=incident, occurred_at=T0 + timedelta(minutes=50), text="Rolling back")
    AliasMoveFactory(to_version=v9, from_version=v8, moved_at=T0 - timedelta(minutes=1))  # before the start
    AliasMoveFactory(to_version=v9, from_version=v8, moved_at=T0 + timedelta(minutes=1))
    AliasMoveFactory(to_version=v8, from_version=v9, kind="rollback", moved_at=T0 + timedelta(hours=1))
    AliasMoveFactory(to_version=v8, moved_at=T0 + timedelta(hours=3))  # after resolution
    AliasMoveFactory(to_version=ModelVersionFactory(model=other_model), moved_at=T0 + timedelta(minutes=30))

    items = incident_timeline(incident=incident)
    assert [item.text for item in items] == [
        "fraud-detector@champion promoted to v9 (was v8).",
        "Opened",
        "Rolling back",
        "fraud-detector@champion rolled back to v8 from v9.",
    ]
    assert [item.kind for item in items] == ["alias_move", "note", "note", "alias_move"]


def test_timeline_includes_moves_of_models_of_linked_versions(team, member):
    linked_model = RegisteredModelFactory(team=team, name="embedding-service")
    version = ModelVersionFactory(model=linked_model, version="4")
    incident = services.incident_open(team=team, title="Latency", started_at=T0, detected_at=T0)
    services.incident_set_model_version_role(incident=incident, model_version=version, role="suspect", actor=member)
    AliasMoveFactory(to_version=version, moved_at=T0 + timedelta(minutes=1))
    texts = [item.text for item in incident_timeline(incident=incident, now=T0 + timedelta(hours=1))]
    assert "embedding-service@champion promoted to v4." in texts


def test_environments_read_from_development_to_production():
    names = ["production", "zeta", "staging", "", "dev", "canary"]
    assert sorted(names, key=environment_sort_key) == ["dev", "staging", "canary", "zeta", "", "production"]


def test_lineage_rows_cells_moves_and_incidents(team, member, outsider):
    model = RegisteredModelFactory(team=team, name="fraud-detector")
    versions = {
        number: ModelVersionFactory(model=model, version=str(number), version_number=number) for number in (8, 9, 10)
    }
    for hours in range(6):
        DeploymentFactory(
            model_version=versions[9],
            environment="production",
            status="failed" if hours % 2 else "succeeded",
            last_event_at=T0 + timedelta(hours=hours),
        )
    DeploymentFactory(model_version=versions[9], environment="staging", last_event_at=T0)
    DeploymentFactory(model_version=versions[8], environment="production", last_event_at=T0 - timedelta(days=1))
    AliasMoveFactory(to_version=versions[9], from_version=versions[8], moved_at=T0)
    AliasMoveFactory(
        to_version=versions[8], from_version=versions[9], kind="rollback", moved_at=T0 + timedelta(hours=6)
    )
    ModelAlias.objects.create(model=model, alias="champion", version=versions[8], updated_at=T0 + timedelta(hours=6))
    public = IncidentFactory(team=team, model=model)
    secret = IncidentFactory(team=team, model=model, restricted=True)
    services.incident_set_model_version_role(incident=public, model_version=versions[9], role="cause", actor=member)
    services.incident_set_model_version_role(incident=secret, model_version=versions[9], role="suspect", actor=member)

    lineage = model_lineage(user=outsider, model=model)
    assert [row.version.version for row in lineage.rows] == ["10", "9", "8"]
    assert lineage.environments == ["staging", "production"]
    row9 = lineage.rows[1]
    staging, production = row9.cells
    assert (
        production.total == 6 and production.failed == 3 and len(production.deployments) == 4 and production.more == 2
    )
    assert production.deployments[0].last_event_at == T0 + timedelta(hours=5)
    assert staging.total == 1
    assert [link.incident for link in row9.caused] == [public]
    assert row9.touched == []  # the restricted incident is hidden from an outsider
    assert [move.kind for move in row9.moves_in] == ["promotion"]
    row8 = lineage.rows[2]
    assert row8.aliases == ["champion"] and [move.kind for move in row8.moves_in] == ["rollback"]
    assert lineage.rows[0].cells[0].deployments == []
    assert [incident.pk for incident in lineage.open_incidents] == [public.pk]
    assert [link.incident for link in model_lineage(user=member, model=model).rows[1].touched] == [secret]


def test_capped_paginator_stops_counting_at_the_cap(team):
    from incidents.models import Incident
    from incidents.pagination import CappedPaginator

    for _ in range(12):
        IncidentFactory(team=team)
    capped = CappedPaginator(Incident.objects.order_by("-id"), 5, cap=10)
    assert (capped.count, capped.capped, capped.num_pages) == (10, True, 2)
    exact = CappedPaginator(Incident.objects.order_by("-id"), 5, cap=100)
    assert (exact.count, exact.capped, exact.num_pages) == (12, False, 3)
