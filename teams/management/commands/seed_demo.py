from django.core.management.base import BaseCommand
from django.db import transaction

from teams.demo import DEMO_PASSWORD, DEMO_USERNAME, seed_teams


class Command(BaseCommand):
    help = "Create realistic demo data for an ML organisation. Running it again changes nothing."

    @transaction.atomic
    def handle(self, *args, **options):
        seed_teams()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}"))
