from django.core.management.base import BaseCommand

from search.services import search_index_rebuild, search_index_refresh


class Command(BaseCommand):
    help = (
        "Index learnings, post-mortems and incidents for search: what changed since last time, "
        "or everything with --all (after changing SEARCH_CONFIG, for instance)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Rebuild every entry from scratch.")

    def handle(self, *args, **options):
        written = search_index_rebuild() if options["all"] else search_index_refresh(limit=10**9)
        self.stdout.write(self.style.SUCCESS(f"{written} search entries written."))
