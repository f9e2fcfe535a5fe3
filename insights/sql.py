"""What insights need of the database that Django lacks: hours between two times, percentiles, and
several groupings of the same rows in one reading.

PostgreSQL computes percentiles with its ordered-set aggregate ``percentile_cont``.
SQLite has none, so each SQLite connection gets an aggregate of the same name
and the same arithmetic (linear interpolation between the two nearest ranks),
registered the way Django registers its own ``STDDEV_POP`` and ``VAR_SAMP`` there:
grouping, filtering and truncation still happen in the database on both.

``grouped_figures`` is the one hand-built statement of insights (see its docstring).
"""

import math
from dataclasses import dataclass

from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import Aggregate, Func, QuerySet
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


# ---------------------------------------------------------------- several groupings, one reading


@dataclass(frozen=True)
class Counted:
    """How many rows a group has (``column`` None), or how many with ``column`` true or not NULL."""

    column: str | None = None
    true: bool = False
    sql_type = "bigint"

    def sql(self, vendor: str) -> str:
        if self.column is None:
            return "COUNT(*)"
        if self.true:
            return f"COUNT(*) FILTER (WHERE {quote(self.column)})"
        return f"COUNT({quote(self.column)})"


@dataclass(frozen=True)
class Summed:
    column: str
    sql_type = "double precision"

    def sql(self, vendor: str) -> str:
        return f"SUM({quote(self.column)})"


@dataclass(frozen=True)
class Percentile:
    """``PercentileCont`` of a column (NULLs left out), as in the rest of insights."""

    column: str
    fraction: float
    sql_type = "double precision"

    def sql(self, vendor: str) -> str:
        if vendor == "postgresql":
            return f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY {quote(self.column)})"
        if vendor == "sqlite":
            return f"{SQLITE_PERCENTILE_FUNCTION}({quote(self.column)}, {self.fraction!r})"
        raise NotImplementedError(f"Percentiles are written for PostgreSQL and SQLite, not {vendor}.")


def quote(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"Not a column name: {name!r}")
    return f'"{name}"'


def grouped_figures(
    queryset: QuerySet, *, groupings: dict[str, tuple[str, ...]], figures: dict[str, dict[str, object]]
) -> dict[str, list[dict]]:
    """Return, per grouping, one dict per group: its columns and its figures; read the rows once.

    ``queryset`` is a ``values()`` queryset whose rows carry every column the
    groupings and figures name (filters, visibility rules and computed columns
    stay ORM expressions). ``groupings`` names each grouping's columns (``()``:
    one group of every row; no two alike); ``figures[grouping]`` names that
    grouping's figures (``Counted``, ``Summed``, ``Percentile``).

    Django groups a query by one set of columns, so the figures of a team, of a
    model and of the whole period would read the same rows three times. On
    PostgreSQL this is one ``GROUP BY GROUPING SETS`` over the queryset, told
    apart by ``GROUPING()``; it computes every figure for every grouping and keeps
    the ones asked for. SQLite has no grouping sets: there the rows are a
    ``MATERIALIZED`` common table expression, read once, and each grouping is a
    ``SELECT … GROUP BY`` over it, joined by ``UNION ALL``. Both give the same
    numbers (tested on both). What this leaves out of the ORM: Django's value
    converters (weeks come back as the driver gives them, read by the selectors'
    ``_week``) and ordering (groups come unordered).
    """
    connection = connections[queryset.db]
    inner, params = queryset.query.get_compiler(connection=connection).as_sql()
    columns = sorted({column for grouped in groupings.values() for column in grouped})
    names = sorted({name for named in figures.values() for name in named})
    for grouping in groupings:
        if not grouping.isidentifier():
            raise ValueError(f"Not a grouping name: {grouping!r}")
    if len({frozenset(grouped) for grouped in groupings.values()}) != len(groupings):
        raise ValueError("Two groupings group by the same columns.")
    if connection.vendor == "postgresql":
        statement = _grouping_sets(inner, columns, names, groupings, figures)
    else:
        statement = _union_of_groupings(inner, columns, names, groupings, figures, connection.vendor)
    result: dict[str, list[dict]] = {grouping: [] for grouping in groupings}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for grouping, *values in cursor.fetchall():
            row = dict(zip(columns + names, values, strict=True))
            result[grouping].append(
                {key: value for key, value in row.items() if key in groupings[grouping] or key in figures[grouping]}
            )
    return result


# Every name in the statements below went through quote() or isidentifier(); values are parameters.


def _grouping_sets(inner: str, columns: list[str], names: list[str], groupings: dict, figures: dict) -> str:
    # GROUPING(a, b, …) sets the bit of each column a group is not grouped by, the first column highest.
    masks = {
        grouping: sum(1 << (len(columns) - 1 - index) for index, column in enumerate(columns) if column not in grouped)
        for grouping, grouped in groupings.items()
    }
    which = " ".join(f"WHEN {mask} THEN '{grouping}'" for grouping, mask in masks.items())
    all_figures = {name: _figure(figures, name) for name in names}
    parts = [
        f"CASE GROUPING({', '.join(map(quote, columns))}) {which} END" if columns else f"'{next(iter(groupings))}'",
        *map(quote, columns),
        *(figure.sql("postgresql") for figure in all_figures.values()),
    ]
    sets = ", ".join(f"({', '.join(map(quote, grouped))})" for grouped in groupings.values())
    return f"SELECT {', '.join(parts)} FROM ({inner}) insight_rows GROUP BY GROUPING SETS ({sets})"  # noqa: S608


def _union_of_groupings(
    inner: str, columns: list[str], names: list[str], groupings: dict, figures: dict, vendor: str
) -> str:
    # A first SELECT of no rows gives each column its type, as databases type a UNION's NULL column
    # from the branches before it.
    typed_nulls = [f"CAST(NULL AS {_figure(figures, name).sql_type})" for name in names]
    selects = [f"SELECT NULL, {', '.join([*map(quote, columns), *typed_nulls])} FROM insight_rows WHERE 1 = 0"]  # noqa: S608
    for grouping, grouped in groupings.items():
        wanted = figures[grouping]
        parts = [f"'{grouping}'"]
        parts += [quote(column) if column in grouped else "NULL" for column in columns]
        parts += [
            wanted[name].sql(vendor) if name in wanted else null for name, null in zip(names, typed_nulls, strict=True)
        ]
        group_by = f" GROUP BY {', '.join(map(quote, grouped))}" if grouped else ""
        selects.append(f"SELECT {', '.join(parts)} FROM insight_rows{group_by}")  # noqa: S608
    return f"WITH insight_rows AS MATERIALIZED ({inner}) " + " UNION ALL ".join(selects)


def _figure(figures: dict[str, dict[str, object]], name: str):
    return next(named[name] for named in figures.values() if name in named)
