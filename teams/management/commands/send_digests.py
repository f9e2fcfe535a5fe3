"""Send the weekly digests now, by hand: for a week, a team or some people, or only count them."""

import smtplib
import sys
from collections import Counter

from django.core.mail import get_connection
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from teams.digest.schedule import IsoWeek
from teams.digest.selectors import digest_build_many, digest_recipients
from teams.digest.services import DigestOutcome, digest_deliver
from teams.models import Team

# Digests are built this many at a time: the queries per batch do not depend on its size.
BATCH_SIZE = 200
# Runs longer than this show a progress bar (tqdm: redrawn in place, with rate and time left).
PROGRESS_FROM = 20


class Command(BaseCommand):
    help = (
        "Send the weekly learning digest to everyone who has something to read, once per ISO week. "
        "Prints how many were sent, skipped (empty, already sent, unsubscribed) and failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Build the digests and count them; send nothing.")
        parser.add_argument("--week", help="ISO week, e.g. 2026-W49 (default: the current week of each home team).")
        parser.add_argument("--team", action="append", default=[], help="Only the members of this team (slug).")
        parser.add_argument(
            "--to", action="append", default=[], help="Only these people (username or email; repeat or comma-separate)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Never draw the progress bar.")

    def handle(self, *args, **options):
        try:
            week = IsoWeek.parse(options["week"]) if options["week"] else None
        except ValueError as error:
            raise CommandError(str(error)) from error
        team_ids = None
        if options["team"]:
            teams = {team.slug: team.pk for team in Team.objects.filter(slug__in=options["team"])}
            unknown = sorted(set(options["team"]) - set(teams))
            if unknown:
                raise CommandError(f"No team with the slug {', '.join(unknown)}.")
            team_ids = list(teams.values())
        names = [name for value in options["to"] for name in value.split(",") if name.strip()]
        recipients = digest_recipients(team_ids=team_ids, usernames=names)
        if names and not recipients:
            raise CommandError(f"Nobody to send to among {', '.join(names)}: unknown, inactive or without an email.")
        dry_run = options["dry_run"]
        progress = tqdm(
            total=len(recipients),
            file=self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr,
            disable=len(recipients) <= PROGRESS_FROM or options["no_progress"],
            unit="digest",
            dynamic_ncols=True,
        )
        outcomes: Counter = Counter()
        now = timezone.now()
        connection = None if dry_run else get_connection()
        try:
            for start in range(0, len(recipients), BATCH_SIZE):
                batch = recipients[start : start + BATCH_SIZE]
                digests = digest_build_many(users=batch, week=week, now=now)
                for user in batch:
                    digest = digests[user.pk]
                    try:
                        outcome = digest_deliver(
                            user_id=user.pk,
                            week=digest.week,
                            digest=digest,
                            connection=connection,
                            dry_run=dry_run,
                            now=now,
                        )
                    except (smtplib.SMTPException, OSError) as error:
                        outcome = DigestOutcome.FAILED
                        self.stderr.write(f"{user.email}: {type(error).__name__}: {error}")
                    outcomes[outcome] += 1
                    progress.update()
        finally:
            progress.close()
            if connection is not None:
                connection.close()
        self.stdout.write(self._summary(outcomes, dry_run=dry_run))

    def _summary(self, outcomes: Counter, *, dry_run: bool) -> str:
        skipped = {
            "empty": outcomes[DigestOutcome.EMPTY],
            "already sent": outcomes[DigestOutcome.ALREADY_SENT],
            "unsubscribed": outcomes[DigestOutcome.UNSUBSCRIBED] + outcomes[DigestOutcome.NO_ADDRESS],
        }
        details = ", ".join(f"{label} {count}" for label, count in skipped.items())
        sent = outcomes[DigestOutcome.WOULD_SEND] if dry_run else outcomes[DigestOutcome.SENT]
        verb = "Would send" if dry_run else "Sent"
        return f"{verb} {sent}, skipped {sum(skipped.values())} ({details}), failed {outcomes[DigestOutcome.FAILED]}."
