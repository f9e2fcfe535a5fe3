"""Pages: the notification list, email settings, "needs you" on the home page, and a team's channels."""

import pytest
from django.urls import reverse

from incidents.services.incidents import incident_assign_owner, incident_open
from notifications.models import Channel, EmailPreference, EmailWhen, EventKind, Notification, NotificationSend
from notifications.services.channels import channel_create
from tests.notifications.helpers import dispatch_all

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"


def test_the_list_shows_notices_and_marks_them_read(client, team, lead, member):
    incident = incident_open(team=team, title="Scores drifted after the v14 retrain", created_by=lead)
    dispatch_all()
    client.force_login(member)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert f"{incident.reference} opened: Scores drifted after the v14 retrain" in page.content.decode()
    notice = Notification.objects.get(user=member)
    opened = client.post(f"/notifications/{notice.pk}/read/", {"open": "1"})
    assert opened.status_code == 302 and opened.url == incident.get_absolute_url()
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert client.get("/notifications/unread/").json() == {"unread": 0}


def test_someone_elses_notice_is_not_found(client, team, lead, member, outsider):
    incident_open(team=team, title="Drift", created_by=lead)
    dispatch_all()
    client.force_login(outsider)
    notice = Notification.objects.get(user=member)
    assert client.post(f"/notifications/{notice.pk}/read/").status_code == 404


def test_mark_all_read_goes_back_where_it_was_asked(client, team, lead, member):
    for title in ("One", "Two"):
        incident_open(team=team, title=title, created_by=lead)
    dispatch_all()
    client.force_login(member)
    answer = client.post("/notifications/read-all/", {"next": "/notifications/?unread=1"})
    assert answer.url == "/notifications/?unread=1"
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    # An address off the site is not followed.
    assert client.post("/notifications/read-all/", {"next": "https://evil.example/"}).url == reverse(
        "notifications:list"
    )


def test_email_settings_are_saved_per_kind(client, member):
    client.force_login(member)
    page = client.get("/notifications/preferences/")
    assert page.status_code == 200
    assert 'name="when-incident.opened" value="asked" checked' in page.content.decode()
    saved = client.post(
        "/notifications/preferences/", {"when-incident.opened": "always", "when-postmortem.published": "never"}
    )
    assert saved.status_code == 302
    assert dict(EmailPreference.objects.filter(user=member).values_list("kind", "when")) == {
        EventKind.INCIDENT_OPENED: EmailWhen.ALWAYS,
        EventKind.POSTMORTEM_PUBLISHED: EmailWhen.NEVER,
    }
    refused = client.post("/notifications/preferences/", {"when-incident.opened": "sometimes"})
    assert refused.status_code == 400
    assert EmailPreference.objects.get(user=member, kind=EventKind.INCIDENT_OPENED).when == EmailWhen.ALWAYS


def test_home_lists_what_needs_you(client, team, lead, member):
    incident = incident_open(team=team, title="Scores drifted", created_by=lead)
    dispatch_all()
    incident_assign_owner(incident=incident, owner=member, actor=lead)
    dispatch_all()
    client.force_login(member)
    html = client.get("/").content.decode()
    needs = html[html.index("Needs you") :]
    assert f"{incident.reference} is now led by" in needs
    # The opening is told to the whole team: in the list, not under "needs you".
    assert f"{incident.reference} opened" not in needs[: needs.index("All notifications")]


def test_the_bell_is_on_every_page(client, member):
    client.force_login(member)
    html = client.get("/incidents/").content.decode()
    assert 'class="bell"' in html and 'data-unread-url="/notifications/unread/"' in html
    assert "js/notifications.js" in html


def test_a_lead_adds_a_webhook_channel_and_sees_the_secret_once(client, team, lead):
    client.force_login(lead)
    team_page = client.get(team.get_absolute_url()).content.decode()
    assert "Notification channels" in team_page and "Add a channel" in team_page
    created = client.post(
        f"/teams/{team.slug}/channels/new/",
        {
            "channel-kind": "webhook",
            "channel-name": "Bridge",
            "channel-url": "https://hooks.example.com/k",
            "channel-events": ["*"],
            "channel-active": "on",
        },
    )
    assert created.status_code == 201
    channel = Channel.objects.get()
    assert channel.secret in created.content.decode()
    assert channel.secret not in client.get(f"/teams/{team.slug}/channels/{channel.pk}/").content.decode()
    assert channel.secret not in client.get(team.get_absolute_url()).content.decode()


def test_a_bad_channel_form_answers_400_and_keeps_nothing(client, team, lead):
    client.force_login(lead)
    answer = client.post(
        f"/teams/{team.slug}/channels/new/",
        {
            "channel-kind": "slack",
            "channel-name": "x",
            "channel-url": "http://192.168.1.4/hook",
            "channel-events": ["*"],
        },
    )
    assert answer.status_code == 400
    assert "private, loopback or link-local" in answer.content.decode()
    assert not Channel.objects.exists()


def test_members_see_channels_but_cannot_manage_them(
    client, team, lead, member, outsider, django_capture_on_commit_callbacks
):
    channel = channel_create(team=team, actor=lead, kind="slack", name="#ml-incidents", url=SLACK_URL, events=["*"])
    client.force_login(member)
    page = client.get(team.get_absolute_url()).content.decode()
    assert "#ml-incidents" in page and "Send a test message" not in page
    assert client.post(f"/teams/{team.slug}/channels/{channel.pk}/test/").status_code == 403
    assert client.post(f"/teams/{team.slug}/channels/{channel.pk}/delete/", {"confirm": "yes"}).status_code == 403
    client.force_login(outsider)
    assert "#ml-incidents" not in client.get(team.get_absolute_url()).content.decode()
    assert client.get(f"/teams/{team.slug}/channels/{channel.pk}/").status_code == 404
    client.force_login(lead)
    with django_capture_on_commit_callbacks():
        tested = client.post(f"/teams/{team.slug}/channels/{channel.pk}/test/")
    assert tested.status_code == 302
    assert NotificationSend.objects.filter(channel=channel, event__isnull=True).count() == 1


def test_deleting_a_channel_asks_first(client, team, lead):
    channel = channel_create(team=team, actor=lead, kind="slack", name="#ml", url=SLACK_URL, events=["*"])
    client.force_login(lead)
    asked = client.post(f"/teams/{team.slug}/channels/{channel.pk}/delete/")
    assert asked.status_code == 200 and "Delete the channel" in asked.content.decode()
    assert Channel.objects.exists()
    client.post(f"/teams/{team.slug}/channels/{channel.pk}/delete/", {"confirm": "yes"})
    assert not Channel.objects.exists()


def test_editing_a_channel(client, team, lead):
    channel = channel_create(team=team, actor=lead, kind="slack", name="#ml", url=SLACK_URL, events=["*"])
    client.force_login(lead)
    assert client.get(f"/teams/{team.slug}/channels/{channel.pk}/edit/").status_code == 200
    saved = client.post(
        f"/teams/{team.slug}/channels/{channel.pk}/edit/",
        {
            "channel-kind": "webhook",
            "channel-name": "#ml-incidents",
            "channel-url": SLACK_URL,
            "channel-events": ["incident.opened"],
        },
    )
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert (channel.kind, channel.name, channel.events, channel.active) == (
        "slack",
        "#ml-incidents",
        ["incident.opened"],
        False,
    )
