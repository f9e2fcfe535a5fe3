"""Search across learnings, post-mortems and incidents; the index; related things; hostile queries.

These run on SQLite (word matching) and on PostgreSQL (full-text search), whichever the suite uses.
"""

from datetime import date, timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from incidents.models import Incident, Tag
from postmortems.services.learnings import learning_create
from search.models import SearchEntry, SearchFacet
from search.related import related_for_incident, related_for_postmortem
from search.selectors import SearchFilters, search
from search.services import (
    search_entry_sync_incident,
    search_entry_sync_postmortem,
    search_index_rebuild,
    search_index_refresh,
)
from tests.postmortems.follow_ups.conftest import NOW, make_postmortem, open_incident, version_of

pytestmark = pytest.mark.django_db

HOSTILE = ["'", '"unbalanced', "a & b | !c", "::*()<>", "\\", "--", "-", "or", "%_%", "drift\x00", "\x01\x02", "ß≠∂"]


def found(user, query, **filters) -> list[str]:
    return [hit.title.replace("<mark>", "").replace("</mark>", "") for hit in search(
        user=user, query=query, filters=SearchFilters(**filters)
    ).hits]  # fmt: skip


@pytest.fixture
def corpus(frozen, team, other_team, lead, other_member, scorer):
    """A learning, an incident with a published post-mortem, a restricted incident and another team's draft."""
    learning = learning_create(
        author=lead,
        title="Feature freshness is a serving dependency",
        body="Stale merchant features fail silently. Alert on the age of every snapshot.",
        team=team,
        tags=["monitoring"],
        registered_models=[scorer],
        categories=["upstream_data"],
    )
    incident = open_incident(
        team,
        title="Card scores drifted after the v14 retrain",
        model=scorer,
        actor=lead,
        summary="Approval rates for new merchants dropped.",
    )
    incident.tags.add(Tag.objects.create(name="payments"))
    postmortem = make_postmortem(
        incident,
        title="Post-mortem: drifted card scores",
        summary="The merchant snapshot was two days old when v14 went out.",
        lessons="- Alert on snapshot age.",
        factors=[("data_drift", version_of(scorer))],
    )
    secret = open_incident(team, title="Merchant data exposed in logs", restricted=True, actor=lead)
    other = open_incident(other_team, title="GPU canary crashed", actor=other_member)
    draft = make_postmortem(other, title="Draft: canary crash", summary="Merchant ranking died.", published=False)
    for thing in (incident, secret, other):
        search_entry_sync_incident(incident=thing)
    for thing in (postmortem, draft):
        search_entry_sync_postmortem(postmortem=thing)
    return {"learning": learning, "incident": incident, "postmortem": postmortem, "secret": secret, "draft": draft}


def test_every_kind_is_found(corpus, member):
    assert found(member, "freshness") == ["Feature freshness is a serving dependency"]
    assert "Card scores drifted after the v14 retrain" in found(member, "retrain")
    assert found(member, "snapshot two days") == ["Post-mortem: drifted card scores"]


def test_title_matches_rank_first(corpus, member):
    titles = found(member, "merchant")
    assert titles[0] == "Merchant data exposed in logs"
    assert set(titles) >= {"Feature freshness is a serving dependency", "Post-mortem: drifted card scores"}


def test_visibility(corpus, member, outsider, other_member, staff):
    assert "Merchant data exposed in logs" in found(member, "exposed")
    assert found(outsider, "exposed") == []
    # A draft post-mortem is for its team only; published ones are for everyone.
    assert found(outsider, "canary crash") == ["GPU canary crashed"]
    assert "Draft: canary crash" in found(other_member, "canary crash")
    assert "Draft: canary crash" in found(staff, "canary crash")
    assert found(outsider, "drifted") == [
        "Post-mortem: drifted card scores",
        "Card scores drifted after the v14 retrain",
    ]


