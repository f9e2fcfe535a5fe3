"""The per-source request counter behind 429s: exact, per minute, and never the reason a delivery is lost."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError

from incidents.models import SourceRateWindow
from incidents.services import ratelimit
from incidents.services.ratelimit import rate_windows_prune, source_rate_limit_hit
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
    monkeypatch.setattr(ratelimit, "_count_in_cache", broken)
    assert [source_rate_limit_hit(source=source, now=NOW) for _ in range(3)] == [0, 0, 0]


def test_without_a_shared_cache_the_database_counts_and_old_counters_are_pruned(team, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    source = SourceFactory(team=team, rate_limit_per_minute=2)
    for moment in (NOW - timedelta(hours=2), NOW, NOW, NOW):
        source_rate_limit_hit(source=source, now=moment)
    assert sorted(SourceRateWindow.objects.values_list("count", flat=True)) == [1, 3]
    assert rate_windows_prune(before=NOW - timedelta(hours=1)) == 1
    assert SourceRateWindow.objects.count() == 1


def test_redis_counters_expire_after_their_minute_is_over(team, settings):
    import redis
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("counts in Redis only when the cache is Redis")
    source = SourceFactory(team=team, rate_limit_per_minute=5)
    for _ in range(3):
        source_rate_limit_hit(source=source, now=NOW)
    key = cache.make_and_validate_key(f"webhook-rate:{source.public_id}:{int(NOW.timestamp() // 60)}")
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    assert int(client.get(key)) == 3
    assert 0 < client.ttl(key) <= 2 * ratelimit.WINDOW_SECONDS
