"""Where the apps built on incidents plug into the incident services.

Post-mortems and search read incidents, so incidents must not import them:
the import graph stays one-way (teams <- incidents <- post-mortems <- search).
Where an incident service needs them, it calls a hook here, and each app
registers what it provides in its ``AppConfig.ready()``:

- a *close check* (post-mortems, ``postmortems/apps.py``): why an incident
  may not be closed yet, or None when it may;
- an *incident follower* (search, ``search/apps.py``): keeps data derived from
  incidents current, given the ids of incidents that changed;
- a *deployment follower* (experiments, ``experiments/apps.py``): records what
  a pipeline event means beyond its lane (the rollout it reports, the arm its
  failure hit), given what the deployment services recorded for it.

Hooks are not signals: the services call them by name, at the point in their
flow where the docstring says, inside the caller's transaction.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CloseCheck = Callable[..., str | None]
IncidentFollower = Callable[..., None]
DeploymentFollower = Callable[..., None]

_close_checks: list[CloseCheck] = []
_followers: list[IncidentFollower] = []
_deployment_followers: list[DeploymentFollower] = []
# Incidents whose followers wait for the end of an ``incident_changes_deferred`` block (None outside one).
_deferred: ContextVar[set[int] | None] = ContextVar("incident_changes_deferred", default=None)


def close_check_register(check: CloseCheck) -> None:
    """Register ``check(*, incident) -> str | None``: a reason the incident cannot be closed yet, or None."""
    if check not in _close_checks:
        _close_checks.append(check)


def incident_follower_register(follower: IncidentFollower) -> None:
    """Register ``follower(*, incident_ids: set[int]) -> None``, called after those incidents changed."""
    if follower not in _followers:
        _followers.append(follower)


def deployment_follower_register(follower: DeploymentFollower) -> None:
    """Register ``follower(*, source, event, deployment, model, model_version, incidents, occurred_at, delivery)``.

    Called by ``deployment_event_apply`` once the event's deployment is
    recorded and its incidents opened, joined or mitigated, under the lane lock.
    """
    if follower not in _deployment_followers:
        _deployment_followers.append(follower)


def deployment_event_recorded(**recorded) -> None:
    """Tell the deployment followers what the deployment services recorded for one pipeline event."""
    for follower in _deployment_followers:
        follower(**recorded)


def incident_close_blocker(*, incident) -> str | None:
    """Return the first reason a registered check gives for not closing the incident, or None."""
    for check in _close_checks:
        reason = check(incident=incident)
        if reason:
            return reason
    return None


def incident_changed(*, incident) -> None:
    """Tell the followers that the incident changed; call after the change is saved.

    Inside ``incident_changes_deferred``, note the incident instead: the
    followers hear of it when the block ends.
    """
    pending = _deferred.get()
    if pending is not None:
        pending.add(incident.pk)
        return
    _notify({incident.pk})


@contextmanager
def incident_changes_deferred() -> Iterator[None]:
    """Tell the followers of the incidents changed in the block once, when it ends without an error.

    For work that changes many incidents in one transaction (a batch of
    deliveries): each follower then hears once of every incident the block
    changed. Followers skip incidents gone by then (rolled back to a
    savepoint). Nested blocks tell at the outermost's end.
    """
    if _deferred.get() is not None:
        yield
        return
    pending: set[int] = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if pending:
        _notify(pending)


def _notify(incident_ids: set[int]) -> None:
    for follower in _followers:
        follower(incident_ids=incident_ids)
