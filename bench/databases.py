"""Where the benchmarks create their PostgreSQL databases: one variable, ``BENCH_DATABASE_URL``.

Its server is where every benchmark creates (and drops) its databases; its
database name is the prefix of theirs. The default,
``postgres://postgres@127.0.0.1:5432/kintsugi_bench``, gives
``kintsugi_bench_webhooks``, ``kintsugi_bench_incidents_large`` and so on;
two people benchmarking on one server pick two prefixes.
"""

import os

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kintsugi_bench"


def _server_and_prefix() -> tuple[str, str]:
    server, _, prefix = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL).rstrip("/").rpartition("/")
    return server, prefix or "kintsugi_bench"


def bench_database_name(name: str) -> str:
    """Return the name of the benchmark's database ``name``: ``<prefix>_<name>``."""
    return f"{_server_and_prefix()[1]}_{name}"


def bench_database_url(database: str) -> str:
    """Return the URL of the database named ``database`` on the benchmark server."""
    return f"{_server_and_prefix()[0]}/{database}"


def bench_admin_url() -> str:
    """Return the URL of the server's ``postgres`` database, where databases are created and dropped."""
    return bench_database_url("postgres")
