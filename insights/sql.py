"""The two database expressions insights need that Django lacks: hours between two times, and percentiles.

PostgreSQL computes percentiles with its ordered-set aggregate ``percentile_cont``.
SQLite has none, so each SQLite connection gets an aggregate of the same name
and the same arithmetic (linear interpolation between the two nearest ranks),
registered the way Django registers its own ``STDDEV_POP`` and ``VAR_SAMP`` there:
grouping, filtering and truncation still happen in the database on both.
"""

import math

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, Func
from django.db.models.fields import FloatField

SQLITE_PERCENTILE_FUNCTION = "kintsugi_percentile_cont"


class HoursBetween(Func):
    """The hours from ``start`` to ``end`` (a float; NULL when either is NULL)."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0)", arg_joiner=" - "
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        end, start = (compiler.compile(expression) for expression in self.source_expressions)
        return f"((julianday({end[0]}) - julianday({start[0]})) * 24.0)", [*end[1], *start[1]]


class PercentileCont(Aggregate):
    """The continuous percentile ``fraction`` (0 to 1) of the expression's non-NULL values; NULL when none."""

    name = "PercentileCont"
    output_field = FloatField()
    allow_distinct = False
    empty_result_set_value = None

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction lies between 0 and 1.")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError(f"Percentiles are written for PostgreSQL and SQLite, not {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra_context):
        return self._as_sql_with(
            f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)", compiler, connection
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self._as_sql_with(
            f"{SQLITE_PERCENTILE_FUNCTION}(%(expressions)s, {self.fraction!r})", compiler, connection
        )

    def _as_sql_with(self, template: str, compiler, connection):
        # Aggregate.as_sql wraps the template with FILTER (WHERE …) when the aggregate has a filter.
        clone = self.copy()
        clone.template = template
        return super(PercentileCont, clone).as_sql(compiler, connection)


class _SqlitePercentileCont:
    """PostgreSQL's ``percentile_cont`` for SQLite: interpolate between the two ranks around the fraction."""

    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self):
        return percentile_of_sorted(sorted(self.values), self.fraction)


def percentile_of_sorted(values: list[float], fraction: float) -> float | None:
    """Return PostgreSQL's ``percentile_cont(fraction)`` of values already sorted; None when empty."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    below, above = math.floor(position), math.ceil(position)
    return values[below] + (values[above] - values[below]) * (position - below)


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE_FUNCTION, 2, _SqlitePercentileCont)


connection_created.connect(_register_sqlite_functions, dispatch_uid="insights_sqlite_functions")
