"""Index classes that several apps' migrations name.

``GinIndexOnPostgres`` was written while search lived in ``postmortems``:
that app's migration 0003 names it, and the ``search`` app's model uses it.
Both import it from here, so a historical migration of an app does not
import an app built on it.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import models


class GinIndexOnPostgres(GinIndex):
    """A GIN index on PostgreSQL; a plain index on other databases, which search without it."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return models.Index.create_sql(self, model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)
