"""Pages of action items: my actions, the board, the lead's overdue list, one item, the forms and the panels."""

import re
from datetime import date, timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from postmortems.actions_forms import BULK_STATUS_REQUIRED, NOT_AN_ITEM
from postmortems.models import ActionItem, ActionItemStatus
from postmortems.selectors.actions import action_item_board, action_item_figures, action_items_of_owner
from postmortems.services.actions import (
    BULK_MISSING,
    BULK_NOTHING_SELECTED,
    DUE_DATE_BEFORE_CREATION,
    WONT_DO_NEEDS_REASON,
    action_item_set_status,
)
from tests.factories import ActionItemFactory
from tests.postmortems.follow_ups.conftest import make_postmortem, open_incident

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)


@pytest.fixture
def items(frozen, incident, member):
    """Four of the member's items: overdue, due soon, later, and done (late)."""
    late = ActionItemFactory(incident=incident, owner=member, title="Overdue one", due_date=TODAY - timedelta(days=3))
    soon = ActionItemFactory(incident=incident, owner=member, title="Soon one", due_date=TODAY + timedelta(days=2))
    later = ActionItemFactory(incident=incident, owner=member, title="Later one", due_date=TODAY + timedelta(days=30))
    done = ActionItemFactory(incident=incident, owner=member, title="Done one", due_date=TODAY - timedelta(days=1))
    action_item_set_status(item=done, actor=member, status=ActionItemStatus.DONE)
    return {"late": late, "soon": soon, "later": later, "done": done}


def test_my_actions_groups_by_urgency(items, member):
    mine = action_items_of_owner(owner=member, today=TODAY)
    assert [item.title for item in mine.overdue] == ["Overdue one"]
    assert [item.title for item in mine.due_soon] == ["Soon one"]
    assert [item.title for item in mine.later] == ["Later one"]
    assert [item.title for item in mine.recently_resolved] == ["Done one"]


def test_figures_count_open_overdue_on_time_and_median(frozen, incident, member):
    ActionItemFactory(incident=incident, owner=member, due_date=TODAY - timedelta(days=1))
    on_time = ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=10))
    late = ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=1))
    dropped = ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=1))
    frozen.shift(timedelta(days=2))
    action_item_set_status(item=on_time, actor=member, status="done")
    frozen.shift(timedelta(days=4))
    action_item_set_status(item=late, actor=member, status="done")
    action_item_set_status(item=dropped, actor=member, status="wont_do", reason="Superseded.")
    figures = action_item_figures(items=ActionItem.objects.all(), today=TODAY + timedelta(days=6))
    assert (figures.open, figures.overdue, figures.done, figures.done_on_time, figures.wont_do) == (1, 1, 2, 1, 1)
    assert figures.done_on_time_percent == 50
    assert figures.median_days_to_done == 4.0  # done after 2 and 6 days


def test_board_columns_put_overdue_first_and_hide_old_resolutions(frozen, incident, team, member):
    later = ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=1))
    late = ActionItemFactory(incident=incident, owner=member, due_date=TODAY - timedelta(days=1))
    old = ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=5))
    action_item_set_status(item=old, actor=member, status="done")
    recent = ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=50))
    frozen.shift(timedelta(days=31))
    action_item_set_status(item=recent, actor=member, status="done")
    columns = {column.status: column for column in action_item_board(team=team, user=member, today=TODAY)}
    assert [item.pk for item in columns["open"].items] == [late.pk, later.pk]
    assert columns["open"].items[0].overdue
    assert [item.pk for item in columns["done"].items] == [recent.pk]
    assert columns["in_progress"].items == [] and columns["wont_do"].items == []


def test_restricted_incidents_items_are_for_the_team(frozen, team, lead, member, outsider):
    secret = open_incident(team, title="Card data exposure", restricted=True, actor=lead)
    ActionItemFactory(incident=secret, owner=member)
    columns = action_item_board(team=team, user=outsider, today=TODAY)
    assert all(not column.items for column in columns)
    assert len(action_item_board(team=team, user=member, today=TODAY)[0].items) == 1


def test_my_actions_page(client, items, member, django_assert_max_num_queries):
    client.force_login(member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("postmortems:actions"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.index("Overdue one") < content.index("Soon one") < content.index("Later one")
    assert "Overdue by 3 days" in content and "Due in 2 days" in content
    assert "Done 16 Mar · late" in content


def test_my_actions_page_query_count_does_not_grow_with_items(
    client, frozen, incident, member, django_assert_max_num_queries
):
    for number in range(30):
        ActionItemFactory(incident=incident, owner=member, due_date=TODAY + timedelta(days=number - 10))
    client.force_login(member)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("postmortems:actions")).status_code == 200


def test_board_page(client, items, team, member, django_assert_max_num_queries):
    client.force_login(member)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("postmortems:action-board", args=[team.slug]))
    assert response.status_code == 200
    assert response.context["can_change"]
    assert b"Overdue one" in response.content and b"bulk-form" in response.content


