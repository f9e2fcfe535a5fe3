"""Lists of post-mortems, templates and teams run a fixed number of queries whatever the amount of data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from postmortems.models import Template
from postmortems.services.templates import template_create
from teams.models import Membership
from tests.factories import IncidentFactory, MembershipFactory, TeamFactory, UserFactory
from tests.postmortems.follow_ups.conftest import make_postmortem

pytestmark = pytest.mark.django_db


def grow(team, member, size: int) -> None:
    """Add ``size`` teams with people, templates, and incidents with post-mortems (published and draft)."""
    for index in range(size):
        other = TeamFactory()
        MembershipFactory(team=other, role=Membership.Role.LEAD)
        MembershipFactory(team=other, user=member)
        for owner in (team, other):
            name = f"Template {Template.objects.filter(team=owner).count()} of {owner.slug}"
            template_create(team=owner, name=name, actor=member)
            make_postmortem(IncidentFactory(team=owner), published=bool(index % 2))
        MembershipFactory(team=team, user=UserFactory())


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context)


LIMITS = {
    "/api/v1/postmortems/": 5,  # session, user, team ids, the page and its count
    "/api/v1/teams/": 6,  # session, user, the count, the page, its memberships, their people
    # session, user, team ids twice, built-ins up to date, the templates, the teams for the two choice lists,
    # the templates to copy from
    "/postmortems/templates/": 9,
}


@pytest.mark.parametrize("url", LIMITS)
def test_lists_run_a_bounded_number_of_queries(client, team, member, url, django_assert_max_num_queries):
    client.force_login(member)
    grow(team, member, 2)
    count_queries(client, url)  # the first look at templates writes the built-in ones
    small_count = count_queries(client, url)
    grow(team, member, 10)
    with django_assert_max_num_queries(LIMITS[url]):
        big_count = count_queries(client, url)
    assert big_count == small_count, f"{url}: {small_count} queries with little data, {big_count} with more"
