"""Pages that belong to no app: the home page, the health check, and the error pages."""

import functools
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.api import json_error
from config.celery import app as celery_app
from config.shared_redis import redis_server


def home(request):
    """Dashboard: my teams' active incidents, recent failed deployments and models in trouble."""
    from incidents.selectors.incidents import incident_list_active, incident_open_counts
    from incidents.selectors.registry import deployment_recent_failures, models_with_open_incidents
    from teams.selectors import team_list, user_team_ids

    my_ids = user_team_ids(user=request.user)
    # Without a team, show the whole organisation rather than an empty page.
    scope = sorted(my_ids) if my_ids else None
    context = {
        "my_teams": [team for team in team_list() if team.id in my_ids],
        "scoped": scope is not None,
        "open_counts": incident_open_counts(user=request.user, team_ids=scope),
        "active_incidents": incident_list_active(user=request.user, team_ids=scope),
        "failed_deployments": deployment_recent_failures(team_ids=scope, limit=6),
        "troubled_models": models_with_open_incidents(user=request.user, team_ids=scope),
    }
    return render(request, "home.html", context)


# /healthz answers within this many seconds whatever hangs: a check not done by then reports "down".
HEALTH_CHECK_SECONDS = 1.5
NO_ANSWER = "down: no answer within {seconds}s"
STILL_WAITING = "down: the previous check is still waiting for an answer"


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "down", and the reason is reported
        return f"down: {error.__class__.__name__}: {error}"
    finally:
        connection.close()  # the check runs on a thread of its own: its connection goes with it
    return "ok"


def redis_state(url: str) -> str:
    client = redis.Redis.from_url(url, socket_timeout=HEALTH_CHECK_SECONDS, socket_connect_timeout=HEALTH_CHECK_SECONDS)
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means "down", and the reason is reported
        return f"down: {error.__class__.__name__}: {error}"
    finally:
        client.close()
    return "ok"


def broker_state() -> str:
    url = celery_app.conf.broker_write_url or celery_app.conf.broker_url
    if redis_server(url):
        return redis_state(url)
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=HEALTH_CHECK_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure means "down", and the reason is reported
        return f"down: {error.__class__.__name__}: {error}"
    return "ok"


def health_checks() -> dict[str, Callable[[], str]]:
    """Return the checks /healthz runs: the database, the broker, and the cache when it is a Redis of its own."""
    checks = {"database": database_state, "broker": broker_state}
    cache = settings.CACHES["default"]
    broker = redis_server(celery_app.conf.broker_url or "")
    if "redis" in cache["BACKEND"].lower() and redis_server(cache["LOCATION"]) != broker:
        checks["cache"] = functools.partial(redis_state, cache["LOCATION"])
    return checks


# Check name -> the thread running it; a check that hangs is not started again until it ends.
_running: dict[str, threading.Thread] = {}


def _run_within(checks: dict[str, Callable[[], str]], seconds: float) -> dict[str, str]:
    """Run the checks side by side; report each one not done within ``seconds`` as down."""
    results: dict[str, str] = {}
    started = []
    for name, check in checks.items():
        running = _running.get(name)
        if running is not None and running.is_alive():
            results[name] = STILL_WAITING
            continue

        def run(name=name, check=check):
            results[name] = check()

        thread = _running[name] = threading.Thread(target=run, name=f"healthz-{name}", daemon=True)
        thread.start()
        started.append((name, thread))
    deadline = time.monotonic() + seconds
    for name, thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            results[name] = NO_ANSWER.format(seconds=seconds)
    return {name: results[name] for name in checks}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Report the database and broker state within ``HEALTH_CHECK_SECONDS``; 503 when one is down or hangs."""
    checks = _run_within(health_checks(), HEALTH_CHECK_SECONDS)
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503)


@login_not_required
@require_GET
def favicon(request):
    """Redirect to the app's icon: browsers ask for /favicon.ico on pages that link none (the browsable API)."""
    return redirect(static("img/kintsugi.svg"), permanent=True)


@login_not_required
def page_not_found(request, exception=None):
    if request.path.startswith("/api/") or request.path.startswith("/hooks/"):
        return json_error(404, "Not found.", path=request.path)
    return render(request, "404.html", {"path": request.path}, status=404)


@login_not_required
def server_error(request):
    if request.path.startswith("/api/") or request.path.startswith("/hooks/"):
        return json_error(500, "Internal error. It has been logged.")
    return render(request, "500.html", status=500)


@login_not_required
def bad_request(request, exception=None):
    if request.path.startswith("/api/") or request.path.startswith("/hooks/"):
        return json_error(400, "Bad request.")
    return render(request, "400.html", status=400)


@login_not_required
def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(403, str(exception) or "You do not have permission to do this.")
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)
