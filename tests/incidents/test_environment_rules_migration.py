"""Sources created before environment rules could be patterns get the pattern defaults, unless edited."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents.models import Source
from incidents.services.deployments import severity_for
from tests.factories import SourceFactory

BEFORE = [("incidents", "0009_timeline_relations_name_references_only")]
OLD_DEFAULTS = {"production": "SEV2", "prod": "SEV2", "staging": "SEV3", "*": "SEV4"}


def migrate(targets=None):
    """Migrate to the targets, or to the latest migration of every app (what the other tests expect)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_sources_with_the_old_defaults_get_pattern_rules_and_edited_ones_keep_theirs(team):
    migrate(BEFORE)
    old = SourceFactory(team=team, environment_severity=dict(OLD_DEFAULTS))
    edited_rules = {"production": "SEV1", "prod": "SEV2", "staging": "SEV3", "*": "SEV4"}
    edited = SourceFactory(team=team, environment_severity=dict(edited_rules))
    assert severity_for(source=old, environment="ml-serving-prod") == "SEV4"

    migrate()

    old = Source.objects.get(pk=old.pk)
    assert severity_for(source=old, environment="ml-serving-prod") == "SEV2"
    assert severity_for(source=old, environment="prod-eu") == "SEV2"
    assert severity_for(source=old, environment="staging-eu") == "SEV3"
    assert severity_for(source=old, environment="preprod") == "SEV4"
    assert Source.objects.get(pk=edited.pk).environment_severity == edited_rules
