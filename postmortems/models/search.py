"""Kept for migration 0003, written while search lived in this app: it imports the index class from here.

The search index itself lives in the ``search`` app.
"""

from search.models import GinIndexOnPostgres

__all__ = ["GinIndexOnPostgres"]
