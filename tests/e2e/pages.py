"""The pages of the URLconf, each id filled from the demo organisation, for tests that visit every page."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

# Not pages: the API and its schema (Swagger UI is visited on its own), webhooks, the admin (Django's
# own pages), the icon, downloads and actions that only answer POST or redirect.
SKIPPED_PREFIXES = ("api/", "hooks/", "admin/", "accounts/logout", "healthz", "favicon.ico", "static/")
SKIPPED_SUFFIXES = (".csv", "/raw/", "/markdown/", "/email/")


def _routes(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _first_ids() -> dict[str, str]:
    """Return a value for each path segment a page route names, from the seeded organisation."""
    from experiments.models import Experiment, GameDay
    from incidents.models import Delivery, Incident, RegisteredModel, Source
    from postmortems.models import ActionItem, Learning, Postmortem, Template
    from teams.models import Team

    delivery = Delivery.objects.order_by("pk").first()
    postmortem = Postmortem.objects.order_by("-version", "pk").first()
    values = {
        "incidents": Incident.objects.order_by("pk").first(),
        "models": RegisteredModel.objects.order_by("pk").first(),
        "sources": delivery.source if delivery else Source.objects.order_by("pk").first(),
        "deliveries": delivery,
        "postmortems": postmortem,
        "history": postmortem.version if postmortem else None,
        "templates": Template.objects.order_by("pk").first(),
        "actions": ActionItem.objects.order_by("pk").first(),
        "learnings": Learning.objects.order_by("pk").first(),
        "experiments": Experiment.objects.order_by("pk").first(),
        "game-days": GameDay.objects.order_by("pk").first(),
        "teams": Team.objects.order_by("pk").first(),
        "team": Team.objects.order_by("pk").first(),
    }
    return {
        key: (str(getattr(value, "slug", None) or getattr(value, "pk", value)) if value is not None else "")
        for key, value in values.items()
    }


def page_paths() -> list[str]:
    """Return every page path of the URLconf with its ids filled, leaving out those that cannot be filled."""
    ids = _first_ids()
    paths = set()
    for route in _routes(get_resolver()):
        if route.startswith(SKIPPED_PREFIXES) or route.endswith(SKIPPED_SUFFIXES) or route.startswith("^"):
            continue
        filled, unfillable = [], False
        segments = route.split("/")
        for index, segment in enumerate(segments):
            match = re.fullmatch(r"<(?:\w+:)?(\w+)>", segment)
            if not match:
                filled.append(segment)
                continue
            previous = segments[index - 1] if index else ""
            value = ids.get(previous) or ""
            if not value:
                unfillable = True
                break
            filled.append(value)
        if not unfillable:
            paths.add("/" + "/".join(filled))
    return sorted(paths)
