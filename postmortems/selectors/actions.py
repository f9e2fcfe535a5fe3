"""Reads of action items: who may see and change them, lists, the team board and completion figures."""

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, Count, F, Max, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from incidents.models import Incident
from postmortems.models import (
    RESOLVED_STATUSES,
    UNRESOLVED_STATUSES,
    ActionItem,
    ActionItemStatus,
)
from teams.models import Membership, Team
from teams.selectors import user_is_team_member, user_team_ids

BOARD_RESOLVED_DAYS = 30
BOARD_COLUMN_LIMIT = 100


def _with_relations(items: QuerySet[ActionItem]) -> QuerySet[ActionItem]:
    return items.select_related("owner", "team", "incident", "postmortem")


def action_items_visible_to(*, user) -> QuerySet[ActionItem]:
    """Return the action items the user may see.

    Items of a restricted incident are for its team, its owner and staff only.
    """
    items = ActionItem.objects.all()
    if user.is_staff:
        return items
    return items.filter(Q(incident__restricted=False) | Q(team_id__in=user_team_ids(user=user)) | Q(owner=user))


def action_item_visible_to_viewer(*, viewer, restricted: bool, team_id: int, owner_id: int) -> bool:
    """Return whether the viewer (teams.selectors.Viewer) may see an item: action_items_visible_to in Python."""
    return viewer.is_staff or not restricted or team_id in viewer.team_ids or owner_id == viewer.user_id


def user_can_change_action_item(*, user, item: ActionItem, team_ids: set[int] | None = None) -> bool:
    """Return whether the user may edit the item: its owner, a member of its team, or staff.

    Pass ``team_ids`` (the user's teams) when checking many items, to ask the database once.
    """
    if not user.is_authenticated:
        return False
    if user.is_staff or item.owner_id == user.pk:
        return True
    if team_ids is not None:
        return item.team_id in team_ids
    return user_is_team_member(user=user, team=item.team)


def user_can_add_action_items(*, user, incident: Incident) -> bool:
    """Return whether the user may add action items to the incident: a member of its team, or staff."""
    return user_is_team_member(user=user, team=incident.team)


