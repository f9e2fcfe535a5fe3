"""The per-source request counter behind 429s: never over the limit, per minute, and never why a delivery is lost."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError

from incidents.ingest import edge as ratelimit
from incidents.ingest.edge import rate_windows_prune, source_rate_limit_hit
from incidents.models import SourceRateWindow
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, 50, tzinfo=UTC)


def test_counts_up_to_the_limit_then_says_how_long_to_wait(team):
    source = SourceFactory(team=team, rate_limit_per_minute=3)
    assert [source_rate_limit_hit(source=source, now=NOW) for _ in range(5)] == [0, 0, 0, 10, 10]
    assert source_rate_limit_hit(source=source, now=NOW + timedelta(seconds=10)) == 0


def test_a_failing_counter_lets_deliveries_through(team, monkeypatch):
    source = SourceFactory(team=team, rate_limit_per_minute=1)

    def broken(**kwargs):
        raise DatabaseError("counter table unavailable")

    monkeypatch.setattr(ratelimit, "_count_in_database", broken)
    monkeypatch.setattr(ratelimit, "_admit_from_cache", broken)
    assert [source_rate_limit_hit(source=source, now=NOW) for _ in range(3)] == [0, 0, 0]


def test_without_a_shared_cache_the_database_counts_and_old_counters_are_pruned(team, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    source = SourceFactory(team=team, rate_limit_per_minute=2)
    for moment in (NOW - timedelta(hours=2), NOW, NOW, NOW):
        source_rate_limit_hit(source=source, now=moment)
    assert sorted(SourceRateWindow.objects.values_list("count", flat=True)) == [1, 3]
    assert rate_windows_prune(before=NOW - timedelta(hours=1)) == 1
    assert SourceRateWindow.objects.count() == 1


@pytest.fixture
def redis_counter(settings):
    """Return a function reading a source's count of the minute of NOW in Redis; skip without a Redis cache."""
    import redis
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("counts in Redis only when the cache is Redis")
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])

    def read(source) -> tuple[int, int]:
        key = cache.make_and_validate_key(f"webhook-rate:{source.public_id}:{int(NOW.timestamp() // 60)}")
        return int(client.get(key) or 0), client.ttl(key)

    return read


def test_redis_counters_expire_after_their_minute_is_over(team, redis_counter):
    source = SourceFactory(team=team, rate_limit_per_minute=5)
    for _ in range(3):
        source_rate_limit_hit(source=source, now=NOW)
    count, expires_in = redis_counter(source)
    assert count == 3
    assert 0 < expires_in <= 2 * ratelimit.WINDOW_SECONDS


def test_web_processes_take_requests_in_chunks_and_never_admit_more_than_the_limit(team, redis_counter, monkeypatch):
    source = SourceFactory(team=team, rate_limit_per_minute=1000)  # chunks of 10
    processes = [{}, {}, {}]
    admitted = []
    for turn in range(1100):
        # Three web processes, each with its own memory, take turns.
        monkeypatch.setattr(ratelimit, "_grants", processes[turn % 3])
        admitted.append(source_rate_limit_hit(source=source, now=NOW) == 0)
    assert redis_counter(source)[0] >= 1000
    # Never more than the limit; at most a chunk less one per other process left unused.
    assert 1000 - 2 * 9 <= sum(admitted) <= 1000
    assert admitted[:990] == [True] * 990
    monkeypatch.setattr(ratelimit, "_grants", processes[0])
    assert source_rate_limit_hit(source=source, now=NOW + timedelta(seconds=10)) == 0  # the next minute


def test_one_request_a_chunk_below_a_hundred_a_minute(team, redis_counter):
    source = SourceFactory(team=team, rate_limit_per_minute=99)
    source_rate_limit_hit(source=source, now=NOW)
    assert redis_counter(source)[0] == 1
    busy = SourceFactory(team=team, rate_limit_per_minute=600)
    source_rate_limit_hit(source=busy, now=NOW)
    assert redis_counter(busy)[0] == 6
