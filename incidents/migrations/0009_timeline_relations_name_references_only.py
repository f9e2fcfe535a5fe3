"""Entries recording a relation between incidents name the other incident by reference only.

They used to carry the other incident's title, which everyone who sees the timeline could read even when
that incident is restricted. The text is rewritten to what ``incident_relate`` now records.
"""

import re

from django.db import migrations

RELATED_WITH_TITLE = re.compile(r"^(?P<head>.* related this incident to INC-\d+): .*$", re.DOTALL)


def drop_titles(apps, schema_editor):
    TimelineEntry = apps.get_model("incidents", "TimelineEntry")
    entries = TimelineEntry.objects.filter(kind="link", text__contains=" related this incident to INC-")
    for entry in entries.only("id", "text").iterator():
        match = RELATED_WITH_TITLE.match(entry.text)
        if match:
            TimelineEntry.objects.filter(pk=entry.pk).update(text=match["head"] + ".")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0008_delivery_is_test")]

    operations = [migrations.RunPython(drop_titles, migrations.RunPython.noop)]
