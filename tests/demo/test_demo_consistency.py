"""The demo organisation tells a consistent story: milestones in order, and no one asked the same thing twice."""

import itertools
from collections import Counter

import pytest
from django.core.management import call_command

from incidents.models import Incident
from postmortems.models import ActionItem, ActionItemStatus

# An incident's milestones in the order they happen; a milestone not reached yet is left out.
MILESTONES = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")


pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", verbosity=0)


def test_every_demo_incident_reaches_its_milestones_in_order(demo):
    out_of_order = []
    for incident in Incident.objects.order_by("pk"):
        reached = [(name, getattr(incident, name)) for name in MILESTONES if getattr(incident, name)]
        for (earlier, earlier_at), (later, later_at) in itertools.pairwise(reached):
            if earlier_at > later_at:
                out_of_order.append(
                    f"{incident.reference}: {earlier} {earlier_at:%d %b %H:%M} after {later} {later_at}"
                )
    assert not out_of_order, "\n".join(out_of_order)


def test_no_demo_person_owns_two_open_action_items_of_one_title(demo):
    open_items = ActionItem.objects.exclude(status__in=[ActionItemStatus.DONE, ActionItemStatus.WONT_DO])
    twice = [
        f"{owner}: {title} ({count} times)"
        for (owner, title), count in Counter(open_items.values_list("owner__username", "title")).items()
        if count > 1
    ]
    assert not twice, "\n".join(twice)
