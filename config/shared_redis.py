"""The Redis server every process shares, when the default cache is one: for counters and flags that must be exact.

Django's cache API makes a new client per call and has no "set if absent with
expiry" that reports the outcome in one round trip, so code that counts or
flags across web and worker processes uses this client directly, with the
cache's own key prefix.
"""

import functools

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script


def shared_redis() -> redis.Redis | None:
    """Return the client of the default cache's Redis server, or None when the cache is not shared (memory)."""
    if not isinstance(caches["default"], RedisCache):
        return None
    return _client(settings.CACHES["default"]["LOCATION"])


def shared_key(name: str) -> str:
    """Return ``name`` as the default cache stores it (with its prefix and version)."""
    return caches["default"].make_and_validate_key(name)


@functools.cache
def _client(location: str) -> redis.Redis:
    """Return one client per server and process, on one connection.

    The cache's own client is made anew on each call, and a pooled client
    takes and gives back a connection per command. A web or worker process
    handles one thing at a time, so one connection (locked by the client
    around each command, for threads) is all it needs.
    """
    return redis.Redis.from_url(location, single_connection_client=True)


@functools.cache
def shared_script(client: redis.Redis, text: str) -> Script:
    """Return a Lua script registered once per client: each call sends its SHA, not its text."""
    return client.register_script(text)