def test_board_of_unknown_team_is_404(client, member):
    client.force_login(member)
    assert client.get(reverse("postmortems:action-board", args=["nope"])).status_code == 404


def test_lead_sees_overdue_items_of_their_teams(client, items, lead, django_assert_max_num_queries):
    client.force_login(lead)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("postmortems:action-overdue"))
    assert response.status_code == 200
    assert [item.title for item in response.context["page"].object_list] == ["Overdue one"]


def test_overdue_list_is_for_leads(client, items, member):
    client.force_login(member)
    response = client.get(reverse("postmortems:action-overdue"))
    assert response.status_code == 403
    assert b"you lead none" in response.content


def test_detail_page_and_hidden_restricted_item(client, frozen, team, lead, member, outsider):
    item = ActionItemFactory(incident=open_incident(team, restricted=True, actor=lead), owner=member)
    client.force_login(member)
    response = client.get(item.get_absolute_url())
    assert response.status_code == 200
    assert response.context["can_change"]
    client.force_login(outsider)
    assert client.get(item.get_absolute_url()).status_code == 404


def test_detail_page_is_read_only_for_others(client, items, outsider):
    client.force_login(outsider)
    response = client.get(items["late"].get_absolute_url())
    assert response.status_code == 200
    assert not response.context["can_change"] and response.context["form"] is None
    response = client.post(reverse("postmortems:action-status", args=[items["late"].pk]), {"status": "done"})
    assert response.status_code == 403


def test_status_form_needs_a_reason_for_wont_do(client, items, member):
    client.force_login(member)
    url = reverse("postmortems:action-status", args=[items["late"].pk])
    response = client.post(url, {"status": "wont_do", "reason": ""})
    assert response.status_code == 400
    assert response.context["status_form"].errors["reason"] == [WONT_DO_NEEDS_REASON]
    response = client.post(url, {"status": "wont_do", "reason": "Replaced by the schema registry."})
    assert response.status_code == 302
    assert ActionItem.objects.get(pk=items["late"].pk).status == "wont_do"


def test_status_form_refuses_unknown_status(client, items, member):
    client.force_login(member)
    response = client.post(reverse("postmortems:action-status", args=[items["late"].pk]), {"status": "<script>"})
    assert response.status_code == 400
    assert b"<script>" not in response.content


