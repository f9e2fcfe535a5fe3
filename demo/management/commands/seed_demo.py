from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

from demo.chapters import CHAPTERS
from demo.chapters.people import DEMO_PASSWORD, DEMO_USERNAME


class Command(BaseCommand):
    help = "Create realistic demo data for an ML organisation. Running it again changes nothing."

    @transaction.atomic
    def handle(self, *args, **options):
        for name in CHAPTERS:
            import_module(name).seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}"))
