"""The visibility rules the digest checks in Python agree with the querysets every page reads through."""

import pytest

from incidents.selectors.incidents import incident_list, incident_visible_to_viewer
from postmortems.models import PostmortemReviewer
from postmortems.selectors.actions import action_item_visible_to_viewer, action_items_visible_to
from postmortems.selectors.postmortems import postmortem_list, postmortem_visible_to_viewer
from teams.selectors import viewers_of
from tests.factories import ActionItemFactory, IncidentFactory, MembershipFactory, TeamFactory, UserFactory
from tests.postmortems.follow_ups.conftest import make_postmortem

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two teams; in each, an open and a restricted incident with a published or draft post-mortem and an item."""
    red, blue = TeamFactory(slug="red"), TeamFactory(slug="blue")
    people = {
        "staff": UserFactory(username="boss", is_staff=True),
        "red": UserFactory(username="ruth"),
        "blue": UserFactory(username="bob"),
        "both": UserFactory(username="bea"),
        "none": UserFactory(username="nel"),
    }
    MembershipFactory(team=red, user=people["red"])
    MembershipFactory(team=blue, user=people["blue"], role="lead")
    MembershipFactory(team=red, user=people["both"])
    MembershipFactory(team=blue, user=people["both"])
    incidents, postmortems, items = [], [], []
    for team in (red, blue):
        for restricted in (False, True):
            for published in (False, True):
                incident = IncidentFactory(team=team, restricted=restricted)
                incidents.append(incident)
                postmortems.append(make_postmortem(incident, published=published))
                items.append(ActionItemFactory(incident=incident, owner=people["none"]))
    # Nel is invited to review a restricted draft of red, and owns items of teams she is not in.
    PostmortemReviewer.objects.create(postmortem=postmortems[2], user=people["none"])
    return people, incidents, postmortems, items


def test_every_rule_agrees_with_its_queryset_for_every_person(world):
    people, incidents, postmortems, items = world
    viewers = viewers_of(users=people.values())
    reviewers = {p.pk: frozenset(p.reviewers.values_list("user_id", flat=True)) for p in postmortems}
    checked = 0
    for user in people.values():
        viewer = viewers[user.pk]
        seen_incidents = set(incident_list(user=user).values_list("pk", flat=True))
        seen_postmortems = set(postmortem_list(user=user).values_list("pk", flat=True))
        seen_items = set(action_items_visible_to(user=user).values_list("pk", flat=True))
        for incident in incidents:
            rule = incident_visible_to_viewer(viewer=viewer, restricted=incident.restricted, team_id=incident.team_id)
            assert rule == (incident.pk in seen_incidents), (user.username, incident.pk)
        for postmortem in postmortems:
            rule = postmortem_visible_to_viewer(
                viewer=viewer,
                published=postmortem.published_version is not None,
                restricted=postmortem.incident.restricted,
                team_id=postmortem.incident.team_id,
                reviewer_ids=reviewers[postmortem.pk],
            )
            assert rule == (postmortem.pk in seen_postmortems), (user.username, postmortem.pk)
        for item in items:
            rule = action_item_visible_to_viewer(
                viewer=viewer, restricted=item.incident.restricted, team_id=item.team_id, owner_id=item.owner_id
            )
            assert rule == (item.pk in seen_items), (user.username, item.pk)
            checked += 1
    assert checked == len(people) * len(items)


def test_viewers_know_their_teams_and_the_teams_they_lead(world):
    people, *_ = world
    viewers = viewers_of(users=people.values())
    assert len(viewers[people["both"].pk].team_ids) == 2
    assert viewers[people["blue"].pk].lead_team_ids == viewers[people["blue"].pk].team_ids
    assert viewers[people["none"].pk].team_ids == frozenset() and viewers[people["staff"].pk].is_staff
