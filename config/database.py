"""Database helpers for statements that run very often: a server-binding cursor, an insert yielding to a duplicate."""

import functools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from django.utils import timezone

logger = logging.getLogger(__name__)

T = TypeVar("T")


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


@dataclass(frozen=True)
class _Insert:
    sql: str
    given: tuple[Field, ...]
    # The fields not given, after them in the statement: their defaults, prepared once when not callable.
    defaulted: tuple[Field, ...]
    constant_defaults: dict[str, Any]
    constant_values: dict[str, Any]


@functools.cache
def _insert(
    model: type[Model], given: tuple[str, ...], conflict: tuple[str, ...], condition: str | None, vendor: str
) -> _Insert:
    database = connections[DEFAULT_DB_ALIAS]
    quote = database.ops.quote_name
    opts = model._meta
    given_fields = tuple(opts.get_field(name) for name in given)
    defaulted = tuple(field for field in opts.concrete_fields if not field.primary_key and field.attname not in given)
    fields = given_fields + defaulted
    target = f" ({', '.join(quote(opts.get_field(name).column) for name in conflict)})" if conflict else ""
    placeholders = ", ".join(["%s"] * len(fields))
    # A condition needs the SELECT form, whose WHERE also settles SQLite's
    # reading of the ON CONFLICT clause that follows.
    source = f"SELECT {placeholders} WHERE {condition}" if condition else f"VALUES ({placeholders})"
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"{source} ON CONFLICT{target} DO NOTHING RETURNING {quote(opts.pk.column)}"
    )
    constant = {
        field.attname: field.get_default() for field in defaulted if not callable(field.default) and not _stamped(field)
    }
    values = {name: opts.get_field(name).get_db_prep_save(value, database) for name, value in constant.items()}
    return _Insert(sql, given_fields, defaulted, constant, values)


def _stamped(field: Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def insert_unless_conflict(
    model: type[Model],
    values: dict[str, Any],
    *,
    conflict: tuple[str, ...] = (),
    only_if: tuple[str, Sequence[Any]] | None = None,
) -> Model | None:
    """Insert one row of ``model``; return it as an instance, or None when a unique constraint already holds one.

    ``values`` are keyed by attribute name (``source_id``, not ``source``);
    the other fields take their defaults (``auto_now`` ones the current time).
    ``conflict`` names the constraint's fields, else any unique constraint
    counts. One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` with no
    savepoint and no exception on a duplicate, as PostgreSQL and SQLite (3.35
    and later) both run it; the ORM's per-insert work is left out, so it
    suits rows written on every request or many times per transaction.
    ``only_if`` is an SQL condition and its parameters: the row is inserted
    only if it holds, checked in the same statement, and None is returned
    when it does not.
    """
    database = connections[DEFAULT_DB_ALIAS]
    condition, condition_parameters = only_if or (None, ())
    statement = _insert(model, tuple(values), conflict, condition, database.vendor)
    stored = dict(values)
    stored.update(statement.constant_defaults)
    parameters = [field.get_db_prep_save(values[field.attname], database) for field in statement.given]
    for field in statement.defaulted:
        if field.attname in statement.constant_values:
            parameters.append(statement.constant_values[field.attname])
            continue
        stored[field.attname] = timezone.now() if _stamped(field) else field.get_default()
        parameters.append(field.get_db_prep_save(stored[field.attname], database))
    parameters.extend(condition_parameters)
    with server_binding_cursor(database) as cursor:
        cursor.execute(statement.sql, parameters)
        row = cursor.fetchone()
    if row is None:
        return None
    stored[model._meta.pk.attname] = row[0]
    # Values in field order: the cheap way to build an instance, as a query's rows are.
    return model.from_db(database.alias, None, [stored[field.attname] for field in model._meta.concrete_fields])
