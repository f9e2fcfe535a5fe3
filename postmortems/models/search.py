"""Kept for migration 0003, written while search lived in this app: it names the index class here.

The search index itself lives in the ``search`` app; the class in ``config/indexes.py``.
"""

from config.indexes import GinIndexOnPostgres

__all__ = ["GinIndexOnPostgres"]
