"""Cursors for the few statements that run on every webhook delivery."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


@contextmanager
def server_binding_cursor(database: BaseDatabaseWrapper) -> Iterator[CursorWrapper]:
    """Yield a cursor of ``database`` that sends parameters apart from the SQL text on PostgreSQL.

    Django binds parameters on the client (each value is quoted into the SQL
    text), which suits every statement it writes. A statement written for
    server-side binding gains twice when it runs on every request: bytes
    travel as they are instead of escaped to twice their size, and psycopg
    prepares a statement on its fifth run on a connection, so PostgreSQL
    parses and plans it once. The cursor is Django's as usual (errors,
    query logging); other databases get their plain cursor.
    """
    if database.vendor != "postgresql":
        with database.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    # The health check may reconnect: set the factory on the connection the cursor will use.
    database.close_if_health_check_failed()
    database.ensure_connection()
    connection = database.connection
    factory = connection.cursor_factory
    connection.cursor_factory = ServerBindingCursor
    try:
        cursor = database.cursor()
    finally:
        connection.cursor_factory = factory
    with cursor:
        yield cursor