def test_filters(corpus, member, team, other_team, scorer):
    assert found(member, "merchant", kinds=("learning",)) == ["Feature freshness is a serving dependency"]
    assert "GPU canary crashed" not in found(member, "canary", team_id=team.pk)
    assert found(member, "canary", team_id=other_team.pk) == ["GPU canary crashed"]
    assert set(found(member, "merchant", model_id=scorer.pk)) == {
        "Feature freshness is a serving dependency",
        "Post-mortem: drifted card scores",
        "Card scores drifted after the v14 retrain",
    }
    assert found(member, "merchant", category="upstream_data") == ["Feature freshness is a serving dependency"]
    assert set(found(member, "drifted", category="data_drift")) == {
        "Post-mortem: drifted card scores",
        "Card scores drifted after the v14 retrain",
    }
    assert found(member, "drifted", tag="payments", kinds=("incident",)) == [
        "Card scores drifted after the v14 retrain"
    ]
    assert found(member, "freshness", since=date(2026, 3, 17)) == []
    assert found(member, "freshness", until=date(2026, 3, 15)) == []
    assert found(member, "freshness", since=date(2026, 3, 16), until=date(2026, 3, 16)) == [
        "Feature freshness is a serving dependency"
    ]


def test_snippets_are_escaped_and_highlighted(frozen, member, team, lead):
    learning_create(
        author=lead,
        title="Escaping <b>matters</b>",
        body='A payload like <script>alert("drift")</script> must stay text; drift & skew are words here.',
        team=team,
    )
    hit = search(user=member, query="drift").hits[0]
    # Escaped (word matching) or dropped as markup (PostgreSQL's headline): never live.
    assert "<script>" not in hit.snippet and "alert(&quot;" in hit.snippet
    assert "<mark>drift</mark>" in hit.snippet.lower()
    assert "<b>" not in hit.title and "&lt;b&gt;" in hit.title


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_fail(corpus, member, query):
    page = search(user=member, query=query)
    assert isinstance(page.hits, list)


def test_pages_of_results(frozen, member, team, lead):
    for number in range(25):
        learning_create(author=lead, title=f"Rollback lesson {number}", body="Rehearse rollbacks.", team=team)
    first = search(user=member, query="rollback", per_page=20)
    second = search(user=member, query="rollback", page=2, per_page=20)
    assert (len(first.hits), first.has_next, len(second.hits), second.has_next) == (20, True, 5, False)
    assert not {hit.object_id for hit in first.hits} & {hit.object_id for hit in second.hits}


# The index ------------------------------------------------------------------------------------------


def test_refresh_picks_up_what_changed_elsewhere(corpus, member):
    incident = corpus["incident"]
    frozen_now = NOW + timedelta(minutes=5)
    Incident.objects.filter(pk=incident.pk).update(
        title="Card scores skewed by a stale snapshot", updated_at=frozen_now
    )
    assert found(member, "skewed") == []
    # The incident and its post-mortem, whose entry follows the incident's restriction and keywords.
    assert search_index_refresh() == 2
    assert found(member, "skewed") == ["Card scores skewed by a stale snapshot"]
    assert search_index_refresh() == 0


def test_opening_an_incident_makes_it_searchable_at_once(frozen, team, lead, member):
    incident = open_incident(team, title="Embedding nulls after a backfill", actor=lead)
    assert SearchEntry.objects.filter(incident=incident).exists()
    assert found(member, "backfill") == ["Embedding nulls after a backfill"]


def test_refresh_indexes_things_never_indexed(frozen, team, lead, member):
    from tests.factories import IncidentFactory

    # A row written without the services (an import, a data fix) has no entry yet.
    incident = IncidentFactory(team=team, title="Embedding nulls after a backfill")
    assert not SearchEntry.objects.filter(incident=incident).exists()
    assert search_index_refresh() == 1
    assert found(member, "backfill") == ["Embedding nulls after a backfill"]


