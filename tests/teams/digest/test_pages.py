"""The digest's pages: preferences, the preview of one's own digest, and the link from the team page."""

import pytest

from teams.digest.models import DigestPreference
from teams.digest.schedule import WEEK_INVALID
from teams.digest.services import digest_unsubscribe
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_team_page_links_to_the_preview_and_preferences(org, client):
    page = signed_in(client, org.priya).get("/teams/fraud/").content.decode()
    assert 'href="/digest/preview/"' in page and 'href="/digest/preferences/"' in page


def test_preferences_turn_the_digest_off_and_follow_teams(org, client):
    signed_in(client, org.priya)
    page = client.get("/digest/preferences/")
    assert page.status_code == 200
    # Her own team is always in her digest: only other teams are offered to follow.
    offered = list(page.context["form"].fields["followed_teams"].queryset)
    assert org.recsys in offered and org.fraud not in offered

    answer = client.post("/digest/preferences/", {"followed_teams": [org.recsys.pk]})
    assert answer.status_code == 302
    preference = DigestPreference.objects.get(user=org.priya)
    assert not preference.enabled and list(preference.followed_teams.all()) == [org.recsys]

    client.post("/digest/preferences/", {"enabled": "on"})
    preference.refresh_from_db()
    assert preference.enabled and not preference.followed_teams.exists()


def test_preferences_refuse_a_team_that_is_not_offered_with_400(org, client):
    signed_in(client, org.priya)
    for value in [org.fraud.pk, 999999, "x"]:
        answer = client.post("/digest/preferences/", {"enabled": "on", "followed_teams": [value]})
        assert answer.status_code == 400
    assert not DigestPreference.objects.exists()


def test_turning_the_digest_back_on_forgets_the_unsubscribe(org, client):
    digest_unsubscribe(user=org.priya)
    signed_in(client, org.priya)
    assert "You unsubscribed on" in client.get("/digest/preferences/").content.decode()
    client.post("/digest/preferences/", {"enabled": "on"})
    preference = DigestPreference.objects.get(user=org.priya)
    assert preference.enabled and preference.unsubscribed_at is None


def test_the_preview_shows_ones_own_digest(org, client, frozen):
    signed_in(client, org.priya)
    page = client.get("/digest/preview/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Kintsugi week 50: 2 post-mortems to learn from, 3 things need you" in body
    assert "Scores &amp; thresholds: the v14 drift" in body  # in the text part, escaped once for the page
    assert 'src="/digest/preview/email/"' in body and "sandbox" in body
    assert ' style="' not in body and "<style" not in body  # the page itself keeps to the CSP

    email = client.get("/digest/preview/email/")
    assert email.status_code == 200
    assert email["Content-Security-Policy"].startswith("default-src 'none'")
    assert email["X-Frame-Options"] == "SAMEORIGIN"
    assert "Backfill the drift monitor" in email.content.decode()
    assert "Private listings" not in email.content.decode()


def test_hostile_titles_are_escaped_in_the_preview_page_and_the_email(org, client, frozen):
    org.drift_pm.title = "<script>alert(1)</script> & co"
    org.drift_pm.save(update_fields=["title"])
    org.drift_pm.versions.update(title=org.drift_pm.title)
    signed_in(client, org.priya)
    for path in ["/digest/preview/", "/digest/preview/email/"]:
        body = client.get(path).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in body


def test_the_preview_of_another_week_and_of_a_week_that_does_not_exist(org, client, frozen):
    signed_in(client, org.priya)
    assert client.get("/digest/preview/?week=2026-W49").status_code == 200
    for bad in ["2026-W60", "soon", "2025-W53"]:
        answer = client.get(f"/digest/preview/?week={bad}")
        assert answer.status_code == 400 and WEEK_INVALID in answer.content.decode()
        assert client.get(f"/digest/preview/email/?week={bad}").status_code == 400


def test_the_preview_says_when_nothing_would_be_sent(db, client, frozen):
    person = UserFactory(username="quiet")
    MembershipFactory(user=person)
    signed_in(client, person)
    body = client.get("/digest/preview/").content.decode()
    assert "no email would be sent" in body and "Your digest is off" not in body
    digest_unsubscribe(user=person)
    assert "Your digest is off" in client.get("/digest/preview/").content.decode()


def test_digest_pages_need_a_sign_in_but_unsubscribing_does_not(org, client):
    from teams.digest.services import digest_unsubscribe_token

    for path in ["/digest/preferences/", "/digest/preview/", "/digest/preview/email/"]:
        assert client.get(path).status_code == 302
    token = digest_unsubscribe_token(user=org.priya)
    assert client.get(f"/digest/unsubscribe/{token}/").status_code == 200


def test_staff_read_digest_sends_in_the_admin(org, client):
    from tests.factories import UserFactory as Users

    admin = Users(username="root", is_staff=True, is_superuser=True)
    signed_in(client, admin)
    assert client.get("/admin/teams/digestsend/").status_code == 200
    assert client.get("/admin/teams/digestpreference/").status_code == 200
    assert client.get("/admin/teams/digestsend/add/").status_code == 403


def test_preferences_list_the_latest_digests(org, client, frozen, inbox):
    from teams.digest.schedule import IsoWeek
    from teams.digest.services import digest_deliver

    digest_deliver(user_id=org.priya.pk, week=IsoWeek.parse("2026-W50"))
    body = signed_in(client, org.priya).get("/digest/preferences/").content.decode()
    assert "2026-W50" in body and "sent 7 Dec, 09:00 to priya@example.com" in body
