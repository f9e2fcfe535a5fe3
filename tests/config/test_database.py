"""The cursor of the statements every webhook delivery runs."""

import psycopg
import pytest
from django.db import connection

from config.database import server_binding_cursor

pytestmark = pytest.mark.django_db


def test_binds_on_the_server_with_postgresql_and_leaves_the_connection_as_it_was(django_assert_num_queries):
    body = bytes(range(256)) * 4
    with django_assert_num_queries(1), server_binding_cursor(connection) as cursor:
        cursor.execute("SELECT %s, %s", [body, "text"])
        assert tuple(cursor.fetchone()) == (body, "text")
    if connection.vendor != "postgresql":
        return
    assert not isinstance(cursor.cursor, psycopg.ClientCursor)  # parameters travel apart from the SQL
    with connection.cursor() as plain:
        assert isinstance(plain.cursor, psycopg.ClientCursor)