def test_edit_form_shows_errors(client, items, member):
    client.force_login(member)
    url = reverse("postmortems:action-edit", args=[items["soon"].pk])
    response = client.post(
        url, {"title": "", "owner": "999999999999999999999", "kind": "nope", "priority": "P9", "verification": ""}
    )
    assert response.status_code == 400
    assert {"title", "owner", "kind", "priority", "verification"} <= set(response.context["form"].errors)
    response = client.post(
        url,
        {
            "title": "Soon one, renamed",
            "owner": member.pk,
            "kind": "detect",
            "priority": "P2",
            "verification": "A dashboard.",
            "due_date": "2026-03-01",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["due_date"] == [
        DUE_DATE_BEFORE_CREATION.format(due="2026-03-01", created="2026-03-16")
    ]


def test_create_from_an_incident(client, frozen, incident, lead, member):
    client.force_login(lead)
    url = reverse("postmortems:action-create")
    response = client.get(url, {"incident": incident.pk})
    assert response.status_code == 200
    assert response.context["form"].initial["due_date"] == TODAY + timedelta(weeks=6)
    response = client.post(
        url,
        {
            "incident": incident.pk,
            "title": "Alert on stale merchant features",
            "owner": member.pk,
            "kind": "drift_monitor",
            "priority": "P1",
            "verification": "It fires in the drill.",
            "next": "/actions/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/actions/"
    item = ActionItem.objects.get()
    assert (item.owner, item.due_date, item.postmortem) == (member, TODAY + timedelta(weeks=6), None)


def test_incident_page_offers_its_team_as_owners_and_the_full_form_everyone(
    client, frozen, incident, lead, member, other_member
):
    """The quick form's owners stay the team's size however large the organisation grows."""
    client.force_login(lead)
    quick = client.get(reverse("incidents:detail", kwargs={"pk": incident.pk}))
    full = client.get(reverse("postmortems:action-create"), {"incident": incident.pk})
    html = quick.content.decode()
    select = re.search(r'<select name="owner"[^>]*id="id_action_owner".*?</select>', html, re.S).group(0)
    assert set(re.findall(r'<option value="(\d+)"', select)) == {str(lead.pk), str(member.pk)}
    assert other_member in set(full.context["form"].fields["owner"].queryset)
    assert f"{reverse('postmortems:action-create')}?incident={incident.pk}" in html


def test_create_from_a_postmortem_links_it(client, frozen, incident, lead):
    postmortem = make_postmortem(incident)
    client.force_login(lead)
    response = client.post(
        reverse("postmortems:action-create"),
        {"postmortem": postmortem.pk, "title": "T", "owner": lead.pk, "kind": "process", "priority": "P3",
         "verification": "V"},
    )  # fmt: skip
    assert response.status_code == 302
    assert ActionItem.objects.get().postmortem == postmortem


@pytest.mark.parametrize(
    "query", [{}, {"incident": "abc"}, {"incident": "99999999999999999999999"}, {"incident": "-1"}, {"postmortem": "1"}]
)
def test_create_needs_a_real_incident(client, frozen, incident, lead, query):
    client.force_login(lead)
    assert client.get(reverse("postmortems:action-create"), query).status_code == 404


def test_outsiders_cannot_create(client, frozen, incident, outsider):
    client.force_login(outsider)
    assert client.get(reverse("postmortems:action-create"), {"incident": incident.pk}).status_code == 403


def test_next_never_leaves_the_site(client, frozen, incident, lead):
    client.force_login(lead)
    response = client.post(
        reverse("postmortems:action-create"),
        {"incident": incident.pk, "title": "T", "owner": lead.pk, "kind": "process", "priority": "P3",
         "verification": "V", "next": "https://evil.example.com/"},
    )  # fmt: skip
    assert response["Location"] == ActionItem.objects.get().get_absolute_url()


def test_bulk_form_changes_selected_items(client, items, member):
    client.force_login(member)
    response = client.post(
        reverse("postmortems:action-bulk"),
        {"items": [items["late"].pk, items["soon"].pk], "status": "in_progress", "next": "/actions/"},
        follow=True,
    )
    assert b"2 action items moved to in progress." in response.content
    assert ActionItem.objects.filter(status="in_progress").count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "done"}, BULK_NOTHING_SELECTED),
        ({"items": ["abc"], "status": "done"}, NOT_AN_ITEM.format(value="abc")),
        ({"items": ["-3"], "status": "done"}, NOT_AN_ITEM.format(value="-3")),
        ({"items": ["9" * 30], "status": "done"}, NOT_AN_ITEM.format(value="9" * 20)),
        ({"items": ["424242"], "status": "done"}, BULK_MISSING),
        ({"items": ["late"], "status": ""}, BULK_STATUS_REQUIRED),
        ({"items": ["late"], "status": "wont_do"}, WONT_DO_NEEDS_REASON),
    ],
)
def test_bulk_form_explains_what_is_wrong(client, items, member, data, message):
    client.force_login(member)
    data = dict(data)
    if data.get("items") == ["late"]:
        data["items"] = [str(items["late"].pk)]
    response = client.post(reverse("postmortems:action-bulk"), data, follow=True)
    assert response.status_code == 200
    assert message in [str(flash) for flash in response.context["messages"]]
    assert not ActionItem.objects.filter(status="wont_do").exists()


def test_bulk_form_refuses_items_of_other_teams(client, items, outsider):
    client.force_login(outsider)
    response = client.post(
        reverse("postmortems:action-bulk"), {"items": [items["late"].pk], "status": "done"}, follow=True
    )
    assert "Only the owner" in response.content.decode()
    assert ActionItem.objects.get(pk=items["late"].pk).status == "open"


def render_partial(name: str, user, **context) -> str:
    request = RequestFactory().get("/incidents/1/")
    request.user = user
    return Template("{% include '" + name + "' %}").render(Context({"request": request, **context}))


def test_incident_panel_lists_items_and_offers_the_form_to_members(items, incident, member, outsider):
    html = render_partial("postmortems/partials/incident_actions.html", member, incident=incident)
    assert "Overdue one" in html and 'name="title"' in html
    assert f'name="incident" value="{incident.pk}"' in html
    html = render_partial("postmortems/partials/incident_actions.html", outsider, incident=incident)
    assert "Overdue one" in html and 'name="title"' not in html


def test_postmortem_panel_posts_with_the_postmortem(items, incident, member):
    postmortem = make_postmortem(incident)
    html = render_partial("postmortems/partials/action_items.html", member, postmortem=postmortem)
    assert f'name="postmortem" value="{postmortem.pk}"' in html
    assert html.count('class="ai') >= 4


def test_pages_need_sign_in(client):
    response = client.get(reverse("postmortems:actions"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_unknown_item_is_404(client, member):
    client.force_login(member)
    assert client.get(reverse("postmortems:action-detail", args=[999999])).status_code == 404
