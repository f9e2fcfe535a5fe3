"""The Redis server every process shares, when the default cache is one: for counters and flags that must be exact.

Django's cache API makes a new client per call and has no "set if absent with
expiry" that reports the outcome in one round trip, so code that counts or
flags across web and worker processes uses this client directly, with the
cache's own key prefix.

**A Redis that hangs must not hang the request.** Everything a web request
asks of Redis (the rate counter, the drain lease and flag, the broker's
publish) is an optimisation the request can do without, so every client on
the request path waits at most ``KINTSUGI_REDIS_TIMEOUT`` for a connection or
an answer. A server that timed out or refused is then *unavailable* in this
process: calls to it fail at once with ``RedisUnavailable`` (a
``redis.ConnectionError``), without a round trip, until a probe on a thread of
its own, every ``KINTSUGI_REDIS_RETRY_SECONDS``, finds it answering. So while
Redis hangs, each process spends one timeout when it starts hanging, and no
request waits for it after that (``redis_unavailable``, ``redis_failed``; the
broker's publish asks them too).
"""

import functools
import logging
import sys
import threading
import time
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script

logger = logging.getLogger(__name__)

# Server (host:port) -> until when (time.monotonic()) it is left alone.
_unavailable_until: dict[str, float] = {}


class RedisUnavailable(redis.ConnectionError):
    """The server timed out or refused a moment ago: not asked again until its retry time."""


def redis_server(url: str) -> str:
    """Return the server a redis:// or rediss:// URL names (host:port), or "" for any other URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return ""
    try:
        port = parts.port or 6379
    except ValueError:
        return ""
    return f"{parts.hostname or 'localhost'}:{port}"


def redis_unavailable(url: str) -> bool:
    """Tell whether the Redis server of ``url`` failed and has not answered a probe since.

    Once ``KINTSUGI_REDIS_RETRY_SECONDS`` passed since it failed, start a probe
    on a thread of its own (one at a time per server): a request never waits
    for one, and the server is available again once it answered.
    """
    server = redis_server(url)
    if not server or server not in _unavailable_until:
        return False
    if time.monotonic() >= _unavailable_until[server] and server not in _probes:
        _probes[server] = threading.Thread(target=_probe, args=(server, url), name=f"redis-probe-{server}", daemon=True)
        _probes[server].start()
    return True


def redis_failed(url: str) -> None:
    """Leave the Redis server of ``url`` alone until a probe finds it answering: it timed out or refused."""
    server = redis_server(url)
    if server:
        if server not in _unavailable_until:
            logger.warning(
                "Redis at %s is unavailable; probing it every %ss.", server, settings.KINTSUGI_REDIS_RETRY_SECONDS
            )
        _unavailable_until[server] = time.monotonic() + settings.KINTSUGI_REDIS_RETRY_SECONDS


# Server -> the thread probing it now.
_probes: dict[str, threading.Thread] = {}


def _probe(server: str, url: str) -> None:
    client = redis.Redis.from_url(url, **redis_timeouts())
    try:
        client.ping()
    except redis.RedisError:
        _unavailable_until[server] = time.monotonic() + settings.KINTSUGI_REDIS_RETRY_SECONDS
    else:
        _unavailable_until.pop(server, None)
        logger.warning("Redis at %s answers again.", server)
    finally:
        client.close()
        _probes.pop(server, None)


def redis_failure_log(log: logging.Logger, message: str, *args) -> None:
    """Log the Redis error being handled, with its traceback, unless it only says the server is unavailable.

    That was logged once, when the server failed: an outage must not write a traceback per request.
    """
    if isinstance(sys.exc_info()[1], RedisUnavailable):
        log.debug(message, *args)
    else:
        log.warning(message, *args, exc_info=True)


def redis_availability_forget() -> None:
    """Forget which servers failed, and the clients made (tests, which start each as a fresh process)."""
    _unavailable_until.clear()
    for client in _clients.values():
        client.close()
    _clients.clear()


def shared_redis() -> redis.Redis | None:
    """Return the client of the default cache's Redis server, or None when the cache is not shared (memory).

    Raise ``RedisUnavailable`` while the server is unavailable, and
    ``redis.TimeoutError`` or ``redis.ConnectionError`` when this process's
    first connection to it fails.
    """
    if not isinstance(caches["default"], RedisCache):
        return None
    location = settings.CACHES["default"]["LOCATION"]
    client = _clients.get(location)
    if client is None:
        client = _clients[location] = _client(location)
    return client


def shared_key(name: str) -> str:
    """Return ``name`` as the default cache stores it (with its prefix and version)."""
    return caches["default"].make_and_validate_key(name)


class _GuardedRedis(redis.Redis):
    """A client that fails fast while its server is unavailable, and marks it so when it times out or refuses."""

    location = ""

    def execute_command(self, *args, **options):
        if redis_unavailable(self.location):
            raise RedisUnavailable(f"Redis at {redis_server(self.location)} is unavailable; retrying later.")
        try:
            return super().execute_command(*args, **options)
        except (redis.TimeoutError, redis.ConnectionError):
            redis_failed(self.location)
            raise


_clients: dict[str, redis.Redis] = {}


def _client(location: str) -> redis.Redis:
    """Return a new client of the server, on one connection, with short timeouts and no retry.

    The cache's own client is made anew on each call, and a pooled client
    takes and gives back a connection per command. A web or worker process
    handles one thing at a time, so one connection (locked by the client
    around each command, for threads) is all it needs. The connection is made
    here, so a failure to make it counts as the server's failure too.
    """
    if redis_unavailable(location):
        raise RedisUnavailable(f"Redis at {redis_server(location)} is unavailable; retrying later.")
    try:
        # A command that times out is not sent again (the connection's retry is off by default).
        client = _GuardedRedis.from_url(location, single_connection_client=True, **redis_timeouts())
    except (redis.TimeoutError, redis.ConnectionError):
        redis_failed(location)
        raise
    client.location = location
    return client


def redis_timeouts() -> dict[str, float]:
    """Return the socket options of a Redis client on the request path: ``KINTSUGI_REDIS_TIMEOUT`` for each wait."""
    return {
        "socket_timeout": settings.KINTSUGI_REDIS_TIMEOUT,
        "socket_connect_timeout": settings.KINTSUGI_REDIS_TIMEOUT,
    }


@functools.cache
def shared_script(client: redis.Redis, text: str) -> Script:
    """Return a Lua script registered once per client: each call sends its SHA, not its text."""
    return client.register_script(text)
