"""The learnings library: writing learnings, lessons proposed by published post-mortems, pages, API, the archive."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Tag
from postmortems.models import FactorCategory, Learning, LearningProposal
from postmortems.selectors.learnings import learning_from_the_archive, learning_proposal_defaults
from postmortems.services import learnings as services
from postmortems.services.follow_ups import postmortem_published
from postmortems.services.learnings import (
    LearningError,
    LearningPermissionError,
    learning_create,
    learning_proposal_accept,
    learning_proposal_dismiss,
    learning_proposals_create,
    learning_update,
)
from search.models import SearchEntry
from tests.factories import LearningFactory
from tests.postmortems.follow_ups.conftest import NOW, make_postmortem, version_of

pytestmark = pytest.mark.django_db

LESSONS = """- Evaluate every candidate on the **newest week** of traffic.
- Alert on the age of feature snapshots, not only on failures.
"""


def write(author, **fields):
    values = {"title": "Feature freshness is a serving dependency", "body": "Alert on the age of snapshots."}
    return learning_create(author=author, **(values | fields))


# Writing learnings ----------------------------------------------------------------------------------


def test_create_with_tags_models_categories_and_index(frozen, team, member, scorer):
    learning = write(
        member,
        team=team,
        tags=["Feature Store", "#drift", "drift"],
        registered_models=[scorer],
        categories=[FactorCategory.DATA_DRIFT, FactorCategory.UPSTREAM_DATA],
    )
    assert sorted(tag.name for tag in learning.tags.all()) == ["drift", "feature-store"]
    assert list(learning.registered_models.all()) == [scorer]
    assert sorted(learning.categories.values_list("category", flat=True)) == ["data_drift", "upstream_data"]
    entry = SearchEntry.objects.get(learning=learning)
    assert (entry.team, entry.team_only, entry.title) == (team, False, learning.title)
    assert set(entry.facets.values_list("name", "value")) == {
        ("model", str(scorer.pk)),
        ("category", "data_drift"),
        ("category", "upstream_data"),
        ("tag", "drift"),
        ("tag", "feature-store"),
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": " "}, "title", services.TITLE_REQUIRED),
        ({"body": "\n"}, "body", services.BODY_REQUIRED),
        ({"body": "x" * 20_001}, "body", services.BODY_TOO_LONG.format(limit=20_000)),
        ({"tags": ["<script>"]}, "tags", services.TAG_INVALID.format(tag="<script>")),
        ({"tags": [f"t{n}" for n in range(13)]}, "tags", services.TOO_MANY_TAGS.format(limit=12)),
        ({"categories": ["blame"]}, "categories", services.UNKNOWN_CATEGORY.format(value="blame")),
    ],
)
def test_create_refuses_invalid_fields(frozen, member, fields, field, message):
    with pytest.raises(LearningError) as caught:
        write(member, **fields)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert not Learning.objects.exists()


def test_only_members_file_under_a_team(frozen, team, outsider):
    with pytest.raises(LearningPermissionError):
        write(outsider, team=team)
    assert write(outsider).team is None  # the whole organisation's


def test_sources_must_be_published(frozen, incident, member):
    draft = make_postmortem(incident, published=False)
    with pytest.raises(LearningError, match=services.SOURCE_NOT_PUBLISHED):
        write(member, source_postmortems=[draft])


def test_update_by_author_team_or_staff(frozen, team, member, lead, outsider, staff):
    learning = write(member, team=team)
    learning_update(learning=learning, actor=lead, title="Freshness is a dependency", tags=["monitoring"])
    learning.refresh_from_db()
    assert learning.title == "Freshness is a dependency"
    assert SearchEntry.objects.get(learning=learning).title == "Freshness is a dependency"
    with pytest.raises(LearningPermissionError):
        learning_update(learning=learning, actor=outsider, title="Mine now")
    learning_update(learning=learning, actor=staff, categories=["tooling"])
    assert list(learning.categories.values_list("category", flat=True)) == ["tooling"]


# Lessons proposed by post-mortems -------------------------------------------------------------------


def test_publishing_proposes_each_lesson_once(frozen, incident):
    postmortem = make_postmortem(incident, lessons=LESSONS)
    proposals = postmortem_published(postmortem=postmortem)
    assert [proposal.text for proposal in proposals] == [
        "Evaluate every candidate on the **newest week** of traffic.",
        "Alert on the age of feature snapshots, not only on failures.",
    ]
    assert learning_proposals_create(postmortem=postmortem) == []
    # A new revision proposes only the lesson that is new (case and spacing do not count).
    postmortem.content = {"lessons": LESSONS.upper().replace(" ", "  ") + "- Rehearse rollbacks.\n"}
    postmortem.save()
    assert [proposal.text for proposal in learning_proposals_create(postmortem=postmortem)] == ["Rehearse rollbacks."]
    assert LearningProposal.objects.count() == 3


def test_lessons_in_paragraphs_are_proposed_too(frozen, incident):
    postmortem = make_postmortem(incident, lessons="Thresholds move with the data.\n\nRehearse rollbacks.")
    assert len(learning_proposals_create(postmortem=postmortem)) == 2


def test_drafts_propose_nothing(frozen, incident):
    assert learning_proposals_create(postmortem=make_postmortem(incident, lessons=LESSONS, published=False)) == []


def test_proposal_defaults_come_from_the_incident_and_factors(frozen, incident, scorer):
    other_model = scorer.__class__.objects.create(team=incident.team, name="merchant-features", created_at=NOW)
    postmortem = make_postmortem(
        incident, lessons=LESSONS, factors=[("data_drift", None), ("upstream_data", version_of(other_model))]
    )
    incident.tags.add(Tag.objects.create(name="payments"))
    proposal = learning_proposals_create(postmortem=postmortem)[0]
    defaults = learning_proposal_defaults(proposal=proposal)
    assert defaults["title"] == "Evaluate every candidate on the newest week of traffic"
    assert incident.reference in defaults["body"]
    assert defaults["team"] == incident.team and defaults["tags"] == "payments"
    assert {model.name for model in defaults["registered_models"]} == {"fraud-scorer", "merchant-features"}
    assert defaults["categories"] == ["data_drift", "upstream_data"]


def test_accepting_makes_a_learning_from_the_postmortem(frozen, incident, member):
    postmortem = make_postmortem(incident, lessons=LESSONS)
    proposal = learning_proposals_create(postmortem=postmortem)[0]
    learning = learning_proposal_accept(
        proposal=proposal,
        actor=member,
        title="Evaluate on the newest week",
        body=proposal.text,
        team=incident.team,
        categories=["evaluation_gap"],
    )
    assert list(learning.source_postmortems.all()) == [postmortem]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.learning, proposal.decided_by) == ("accepted", learning, member)
    with pytest.raises(LearningError, match="already accepted"):
        learning_proposal_dismiss(proposal=proposal, actor=member)


def test_outsiders_cannot_decide_on_lessons(frozen, incident, outsider, member):
    proposal = learning_proposals_create(postmortem=make_postmortem(incident, lessons=LESSONS))[0]
    with pytest.raises(LearningPermissionError):
        learning_proposal_dismiss(proposal=proposal, actor=outsider)
    assert learning_proposal_dismiss(proposal=proposal, actor=member).status == "dismissed"


# From the archive ------------------------------------------------------------------------------------


def test_archive_prefers_a_year_ago_then_a_month_ago(frozen):
    today = date(2026, 3, 16)
    assert learning_from_the_archive(today=today) is None
    month = LearningFactory(title="Month", created_at=NOW - timedelta(days=31))
    LearningFactory(title="Too recent", created_at=NOW - timedelta(days=10))
    pick = learning_from_the_archive(today=today)
    assert (pick.learning, pick.label) == (month, "A month ago")
    near = LearningFactory(title="Year", created_at=NOW - timedelta(days=366))
    LearningFactory(title="Year, farther", created_at=NOW - timedelta(days=370))
    pick = learning_from_the_archive(today=today)
    assert (pick.learning, pick.label) == (near, "A year ago")


# Pages ------------------------------------------------------------------------------------------------


@pytest.fixture
def library(frozen, team, member, lead, scorer):
    learnings = [
        write(lead, title="Freshness", team=team, tags=["monitoring"], categories=["upstream_data"]),
        write(lead, title="Canary everywhere", categories=["serving_infrastructure"]),
        write(lead, title="Newest slice", team=team, registered_models=[scorer], categories=["evaluation_gap"]),
    ]
    Learning.objects.filter(pk=learnings[0].pk).update(created_at=NOW - timedelta(days=365))
    return learnings


def test_library_page_lists_filters_and_shows_the_archive(client, library, member, django_assert_max_num_queries):
    client.force_login(member)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("postmortems:learnings"))
    assert response.status_code == 200
    assert [learning.title for learning in response.context["page"]] == [
        "Newest slice",
        "Canary everywhere",
        "Freshness",
    ]
    assert response.context["archive"].learning.title == "Freshness"
    assert [x.title for x in client.get(reverse("postmortems:learnings"), {"tag": "monitoring"}).context["page"]] == [
        "Freshness"
    ]
    response = client.get(reverse("postmortems:learnings"), {"category": "evaluation_gap"})
    assert [learning.title for learning in response.context["page"]] == ["Newest slice"]


def test_library_query_count_does_not_grow(client, frozen, team, lead, member, django_assert_max_num_queries):
    for number in range(25):
        write(lead, title=f"Lesson {number}", team=team, tags=[f"t{number}"], categories=["process"])
    client.force_login(member)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("postmortems:learnings"))
    assert len(response.context["page"].object_list) == 20
    assert response.context["page"].has_next()


@pytest.mark.parametrize(
    "query",
    [
        {"model": "abc"},
        {"model": "9" * 30},
        {"team": "-1"},
        {"category": "<script>"},
        {"since": "2026-02-31"},
        {"since": "2026-03-10", "until": "2026-03-01"},
        {"tag": "x" * 61},
    ],
)
def test_library_refuses_bad_filters_with_400(client, library, member, query):
    client.force_login(member)
    response = client.get(reverse("postmortems:learnings"), query)
    assert response.status_code == 400
    assert response.context["filters"].errors


def test_detail_page_shows_sources(client, frozen, incident, member):
    postmortem = make_postmortem(incident, lessons=LESSONS)
    learning = write(member, source_postmortems=[postmortem])
    client.force_login(member)
    response = client.get(learning.get_absolute_url())
    assert response.status_code == 200
    assert postmortem.title.encode() in response.content
    assert client.get(reverse("postmortems:learning-detail", args=[99999])).status_code == 404


def test_write_a_learning_page(client, frozen, team, member):
    client.force_login(member)
    assert client.get(reverse("postmortems:learning-create")).status_code == 200
    response = client.post(
        reverse("postmortems:learning-create"),
        {"title": "Rehearse rollbacks", "body": "Timed, **quarterly**.", "team": team.pk, "tags": "rollback, game day",
         "categories": ["process"]},
    )  # fmt: skip
    learning = Learning.objects.get()
    assert response.status_code == 302 and response["Location"] == learning.get_absolute_url()
    assert sorted(learning.tags.values_list("name", flat=True)) == ["game-day", "rollback"]


def test_write_a_learning_page_shows_errors(client, frozen, team, other_team, member):
    client.force_login(member)
    response = client.post(
        reverse("postmortems:learning-create"),
        {"title": "", "body": "", "team": other_team.pk, "tags": "<b>bold</b>", "categories": ["nope"]},
    )
    assert response.status_code == 400
    assert {"title", "body", "team", "categories"} <= set(response.context["form"].errors)
    response = client.post(reverse("postmortems:learning-create"), {"title": "T", "body": "B", "tags": "<b>bold</b>"})
    assert response.status_code == 400
    assert response.context["form"].errors["tags"] == [services.TAG_INVALID.format(tag="<b>bold</b>")]
    assert not Learning.objects.exists()


def test_edit_page_permissions(client, library, outsider, lead):
    learning = library[0]
    client.force_login(outsider)
    assert client.get(reverse("postmortems:learning-edit", args=[learning.pk])).status_code == 403
    client.force_login(lead)
    response = client.get(reverse("postmortems:learning-edit", args=[learning.pk]))
    assert response.status_code == 200 and response.context["form"].initial["tags"] == "monitoring"


def test_proposals_pages_accept_and_dismiss(client, frozen, incident, member, outsider):
    postmortem = make_postmortem(incident, lessons=LESSONS, factors=[("data_drift", None)])
    first, second = learning_proposals_create(postmortem=postmortem)
    client.force_login(member)
    response = client.get(reverse("postmortems:learning-proposals"))
    assert [proposal.pk for proposal in response.context["page"]] == [first.pk, second.pk]
    url = reverse("postmortems:learning-proposal-accept", args=[first.pk])
    response = client.get(url)
    assert response.context["form"].initial["categories"] == ["data_drift"]
    response = client.post(url, {"title": "Newest week", "body": first.text, "team": incident.team_id})
    learning = Learning.objects.get()
    assert response.status_code == 302 and list(learning.source_postmortems.all()) == [postmortem]
    response = client.post(reverse("postmortems:learning-proposal-dismiss", args=[second.pk]), {"confirm": "yes"})
    assert response.status_code == 302
    assert client.get(reverse("postmortems:learning-proposals")).context["page"].paginator.count == 0
    client.force_login(outsider)
    assert client.get(url).status_code == 404  # the team's inbox: as if missing to anyone else
    assert client.get(reverse("postmortems:learning-proposals")).context["page"].paginator.count == 0


# API ---------------------------------------------------------------------------------------------------


def test_api_lists_and_filters(token_client_for, library, member, django_assert_max_num_queries):
    client = token_client_for(member)
    with django_assert_max_num_queries(9):
        response = client.get("/api/v1/learnings/")
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == ["Newest slice", "Canary everywhere", "Freshness"]
    row = response.json()["results"][0]
    assert row["team"] == "fraud" and row["categories"] == ["evaluation_gap"] and row["models"][0]["name"]
    assert "<p>" in row["body_html"]
    response = client.get("/api/v1/learnings/", {"team": "fraud", "category": "upstream_data"})
    assert [row["title"] for row in response.json()["results"]] == ["Freshness"]
    for bad in ({"team": "nope"}, {"category": "blame"}, {"model": "x"}, {"model": "9" * 30}):
        response = client.get("/api/v1/learnings/", bad)
        assert response.status_code == 400 and response.json()["message"]


def test_api_create_and_update(token_client_for, frozen, team, member, outsider, scorer):
    client = token_client_for(member)
    response = client.post(
        "/api/v1/learnings/",
        {"title": "Null rate first", "body": "Watch nulls.", "team": "fraud", "tags": ["monitoring"],
         "models": [scorer.pk], "categories": ["data_drift"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["models"] == [{"id": scorer.pk, "name": "fraud-scorer"}]
    response = client.patch(f"/api/v1/learnings/{pk}/", {"tags": ["a b"]}, format="json")
    assert response.status_code == 200 and response.json()["tags"] == ["a-b"]
    response = token_client_for(outsider).patch(f"/api/v1/learnings/{pk}/", {"title": "x"}, format="json")
    assert response.status_code == 403
    for bad in (
        {"title": "T"},
        {"title": "T", "body": "B", "categories": ["blame"]},
        {"title": "T", "body": "B", "tags": "not-a-list"},
        {"title": "T", "body": "B", "team": "recsys-nope"},
        {"title": "T", "body": "B", "tags": ["<script>"]},
    ):
        response = client.post("/api/v1/learnings/", bad, format="json")
        assert response.status_code == 400, bad
    response = token_client_for(outsider).post(
        "/api/v1/learnings/", {"title": "T", "body": "B", "team": "fraud"}, format="json"
    )
    assert response.status_code == 403
    assert Learning.objects.count() == 1
    assert timezone.now() == NOW


def test_proposals_page_query_count_does_not_grow(client, frozen, team, lead, member, django_assert_max_num_queries):
    from tests.postmortems.follow_ups.conftest import open_incident

    for number in range(6):
        incident = open_incident(team, title=f"Incident {number}", actor=lead)
        learning_proposals_create(postmortem=make_postmortem(incident, lessons=LESSONS))
    client.force_login(member)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("postmortems:learning-proposals"))
    assert response.context["page"].paginator.count == 12
