"""On the demo organisation, ``send_digests`` delivers one digest per person with something to read, once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from teams.digest.models import DigestSend

pytestmark = pytest.mark.django_db


def test_the_demo_gives_every_demo_person_a_digest_once(inbox):
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    people = set(get_user_model().objects.filter(memberships__isnull=False).values_list("email", flat=True))

    out = StringIO()
    call_command("send_digests", stdout=out, stderr=StringIO())
    assert (
        out.getvalue().strip() == f"Sent {len(people)}, skipped 0 (empty 0, already sent 0, unsubscribed 0), failed 0."
    )
    assert {rcpt[0] for rcpt, _ in inbox.messages} == people
    for _, message in inbox.messages:
        assert message.get_content_type() == "multipart/alternative"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # The demo's published post-mortem is open to everyone: every digest teaches it.
        assert "WHAT WE LEARNED" in message.get_body(("plain",)).get_content()
    [lead] = inbox.to("demo@example.com")
    text = lead.get_body(("plain",)).get_content()
    assert "YOUR TEAMS' WEEK" in text and "Overdue in the teams you lead" in text

    again = StringIO()
    call_command("send_digests", stdout=again, stderr=StringIO())
    assert again.getvalue().startswith(f"Sent 0, skipped {len(people)} (empty 0, already sent {len(people)},")
    assert len(inbox.messages) == len(people) == DigestSend.objects.count()
