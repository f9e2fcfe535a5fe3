"""When a team's digest goes out: ISO weeks, the team's local weekday and hour, and the weeks a digest covers.

A team sends at its weekday and hour on its own clock. The scheduled moment of
a week is that local time on that ISO week's weekday, turned into UTC with the
zone's rules of that day: a summer-time change moves it with the clock, an
hour skipped by the change is sent at the first hour after the gap, and an hour
that happens twice is sent the first time. A digest covers the seven local days
before its scheduled moment and compares them with the seven days before.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEK_INVALID = "Give the week as an ISO week, such as 2026-W49 (weeks 01 to 52, or 53 in long years)."
_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{2})\s*$", re.IGNORECASE)

# A beat that missed the scheduled hour (a restart, a broker outage) still sends within this many hours.
CATCH_UP = timedelta(hours=6)


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO 8601 week: Monday to Sunday, numbered within its ISO year (53 weeks in long years)."""

    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @classmethod
    def parse(cls, text: str) -> "IsoWeek":
        """Return the week written as ``2026-W49``; raise ValueError(WEEK_INVALID) otherwise."""
        match = _WEEK.match(text or "")
        if not match:
            raise ValueError(WEEK_INVALID)
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(WEEK_INVALID) from None
        return cls(year, number)

    @classmethod
    def of(cls, day: date) -> "IsoWeek":
        year, number, _ = day.isocalendar()
        return cls(year, number)

    def day(self, weekday: int) -> date:
        """Return the date of the week's weekday (0 is Monday)."""
        return date.fromisocalendar(self.year, self.number, weekday + 1)

    def previous(self) -> "IsoWeek":
        return IsoWeek.of(self.day(0) - timedelta(days=7))

    def next(self) -> "IsoWeek":
        return IsoWeek.of(self.day(0) + timedelta(days=7))


def team_zone(name: str) -> ZoneInfo:
    """Return the team's time zone; UTC when the name is unknown (it is validated on save)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_week(*, moment: datetime, timezone_name: str) -> IsoWeek:
    """Return the ISO week of the team's local date at ``moment``."""
    return IsoWeek.of(moment.astimezone(team_zone(timezone_name)).date())


def scheduled_at(*, week: IsoWeek, timezone_name: str, weekday: int, hour: int) -> datetime:
    """Return, in UTC, the moment a team with this schedule sends the digest of ``week``."""
    local = datetime.combine(week.day(weekday), time(hour), tzinfo=team_zone(timezone_name))
    # An hour skipped by a clock change does not exist: zoneinfo reads it with the offset
    # before the change, which lands on the first hour after the gap once in UTC.
    return local.astimezone(UTC)


def team_scheduled_at(*, team, week: IsoWeek) -> datetime:
    return scheduled_at(week=week, timezone_name=team.timezone, weekday=team.digest_weekday, hour=team.digest_hour)


def team_due_week(*, team, now: datetime) -> IsoWeek | None:
    """Return the week whose digest the team sends at ``now``, or None when it is not its time.

    It is the team's time from its scheduled moment for CATCH_UP hours, so a
    missed beat is made up; sending stays once per recipient and week.
    """
    this_week = local_week(moment=now, timezone_name=team.timezone)
    # A Sunday-evening schedule is caught up on Monday morning, in the next week.
    for week in (this_week, this_week.previous()):
        moment = team_scheduled_at(team=team, week=week)
        if moment <= now < moment + CATCH_UP:
            return week
    return None


@dataclass(frozen=True)
class DigestWindow:
    """The stretch of time one digest covers, and the stretch before it that it compares with."""

    week: IsoWeek
    start: datetime
    end: datetime
    previous_start: datetime
    timezone_name: str

    @property
    def local_today(self) -> date:
        """Return the team's local date at the end of the window: what "overdue" is measured against."""
        return self.end.astimezone(team_zone(self.timezone_name)).date()

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(team_zone(self.timezone_name))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(team_zone(self.timezone_name))


def digest_window(*, week: IsoWeek | None, timezone_name: str, weekday: int, hour: int, now: datetime) -> DigestWindow:
    """Return the seven local days before the week's scheduled moment (or before ``now``, if earlier).

    With no ``week``, the seven days before ``now``, in the current week of the
    team's clock: the digest as it would be sent at this moment. Days are
    counted on the team's clock, so a week with a clock change is 168 hours give
    or take one, as its people lived it.
    """
    zone = team_zone(timezone_name)
    if week is None:
        week, end = local_week(moment=now, timezone_name=timezone_name), now
    else:
        end = min(scheduled_at(week=week, timezone_name=timezone_name, weekday=weekday, hour=hour), now)
    local_end = end.astimezone(zone).replace(tzinfo=None)
    start = (local_end - timedelta(days=7)).replace(tzinfo=zone).astimezone(UTC)
    previous_start = (local_end - timedelta(days=14)).replace(tzinfo=zone).astimezone(UTC)
    return DigestWindow(week=week, start=start, end=end, previous_start=previous_start, timezone_name=timezone_name)


def team_digest_window(*, team, week: IsoWeek | None, now: datetime) -> DigestWindow:
    return digest_window(
        week=week, timezone_name=team.timezone, weekday=team.digest_weekday, hour=team.digest_hour, now=now
    )
