"""The production stack of the fault tests: a Redis of their own, a proxy before PostgreSQL, gunicorn.

They run where the suite runs on PostgreSQL (the PostgreSQL + Redis leg of
``.ci/run``), against the test database, through the proxy; on SQLite they
are skipped with that reason, so they run once per CI run. Where they run,
``redis-server`` missing from the PATH fails them: it is never a silent skip.
"""

import shutil

import pytest
from django.db import connection

from tests.faults.parts import Proxy, RedisServer, free_port, gunicorn, process_env, wait_until

ON_POSTGRES = connection.vendor == "postgresql"

# Short enough for the tests to see redelivery and claims end within seconds; production's are in settings.
TIMINGS = {
    "KINTSUGI_BROKER_VISIBILITY_TIMEOUT": "8",
    "KINTSUGI_DELIVERY_DRAIN_SECONDS": "2",
    "KINTSUGI_DELIVERY_CLAIM_SECONDS": "2",
    "KINTSUGI_DELIVERY_MAX_ATTEMPTS": "2",
    "KINTSUGI_DELIVERY_RETRY_BACKOFF": "1",
    # Small, so an oversized chunked body is sent whole before the answer comes (tests/faults/test_intake.py).
    "KINTSUGI_WEBHOOK_MAX_BYTES": "65536",
}


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(
        reason="fault tests run once, in the PostgreSQL + Redis leg of .ci/run (docs/operations.md)"
    )
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start Redis, the proxy and gunicorn for a module's tests; yield them with the environment of the app."""
    assert shutil.which("redis-server"), "the fault tests need redis-server on the PATH"
    directory = tmp_path_factory.mktemp("faults")
    settings = connection.settings_dict
    redis = RedisServer(free_port(), directory)
    redis.start()
    proxy = Proxy(free_port(), (settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)))
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    env = process_env(
        DATABASE_URL=f"postgres://{settings['USER']}{password}@127.0.0.1:{proxy.port}/{settings['NAME']}",
        CELERY_BROKER_URL=redis.url,
        KINTSUGI_VAR_DIR=str(directory),
        DEBUG="true",
        DATABASE_CONNECT_TIMEOUT="2",
        LOG_LEVEL="WARNING",
        **TIMINGS,
    )
    web_port = free_port()
    web = gunicorn(web_port, env, directory / "gunicorn.log")
    try:
        assert wait_until(lambda: _answers(web_port), timeout=60), web.output()
        yield Stack(redis=redis, proxy=proxy, web_port=web_port, env=env, directory=directory, web=web)
    finally:
        web.stop()
        proxy.close()
        redis.stop()


class Stack:
    def __init__(self, **parts):
        self.__dict__.update(parts)


def _answers(port: int) -> bool:
    import http.client

    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        return True
    except OSError:
        return False
