"""Following an incident: a person asks to hear of its updates, and stops."""

from django.utils import timezone

from config.database import insert_unless_conflict
from incidents.selectors.incidents import incident_visibility_q
from notifications.models import Follow

NOT_VISIBLE = "You cannot follow an incident you may not read."


def follow_start(*, incident, user) -> tuple[Follow, bool]:
    """Make the user follow the incident; return the follow and whether it is new (following twice is harmless).

    Raise PermissionError (``NOT_VISIBLE``) when the user may not read the incident.
    """
    if (
        not user.is_active
        or not incident.__class__.objects.filter(incident_visibility_q(user=user), pk=incident.pk).exists()
    ):
        raise PermissionError(NOT_VISIBLE)
    row = {"user_id": user.pk, "incident_id": incident.pk, "created_at": timezone.now()}
    follow = insert_unless_conflict(Follow, row, conflict=("incident_id", "user_id"))
    if follow is None:
        return Follow.objects.get(user=user, incident=incident), False
    return follow, True


def follow_stop(*, incident, user) -> bool:
    """Stop the user following the incident; return whether they followed it."""
    deleted, _ = Follow.objects.filter(user=user, incident=incident).delete()
    return deleted > 0
