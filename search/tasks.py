"""Background work of search: the periodic index refresh."""

from celery import shared_task

from search.services import search_index_refresh as search_index_refresh_service


@shared_task(ignore_result=True)
def search_index_refresh() -> int:
    """Index learnings, post-mortems and incidents changed since they were last indexed."""
    return search_index_refresh_service()