def with_overdue(items: QuerySet[ActionItem], *, today: date) -> QuerySet[ActionItem]:
    """Annotate ``overdue``: unresolved and past its due date."""
    return items.annotate(
        overdue=Case(
            When(status__in=UNRESOLVED_STATUSES, due_date__lt=today, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def action_item_list(
    *,
    user,
    today: date | None = None,
    owner=None,
    team: Team | None = None,
    status: list[str] | None = None,
    overdue: bool | None = None,
    incident: Incident | None = None,
) -> QuerySet[ActionItem]:
    """Return the action items the user may see, filtered, overdue ones first, then by due date."""
    today = today or timezone.localdate()
    items = with_overdue(_with_relations(action_items_visible_to(user=user)), today=today)
    if owner is not None:
        items = items.filter(owner=owner)
    if team is not None:
        items = items.filter(team=team)
    if status:
        items = items.filter(status__in=status)
    if overdue is True:
        items = items.filter(status__in=UNRESOLVED_STATUSES, due_date__lt=today)
    elif overdue is False:
        items = items.exclude(status__in=UNRESOLVED_STATUSES, due_date__lt=today)
    if incident is not None:
        items = items.filter(incident=incident)
    return items.order_by("-overdue", "due_date", "id")


@dataclass(frozen=True)
class MyActions:
    overdue: list[ActionItem]
    due_soon: list[ActionItem]
    later: list[ActionItem]
    recently_resolved: list[ActionItem]

    @property
    def unresolved_count(self) -> int:
        return len(self.overdue) + len(self.due_soon) + len(self.later)


def action_items_of_owner(*, owner, today: date | None = None, resolved_days: int = 30) -> MyActions:
    """Return the owner's unresolved items (overdue, due soon, later) and those resolved lately."""
    today = today or timezone.localdate()
    due_soon_until = today + timedelta(days=settings.ACTION_ITEM_DUE_SOON_DAYS)
    since = timezone.now() - timedelta(days=resolved_days)
    items = list(
        _with_relations(ActionItem.objects.filter(owner=owner))
        .filter(Q(status__in=UNRESOLVED_STATUSES) | Q(resolved_at__gte=since))
        .order_by("due_date", "id")
    )
    unresolved = [item for item in items if not item.is_resolved]
    return MyActions(
        overdue=[item for item in unresolved if item.due_date < today],
        due_soon=[item for item in unresolved if today <= item.due_date <= due_soon_until],
        later=[item for item in unresolved if item.due_date > due_soon_until],
        recently_resolved=sorted(
            (item for item in items if item.is_resolved), key=lambda item: item.resolved_at, reverse=True
        ),
    )


@dataclass(frozen=True)
class BoardColumn:
    status: str
    label: str
    items: list[ActionItem]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.items)


def action_item_board(*, team: Team, user, today: date | None = None) -> list[BoardColumn]:
    """Return the team's items in one column per status, overdue first, then by due date.

    Unresolved columns show every item up to BOARD_COLUMN_LIMIT; the done and
    won't-do columns show what was resolved in the last BOARD_RESOLVED_DAYS.
    """
    today = today or timezone.localdate()
    since = timezone.now() - timedelta(days=BOARD_RESOLVED_DAYS)
    visible = action_items_visible_to(user=user).filter(team=team)
    items = with_overdue(_with_relations(visible), today=today).filter(
        Q(status__in=UNRESOLVED_STATUSES) | Q(resolved_at__gte=since)
    )
    counts = dict(items.order_by().values_list("status").annotate(total=Count("id")))
    columns = []
    for status in ActionItemStatus:
        ordering = ("-overdue", "due_date", "id") if status in UNRESOLVED_STATUSES else ("-resolved_at", "-id")
        column_items = list(items.filter(status=status).order_by(*ordering)[:BOARD_COLUMN_LIMIT])
        columns.append(
            BoardColumn(status=status.value, label=status.label, items=column_items, total=counts.get(status, 0))
        )
    return columns


def action_item_list_overdue(*, teams, today: date | None = None) -> QuerySet[ActionItem]:
    """Return the overdue items of the teams, the longest overdue first, with their last reminder time."""
    today = today or timezone.localdate()
    return (
        _with_relations(ActionItem.objects.filter(team__in=teams, status__in=UNRESOLVED_STATUSES, due_date__lt=today))
        .annotate(last_reminded_at=Max("reminders__sent_at"), reminder_count=Count("reminders"))
        .order_by("due_date", "id")
    )


def teams_led_by(*, user) -> QuerySet[Team]:
    """Return the teams the user leads (every team for staff)."""
    if user.is_staff:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user, memberships__role=Membership.Role.LEAD)


@dataclass(frozen=True)
class ActionFigures:
    open: int
    overdue: int
    done: int
    done_on_time: int
    wont_do: int
    median_days_to_done: float | None

    @property
    def done_on_time_percent(self) -> int | None:
        return round(100 * self.done_on_time / self.done) if self.done else None


def action_item_figures(*, items: QuerySet[ActionItem], today: date | None = None) -> ActionFigures:
    """Return completion figures of the items: open, overdue, done (on time), won't do, median days to done."""
    today = today or timezone.localdate()
    totals = (
        items.order_by()
        .annotate(resolved_on=TruncDate("resolved_at"))
        .aggregate(
            open=Count("id", filter=Q(status__in=UNRESOLVED_STATUSES)),
            overdue=Count("id", filter=Q(status__in=UNRESOLVED_STATUSES, due_date__lt=today)),
            done=Count("id", filter=Q(status=ActionItemStatus.DONE)),
            done_on_time=Count("id", filter=Q(status=ActionItemStatus.DONE, resolved_on__lte=F("due_date"))),
            wont_do=Count("id", filter=Q(status=ActionItemStatus.WONT_DO)),
        )
    )
    durations = [
        (resolved_at - created_at).total_seconds() / 86400
        for created_at, resolved_at in items.filter(status=ActionItemStatus.DONE)
        .order_by("-resolved_at")
        .values_list("created_at", "resolved_at")[:5000]
    ]
    median = round(statistics.median(durations), 1) if durations else None
    return ActionFigures(median_days_to_done=median, **totals)


def action_items_for_incident(*, incident: Incident) -> list[ActionItem]:
    """Return the incident's action items (those from its post-mortem included), unresolved first."""
    return list(
        _with_relations(ActionItem.objects.filter(incident=incident)).order_by(
            Case(When(status__in=RESOLVED_STATUSES, then=Value(1)), default=Value(0)), "due_date", "id"
        )
    )
