import pytest
from django.urls import reverse

from teams.models import Membership, Team
from teams.services import LAST_LEAD
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_require_sign_in(client):
    response = client.get(reverse("teams:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_sign_in_with_wrong_password_shows_error(client, member):
    response = client.post(reverse("login"), {"username": member.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_sign_in_and_out(client, member):
    response = client.post(reverse("login"), {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_team_list_shows_teams_with_member_count(client, team, member, lead, django_assert_max_num_queries):
    client.force_login(member)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("teams:list"))
    assert response.status_code == 200
    assert response.context["teams"][0].member_count == 2
    assert b"your team" in response.content


def test_team_detail_lists_members_and_hides_management_from_members(client, team, member, lead):
    client.force_login(member)
    response = client.get(team.get_absolute_url())
    assert response.status_code == 200
    assert b"lucia" in response.content and b"priya" in response.content
    assert b"Add a member" not in response.content


def test_lead_adds_member(client, team, lead):
    newcomer = UserFactory(username="kenji")
    client.force_login(lead)
    response = client.post(reverse("teams:member-add", args=[team.slug]), {"user": newcomer.pk, "role": "member"})
    assert response.status_code == 302
    assert Membership.objects.filter(team=team, user=newcomer, role="member").exists()


def test_add_member_form_shows_field_errors(client, team, lead):
    client.force_login(lead)
    response = client.post(reverse("teams:member-add", args=[team.slug]), {"user": "999999", "role": "boss"})
    assert response.status_code == 400
    errors = response.context["add_form"].errors
    assert "user" in errors and "role" in errors


def test_member_cannot_add_members(client, team, member):
    newcomer = UserFactory(username="kenji")
    client.force_login(member)
    response = client.post(reverse("teams:member-add", args=[team.slug]), {"user": newcomer.pk, "role": "member"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


def test_remove_asks_for_confirmation_first(client, team, lead, member):
    membership = Membership.objects.get(team=team, user=member)
    client.force_login(lead)
    url = reverse("teams:member-remove", args=[team.slug, membership.pk])
    response = client.post(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Remove {member.username} from {team.name}?" in page
    assert 'name="confirm" value="yes"' in page
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert client.get(url).status_code == 200
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_lead_removes_member_once_confirmed(client, team, lead, member):
    membership = Membership.objects.get(team=team, user=member)
    client.force_login(lead)
    response = client.post(reverse("teams:member-remove", args=[team.slug, membership.pk]), {"confirm": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_team_page_marks_remove_for_the_confirmation_dialog(client, team, lead, member):
    client.force_login(lead)
    page = client.get(team.get_absolute_url()).content.decode()
    assert f'data-confirm="Remove {member.username} from {team.name}?"' in page
    assert "js/confirm.js" in page


def test_last_lead_cannot_be_removed(client, team, lead):
    membership = Membership.objects.get(team=team, user=lead)
    client.force_login(lead)
    response = client.post(
        reverse("teams:member-remove", args=[team.slug, membership.pk]), {"confirm": "yes"}, follow=True
    )
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert LAST_LEAD.encode() in response.content


def test_lead_promotes_member(client, team, lead, member):
    membership = Membership.objects.get(team=team, user=member)
    client.force_login(lead)
    client.post(reverse("teams:member-role", args=[team.slug, membership.pk]), {"role": "lead"})
    membership.refresh_from_db()
    assert membership.role == Membership.Role.LEAD


def test_unknown_role_is_refused(client, team, lead, member):
    membership = Membership.objects.get(team=team, user=member)
    client.force_login(lead)
    response = client.post(
        reverse("teams:member-role", args=[team.slug, membership.pk]), {"role": "owner"}, follow=True
    )
    membership.refresh_from_db()
    assert membership.role == Membership.Role.MEMBER
    assert b"Unknown role" in response.content


def test_team_settings_rejects_unknown_timezone(client, team, lead):
    client.force_login(lead)
    response = client.post(
        reverse("teams:settings", args=[team.slug]),
        {"name": team.name, "timezone": "Mars/Olympus", "digest_weekday": 0, "digest_hour": 9},
    )
    assert response.status_code == 400
    assert "timezone" in response.context["settings_form"].errors
    team.refresh_from_db()
    assert team.timezone == "UTC"


def settings_form(team, **changes) -> dict:
    return {"name": team.name, "timezone": team.timezone, "digest_weekday": 0, "digest_hour": 9, **changes}


def test_a_lead_sets_and_clears_the_operations_budget(client, team, lead, member):
    client.force_login(lead)
    page = client.get(team.get_absolute_url()).content.decode()
    assert "now 2 members: 40 h" in page  # the default the empty field stands for
    response = client.post(reverse("teams:settings", args=[team.slug]), settings_form(team, operations_budget_hours=60))
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.operations_budget_hours == 60
    client.post(reverse("teams:settings", args=[team.slug]), settings_form(team, operations_budget_hours=""))
    team.refresh_from_db()
    assert team.operations_budget_hours is None


@pytest.mark.parametrize("hours", ["0", "-5", "10001", "forty", "1e9"])
def test_an_impossible_operations_budget_is_refused_and_nothing_changes(client, team, lead, hours):
    client.force_login(lead)
    description = team.description
    form = settings_form(team, description="Changed in the same form.", operations_budget_hours=hours)
    response = client.post(reverse("teams:settings", args=[team.slug]), form)
    assert response.status_code == 400
    assert "operations_budget_hours" in response.context["settings_form"].errors
    team.refresh_from_db()
    assert (team.operations_budget_hours, team.description) == (None, description)


def test_a_member_cannot_set_the_operations_budget(client, team, member):
    client.force_login(member)
    form = settings_form(team, operations_budget_hours=500)
    response = client.post(reverse("teams:settings", args=[team.slug]), form)
    assert response.status_code == 403
    team.refresh_from_db()
    assert team.operations_budget_hours is None


def test_the_database_refuses_a_zero_operations_budget(team):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.filter(pk=team.pk).update(operations_budget_hours=0)


def test_unknown_page_is_friendly_404(client, member):
    client.force_login(member)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Nothing here" in response.content
    assert b"/no/such/page/" in response.content


def test_unknown_team_is_404(client, member):
    client.force_login(member)
    assert client.get(reverse("teams:detail", args=["nope"])).status_code == 404
