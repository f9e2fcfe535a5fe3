from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from incidents.hooks import incident_follower_register
        from postmortems.hooks import learning_follower_register, postmortem_follower_register
        from search.services import (
            search_entries_sync_incidents,
            search_entry_sync_learning,
            search_entry_sync_postmortem,
        )

        # Incident services call this after an incident changed: its entry (and facets) follow.
        incident_follower_register(search_entries_sync_incidents)
        # Post-mortem services call these after a post-mortem or a learning changed.
        postmortem_follower_register(search_entry_sync_postmortem)
        learning_follower_register(search_entry_sync_learning)