def test_rebuild_starts_over(corpus, member):
    before = SearchEntry.objects.count()
    facets = SearchFacet.objects.count()
    SearchEntry.objects.update(title="garbage")
    assert search_index_rebuild(batch_size=2) == before
    assert (SearchEntry.objects.count(), SearchFacet.objects.count()) == (before, facets)
    assert found(member, "freshness") == ["Feature freshness is a serving dependency"]


def test_reopened_postmortem_keeps_its_published_text_searchable(corpus, outsider):
    postmortem = corpus["postmortem"]
    postmortem.status = "draft"
    postmortem.content = {"summary": "Half-written rewording about zeppelins.", "lessons": ""}
    postmortem.save()
    search_entry_sync_postmortem(postmortem=postmortem)
    assert found(outsider, "zeppelins") == []
    assert found(outsider, "snapshot two days") == ["Post-mortem: drifted card scores"]


# Pages and API ---------------------------------------------------------------------------------------


def test_search_page(client, corpus, member, django_assert_max_num_queries):
    client.force_login(member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("search:search"), {"q": "merchant"})
    assert response.status_code == 200
    assert len(response.context["results"].hits) >= 3
    assert b"<mark>" in response.content


def test_search_page_without_query_invites_one(client, member):
    client.force_login(member)
    response = client.get(reverse("search:search"))
    assert response.status_code == 200 and response.context["results"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 201},
        {"q": "drift", "model": "abc"},
        {"q": "drift", "model": "9" * 30},
        {"q": "drift", "team": "nope"},
        {"q": "drift", "kind": "user"},
        {"q": "drift", "category": "blame"},
        {"q": "drift", "since": "yesterday"},
        {"q": "drift", "since": "2026-03-10", "until": "2026-03-01"},
    ],
)
def test_search_page_answers_bad_input_with_400(client, corpus, member, params):
    client.force_login(member)
    response = client.get(reverse("search:search"), params)
    assert response.status_code == 400
    assert response.context["form"].errors


@pytest.mark.parametrize("query", HOSTILE)
def test_search_page_survives_hostile_queries(client, corpus, member, query):
    client.force_login(member)
    response = client.get(reverse("search:search"), {"q": query, "page": "abc"})
    if "\x00" in query:
        assert response.status_code == 400
        assert response.context["form"].errors["q"] == ["Null characters are not allowed."]
    else:
        assert response.status_code == 200


def test_search_api(token_client_for, corpus, member, outsider):
    response = token_client_for(member).get("/api/v1/search/", {"q": "drifted", "kind": "postmortem"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "drifted" and body["has_next"] is False
    assert [hit["kind"] for hit in body["results"]] == ["postmortem"]
    assert "<mark>" in body["results"][0]["title"]
    assert token_client_for(outsider).get("/api/v1/search/", {"q": "exposed"}).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "drift", "page": "abc"}, "page"),
        ({"q": "drift", "page": "0"}, "page"),
        ({"q": "drift", "model": "9" * 30}, "model"),
        ({"q": "drift", "team": "nope"}, "team"),
        ({"q": "drift", "since": "2026-13-01"}, "since"),
        ({"q": "drift", "since": "2026-03-10", "until": "2026-03-01"}, "since"),
    ],
)
def test_search_api_answers_bad_input_with_400(token_client_for, corpus, member, params, field):
    response = token_client_for(member).get("/api/v1/search/", params)
    assert response.status_code == 400
    assert field in response.json() and response.json()["message"]


@pytest.mark.parametrize("query", HOSTILE)
def test_search_api_survives_hostile_queries(token_client_for, corpus, member, query):
    response = token_client_for(member).get("/api/v1/search/", {"q": query})
    if "\x00" in query:
        assert response.status_code == 400 and response.json()["q"] == ["Null characters are not allowed."]
    else:
        assert response.status_code == 200


# Related: "this happened before" -----------------------------------------------------------------------


