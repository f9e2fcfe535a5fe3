"""When a team's digest goes out: its local weekday and hour, across summer time and ISO week 53."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from teams.digest.schedule import (
    CATCH_UP,
    WEEK_INVALID,
    IsoWeek,
    digest_window,
    local_week,
    scheduled_at,
    team_due_week,
)
from teams.models import Team


def team(zone: str, weekday: int, hour: int) -> Team:
    return Team(name="T", slug="t", timezone=zone, digest_weekday=weekday, digest_hour=hour)


def due_hours(team: Team, start: datetime, hours: int) -> list[tuple[datetime, str]]:
    """Run the hourly beat for ``hours`` from ``start`` (frozen clock) and return when the team was due."""
    due = []
    for hour in range(hours):
        moment = start + timedelta(hours=hour)
        with time_machine.travel(moment, tick=False):
            week = team_due_week(team=team, now=timezone.now())
        if week is not None:
            due.append((moment, str(week)))
    return due


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-W49", IsoWeek(2026, 49)), ("2026W53", IsoWeek(2026, 53)), (" 2027-w01 ", IsoWeek(2027, 1))],
)
def test_iso_weeks_are_read_as_people_write_them(text, expected):
    assert IsoWeek.parse(text) == expected


@pytest.mark.parametrize("text", ["2025-W53", "2026-W00", "2026-W54", "2026-49", "next week", "", "2026-W4"])
def test_weeks_that_do_not_exist_are_refused_with_the_message(text):
    with pytest.raises(ValueError, match="ISO week") as error:
        IsoWeek.parse(text)
    assert str(error.value) == WEEK_INVALID


def test_week_53_of_2026_runs_into_2027():
    week = IsoWeek(2026, 53)
    assert week.day(0) == date(2026, 12, 28) and week.day(6) == date(2027, 1, 3)
    assert week.next() == IsoWeek(2027, 1) and IsoWeek(2027, 1).previous() == week
    assert IsoWeek.of(date(2027, 1, 1)) == week
    assert str(week) == "2026-W53"


def test_a_team_is_due_at_its_local_hour_once_a_week():
    berlin = team("Europe/Berlin", weekday=0, hour=9)
    due = due_hours(berlin, datetime(2026, 11, 29, 0, 0, tzinfo=UTC), 24 * 14)
    # 09:00 in Berlin is 08:00 UTC in winter; due for the catch-up hours after, in weeks 49 and 50.
    firsts = [moments for moments in due if moments[0].hour == 8]
    assert firsts == [
        (datetime(2026, 11, 30, 8, tzinfo=UTC), "2026-W49"),
        (datetime(2026, 12, 7, 8, tzinfo=UTC), "2026-W50"),
    ]
    assert len(due) == 2 * CATCH_UP // timedelta(hours=1)
    assert {week for _, week in due} == {"2026-W49", "2026-W50"}


def test_week_53_and_the_new_year():
    tokyo = team("Asia/Tokyo", weekday=4, hour=17)
    due = due_hours(tokyo, datetime(2026, 12, 28, 0, 0, tzinfo=UTC), 24 * 14)
    # Friday 1 January 2027, 17:00 in Tokyo (08:00 UTC), belongs to ISO week 53 of 2026.
    assert due[0] == (datetime(2027, 1, 1, 8, tzinfo=UTC), "2026-W53")
    assert [week for moment, week in due if moment.hour == 8] == ["2026-W53", "2027-W01"]


def test_summer_time_moves_the_send_with_the_local_clock():
    london = team("Europe/London", weekday=0, hour=9)
    # Summer time starts on Sunday 29 March 2026: Monday 09:00 is 09:00 UTC before, 08:00 UTC after.
    before = scheduled_at(week=IsoWeek(2026, 13), timezone_name="Europe/London", weekday=0, hour=9)
    after = scheduled_at(week=IsoWeek(2026, 14), timezone_name="Europe/London", weekday=0, hour=9)
    assert before == datetime(2026, 3, 23, 9, tzinfo=UTC) and after == datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert due_hours(london, datetime(2026, 3, 30, 0, tzinfo=UTC), 24)[0][0] == after


def test_an_hour_skipped_by_summer_time_sends_right_after_the_gap():
    # In New York, 02:00 on Sunday 8 March 2026 never happens: clocks go from 01:59 to 03:00 (07:00 UTC).
    moment = scheduled_at(week=IsoWeek(2026, 10), timezone_name="America/New_York", weekday=6, hour=2)
    assert moment == datetime(2026, 3, 8, 7, tzinfo=UTC)
    assert timezone.localtime(moment, timezone.get_fixed_timezone(-240)).hour == 3
    new_york = team("America/New_York", weekday=6, hour=2)
    assert due_hours(new_york, datetime(2026, 3, 8, 0, tzinfo=UTC), 24)[0] == (moment, "2026-W10")


def test_an_hour_that_happens_twice_sends_the_first_time():
    # In London, 01:00-02:00 on Sunday 25 October 2026 happens twice: first at 00:00 UTC, then 01:00 UTC.
    moment = scheduled_at(week=IsoWeek(2026, 43), timezone_name="Europe/London", weekday=6, hour=1)
    assert moment == datetime(2026, 10, 25, 0, tzinfo=UTC)
    due = due_hours(team("Europe/London", weekday=6, hour=1), datetime(2026, 10, 24, 20, tzinfo=UTC), 24)
    assert due[0] == (moment, "2026-W43")
    assert len(due) == CATCH_UP // timedelta(hours=1)


def test_a_sunday_night_send_is_caught_up_in_the_next_week():
    auckland = team("Pacific/Auckland", weekday=6, hour=23)
    sunday_night = scheduled_at(week=IsoWeek(2026, 50), timezone_name="Pacific/Auckland", weekday=6, hour=23)
    with time_machine.travel(sunday_night + timedelta(hours=3), tick=False):
        # Monday 02:00 in Auckland is ISO week 51 there; the digest due is still week 50's.
        assert local_week(moment=timezone.now(), timezone_name="Pacific/Auckland") == IsoWeek(2026, 51)
        assert team_due_week(team=auckland, now=timezone.now()) == IsoWeek(2026, 50)


def test_a_week_with_a_clock_change_covers_seven_local_days():
    window = digest_window(
        week=IsoWeek(2026, 14), timezone_name="Europe/London", weekday=0, hour=9, now=datetime(2026, 5, 1, tzinfo=UTC)
    )
    assert window.end == datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert window.start == datetime(2026, 3, 23, 9, tzinfo=UTC)  # 167 hours: the clocks went forward between
    assert window.end - window.start == timedelta(days=7) - timedelta(hours=1)
    assert window.previous_start == datetime(2026, 3, 16, 9, tzinfo=UTC)
    assert window.local_today == date(2026, 3, 30)


def test_a_week_still_to_come_ends_now():
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    window = digest_window(week=IsoWeek(2026, 49), timezone_name="UTC", weekday=4, hour=9, now=now)
    assert window.end == now and window.start == now - timedelta(days=7)
    current = digest_window(week=None, timezone_name="Asia/Tokyo", weekday=0, hour=9, now=now)
    assert current.week == IsoWeek(2026, 49) and current.end == now
