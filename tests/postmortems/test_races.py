"""Two people saving the same version at the same moment: one wins, the other is asked to merge."""

import threading

import pytest
from django.db import connection

from postmortems.models import Postmortem, PostmortemVersion
from postmortems.services.postmortems import EditConflict, postmortem_save


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="in-memory SQLite test databases refuse a second writer instead of making it wait; runs on PostgreSQL",
)
def test_simultaneous_saves_of_the_same_version_never_overwrite_each_other(postmortem, member, second_member):
    barrier = threading.Barrier(2)
    outcomes = {}

    def save(user, text):
        try:
            barrier.wait()
            postmortem_save(
                postmortem=Postmortem.objects.get(pk=postmortem.pk),
                actor=user,
                based_on=1,
                content={"failed_step": text},
            )
            outcomes[user.username] = "saved"
        except EditConflict:
            outcomes[user.username] = "conflict"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(member, "Mine.")),
        threading.Thread(target=save, args=(second_member, "Theirs.")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "saved")
    saved = Postmortem.objects.get(pk=postmortem.pk)
    assert saved.version == 2
    assert saved.content["failed_step"] == {"priya": "Mine.", "tomas": "Theirs."}[winner]
    assert PostmortemVersion.objects.filter(postmortem=postmortem).count() == 2