def test_related_finds_same_model_category_and_words(corpus, frozen, team, lead, member, scorer):
    frozen.shift(timedelta(days=1))
    again = open_incident(team, title="Card scores drifted again after v15", model=scorer, actor=lead)
    search_entry_sync_incident(incident=again)
    related = related_for_incident(incident=again, user=member)
    learning = next(item for item in related.learnings if item.title == "Feature freshness is a serving dependency")
    assert "Same model: fraud-scorer" in learning.reasons
    before = next(item for item in related.incidents if item.title == "Card scores drifted after the v14 retrain")
    assert "Same model: fraud-scorer" in before.reasons and "Similar words" in before.reasons
    assert before.reference == f"INC-{corpus['incident'].pk}"
    assert all(item.object_id != again.pk for item in related.incidents)


def test_related_of_a_postmortem_uses_its_factors_and_keeps_its_own_learnings_apart(corpus, frozen, member, lead):
    postmortem = corpus["postmortem"]
    own = learning_create(
        author=lead, title="Snapshot age is a metric", body="Watch it.", source_postmortems=[postmortem]
    )
    drift = learning_create(author=lead, title="Skew checks", body="Compare.", categories=["data_drift"])
    related = related_for_postmortem(postmortem=postmortem, user=member)
    assert related.own_learnings == [own]
    assert own.pk not in {item.object_id for item in related.learnings}
    drift_item = next(item for item in related.learnings if item.object_id == drift.pk)
    assert drift_item.reasons == ["Same failure category: Data drift"]


def test_related_respects_visibility(corpus, frozen, team, lead, outsider, member):
    again = open_incident(team, title="Merchant data exposed again", actor=lead)
    search_entry_sync_incident(incident=again)
    assert "Merchant data exposed in logs" in {
        item.title for item in related_for_incident(incident=again, user=member).incidents
    }
    assert "Merchant data exposed in logs" not in {
        item.title for item in related_for_incident(incident=again, user=outsider).incidents
    }


def test_related_partial_renders_for_incidents_and_postmortems(corpus, member, django_assert_max_num_queries):
    request = RequestFactory().get("/")
    request.user = member
    template = Template('{% include "search/related.html" %}')
    with django_assert_max_num_queries(12):
        html = template.render(Context({"request": request, "incident": corpus["incident"]}))
    assert "This happened before?" in html and "Feature freshness is a serving dependency" in html
    html = template.render(Context({"request": request, "postmortem": corpus["postmortem"], "incident": None}))
    assert "Lessons proposed" not in html  # none proposed in this corpus
    assert "Same failure category" in html or "Same model" in html


def test_old_entries_are_found_when_few_recent_ones_match(frozen, member, team, lead):
    learning_create(author=lead, title="Zeppelin capacity planning", body="Old lesson.", team=team,
                    created_at=NOW - timedelta(days=800))  # fmt: skip
    learning_create(author=lead, title="Zeppelin moorings", body="Recent lesson.", team=team)
    assert set(found(member, "zeppelin")) == {"Zeppelin moorings", "Zeppelin capacity planning"}


def test_only_the_newest_matches_are_ranked(frozen, member, team, lead, monkeypatch):
    from search import selectors as search_module

    monkeypatch.setattr(search_module, "RANK_WINDOW", 2)
    monkeypatch.setattr(search_module, "FALLBACK_CANDIDATES", 2)
    for days_ago, title in ((3, "Quokka drills, oldest"), (2, "Quokka drills"), (1, "Quokka drills, newest")):
        learning_create(author=lead, title=title, body="Quokka.", team=team, created_at=NOW - timedelta(days=days_ago))
    assert set(found(member, "quokka")) == {"Quokka drills", "Quokka drills, newest"}


def test_reindex_command(corpus, member):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("search_reindex", stdout=out)
    assert "0 search entries written." in out.getvalue()
    call_command("search_reindex", "--all", stdout=out)
    assert f"{SearchEntry.objects.count()} search entries written." in out.getvalue()
    assert found(member, "freshness") == ["Feature freshness is a serving dependency"]
