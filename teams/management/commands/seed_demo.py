from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

from teams.demo import DEMO_PASSWORD, DEMO_USERNAME

# Each app's ``demo.seed()`` adds its part of the demo organisation, in this
# order, and must change nothing when run again.
DEMO_MODULES = [
    "teams.demo",
    "incidents.ingest.demo",
    "incidents.demo",
    "postmortems.demo",
    "postmortems.demo_follow_ups",
]


class Command(BaseCommand):
    help = "Create realistic demo data for an ML organisation. Running it again changes nothing."

    @transaction.atomic
    def handle(self, *args, **options):
        for name in DEMO_MODULES:
            try:
                module = import_module(name)
            except ModuleNotFoundError as error:
                if error.name != name:
                    raise
                continue
            module.seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}"))
