"""The one statement that stores a received delivery, letting the unique constraint settle duplicates.

The webhook edge stores every delivery with it, so it skips the ORM's
per-insert work (model state, signals, per-field preparation) and the
exception a duplicate would raise: ``INSERT … ON CONFLICT (source_id,
delivery_id) DO NOTHING RETURNING id`` returns the new id, or no row when the
source already sent that delivery id. PostgreSQL and SQLite (3.35 and later)
both run it as written.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field

from config.database import server_binding_cursor
from incidents.models import Delivery, Source

# The fields a received delivery is given; every other one takes its default.
GIVEN = ("source", "delivery_id", "event", "headers", "content_type", "body", "received_at", "next_attempt_at")


@dataclass(frozen=True)
class _Statement:
    sql: str
    # The fields not in GIVEN, in the order of the columns after GIVEN's.
    defaulted: list[Field]
    # Their defaults as Python values and as database values, for those whose default is not a callable.
    constant_defaults: dict[str, Any]
    constant_values: dict[str, Any]


@functools.cache
def _statement(vendor: str) -> _Statement:
    """Return the INSERT of ``vendor``, with what it needs of the fields a received delivery is not given."""
    database = connections[DEFAULT_DB_ALIAS]
    quote = database.ops.quote_name
    given = [Delivery._meta.get_field(name) for name in GIVEN]
    defaulted = [field for field in Delivery._meta.concrete_fields if not field.primary_key and field not in given]
    columns = ", ".join(quote(field.column) for field in given + defaulted)
    placeholders = ", ".join(["%s"] * (len(given) + len(defaulted)))
    source_column, delivery_id_column = (quote(field.column) for field in given[:2])
    sql = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - names from the model
        f"ON CONFLICT ({source_column}, {delivery_id_column}) DO NOTHING RETURNING {quote(Delivery._meta.pk.column)}"
    )
    constant = {field.attname: field.get_default() for field in defaulted if not callable(field.default)}
    values = {
        field.attname: field.get_db_prep_save(constant[field.attname], database)
        for field in defaulted
        if field.attname in constant
    }
    return _Statement(sql=sql, defaulted=defaulted, constant_defaults=constant, constant_values=values)


def delivery_insert_unless_known(
    *,
    source: Source,
    delivery_id: str,
    event: str,
    headers: dict[str, str],
    content_type: str,
    body: bytes,
    received_at: datetime,
) -> Delivery | None:
    """Insert one received delivery of the source; return it, or None when the source already sent that id.

    The values must fit their columns already (``delivery_receive`` clips
    them); ``next_attempt_at`` is ``received_at``. Run it in autocommit to
    commit the row at once, or in a transaction's savepoint: a duplicate raises
    nothing, any other database error does.
    """
    database = connections[DEFAULT_DB_ALIAS]
    statement = _statement(database.vendor)
    defaults = dict(statement.constant_defaults)
    values = dict(statement.constant_values)
    for field in statement.defaulted:
        if field.attname not in defaults:  # a callable default, called for each delivery
            defaults[field.attname] = field.get_default()
            values[field.attname] = field.get_db_prep_save(defaults[field.attname], database)
    moment = Delivery._meta.get_field("received_at").get_db_prep_save(received_at, database)
    parameters = [
        source.pk,
        delivery_id,
        event,
        Delivery._meta.get_field("headers").get_db_prep_save(headers, database),
        content_type,
        body,
        moment,
        moment,
        *(values[field.attname] for field in statement.defaulted),
    ]
    with server_binding_cursor(database) as cursor:
        cursor.execute(statement.sql, parameters)
        row = cursor.fetchone()
    if row is None:
        return None
    stored = {
        **defaults,
        "id": row[0],
        "source_id": source.pk,
        "delivery_id": delivery_id,
        "event": event,
        "headers": headers,
        "content_type": content_type,
        "body": body,
        "received_at": received_at,
        "next_attempt_at": received_at,
    }
    # Values in field order: the cheap way to build a model instance, as a query's rows are.
    delivery = Delivery.from_db(
        database.alias, None, [stored[field.attname] for field in Delivery._meta.concrete_fields]
    )
    Delivery.source.field.set_cached_value(delivery, source)
    return delivery
