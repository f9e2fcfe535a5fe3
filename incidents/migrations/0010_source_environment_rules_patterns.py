"""Give sources created before environment rules could be patterns the pattern defaults.

Such a source still holds the four rules every source used to start with, so ``ml-serving-prod`` or
``prod-eu`` fell to ``*`` (SEV4). A source whose rules differ from those four in any way was edited by
its team and is left alone. Both rule sets are written out here, as they were at this migration, so a
later change of the model's defaults does not change what this migration did.
"""

from django.db import migrations

OLD_DEFAULT_RULES = {"production": "SEV2", "prod": "SEV2", "staging": "SEV3", "*": "SEV4"}

_PRODUCTION = ["production", "prod", "prod-*", "*-prod", "*-prod-*", "production-*", "*-production"]
_STAGING = ["staging", "stage", "staging-*", "*-staging", "stg-*", "*-stg"]
PATTERN_DEFAULT_RULES = {**dict.fromkeys(_PRODUCTION, "SEV2"), **dict.fromkeys(_STAGING, "SEV3"), "*": "SEV4"}


def sources_with_old_defaults_upgrade(apps, schema_editor):
    """Replace the rules of every source that still has exactly the old defaults by the pattern defaults."""
    Source = apps.get_model("incidents", "Source")
    upgraded = [
        source
        for source in Source.objects.only("pk", "environment_severity").iterator()
        if source.environment_severity == OLD_DEFAULT_RULES
    ]
    for source in upgraded:
        source.environment_severity = dict(PATTERN_DEFAULT_RULES)
    Source.objects.bulk_update(upgraded, ["environment_severity"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0009_timeline_relations_name_references_only")]

    operations = [migrations.RunPython(sources_with_old_defaults_upgrade, migrations.RunPython.noop)]
