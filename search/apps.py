from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from incidents.hooks import incident_follower_register
        from search.services import search_entries_sync_incidents

        # Incident services call this after an incident changed: its entry (and facets) follow.
        incident_follower_register(search_entries_sync_incidents)
