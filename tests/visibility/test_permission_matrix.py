"""Every route, for every role, reading and writing, on a restricted and an open object.

The routes come from the URLconf (``get_resolver()``, walked recursively) and from the OpenAPI schema
(drf-spectacular's generator), so a new page or endpoint is in the matrix without editing this test. Each
path parameter is filled from ``FILL``; a route with a parameter ``FILL`` does not know fails the test,
and so does an API route of the URLconf missing from the schema, unless ``EXEMPT`` says why.

What must hold (docs/visibility.md):

- nobody ever gets a 5xx, and anonymous people get a success only from the routes in ``PUBLIC``;
- for anonymous people and outsiders (a member of another team), a route naming a restricted or
  team-only object answers exactly as the same route naming a missing one: no status tells that it
  exists (a 403 is for org-wide objects whose action is the team's);
- no answer to an outsider or an anonymous person, whatever the route, carries the restricted incident's
  words (``SECRET``);
- the team or staff do get past the 404 on every such route, so the object really was reached.
"""

import logging
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from teams.digest.services import digest_unsubscribe_token
from tests.visibility.world import SECRET, World

MISSING_ID = "999999999"
RESTRICTED, OPEN, MISSING = "restricted", "open", "missing"
ROLES = ("anonymous", "outsider", "member", "lead", "staff")


@dataclass(frozen=True)
class Param:
    """How to fill one path parameter: its value for each variant, and for which variants it is hidden.

    Hidden: restricted, or owned by one team (or person) and not organisation-wide, so outsiders must
    not learn it exists. ``missing`` is the value of such a thing that does not exist; in the "missing"
    variant the other parameters (organisation-wide things, words of the route) keep their values.
    """

    fill: Callable[[World, str], object]
    hidden_in: tuple[str, ...] = (RESTRICTED, OPEN)
    missing: str | None = MISSING_ID


def both(get) -> Callable[[World, str], object]:
    return lambda world, variant: get(world)


def pick(restricted, open_) -> Callable[[World, str], object]:
    return lambda world, variant: (restricted if variant == RESTRICTED else open_)(world)


def word(value: str) -> Param:
    return Param(fill=lambda world, variant: value, hidden_in=(), missing=None)


INCIDENT = Param(pick(lambda w: w.restricted, lambda w: w.open_incident), hidden_in=(RESTRICTED,))
# (the path segment before the parameter, the parameter's name) -> how to fill it
FILL: dict[tuple[str, str], Param] = {
    ("teams", "slug"): Param(both(lambda w: w.fraud.slug), hidden_in=(), missing="no-such-team"),
    ("team", "slug"): Param(both(lambda w: w.fraud.slug), hidden_in=(), missing="no-such-team"),
    ("members", "membership_id"): Param(both(lambda w: w.spare_membership), hidden_in=()),
    # A capability: whoever holds the signed token may use it, so it is not hidden, only never a 5xx.
    ("unsubscribe", "token"): Param(
        both(lambda w: digest_unsubscribe_token(user=w.member)), hidden_in=(), missing="not-a-token"
    ),
    ("notifications", "pk"): Param(both(lambda w: w.notification)),
    ("notifications", "id"): Param(both(lambda w: w.notification)),
    ("channels", "pk"): Param(both(lambda w: w.channel)),
    ("channels", "id"): Param(both(lambda w: w.channel)),
    ("sends", "send_pk"): Param(both(lambda w: w.send)),
    ("sends", "id"): Param(both(lambda w: w.send)),
    # A person's own: following the restricted incident.
    ("follows", "id"): Param(both(lambda w: w.follow)),
    # An unguessable address, the sender's capability: unknown ones are a 404, known unsigned ones a 401.
    ("hooks", "public_id"): Param(both(lambda w: w.source.public_id), hidden_in=(), missing="not-a-source"),
    ("incidents", "pk"): INCIDENT,
    ("incidents", "id"): INCIDENT,
    ("start", "incident_pk"): INCIDENT,
    ("not-needed", "incident_pk"): INCIDENT,
    ("status", "action"): word("resolve"),
    ("timeline", "entry_id"): Param(
        pick(lambda w: w.timeline_entry, lambda w: w.open_timeline_entry), hidden_in=(RESTRICTED,)
    ),
    ("deployments", "deployment_id"): Param(both(lambda w: w.deployment), hidden_in=()),
    ("deployments", "id"): Param(both(lambda w: w.deployment), hidden_in=()),
    ("versions", "version_id"): Param(both(lambda w: w.version), hidden_in=()),
    ("related", "other_id"): Param(pick(lambda w: w.open_incident, lambda w: w.open_incident), hidden_in=()),
    ("models", "pk"): Param(both(lambda w: w.model), hidden_in=()),
    ("models", "id"): Param(both(lambda w: w.model), hidden_in=()),
    ("sources", "pk"): Param(both(lambda w: w.source)),
    ("sources", "id"): Param(both(lambda w: w.source)),
    ("deliveries", "delivery_pk"): Param(both(lambda w: w.delivery)),
    ("deliveries", "id"): Param(both(lambda w: w.delivery)),
    ("insights", "chart"): word("dora-weeks"),
    ("templates", "pk"): Param(pick(lambda w: w.fraud_template, lambda w: w.builtin_template), hidden_in=(RESTRICTED,)),
    ("templates", "id"): Param(pick(lambda w: w.fraud_template, lambda w: w.builtin_template), hidden_in=(RESTRICTED,)),
    ("sections", "section_pk"): Param(
        pick(lambda w: w.fraud_template.sections.first(), lambda w: w.builtin_template.sections.first()),
        hidden_in=(RESTRICTED,),
    ),
    ("postmortems", "pk"): Param(
        pick(lambda w: w.restricted_postmortem, lambda w: w.open_postmortem), hidden_in=(RESTRICTED,)
    ),
    ("postmortems", "id"): Param(
        pick(lambda w: w.restricted_postmortem, lambda w: w.open_postmortem), hidden_in=(RESTRICTED,)
    ),
    ("reviewers", "reviewer_pk"): Param(
        pick(lambda w: w.restricted_postmortem.reviewers.first(), lambda w: w.open_postmortem.reviewers.first()),
        hidden_in=(RESTRICTED,),
    ),
    ("history", "number"): word("1"),
    ("actions", "pk"): Param(pick(lambda w: w.restricted_action, lambda w: w.open_action), hidden_in=(RESTRICTED,)),
    ("action-items", "id"): Param(
        pick(lambda w: w.restricted_action, lambda w: w.open_action), hidden_in=(RESTRICTED,)
    ),
    # Proposed lessons are their team's inbox, whether the incident is restricted or not.
    ("proposals", "pk"): Param(pick(lambda w: w.restricted_proposal, lambda w: w.open_proposal)),
    # Learnings are organisation-wide; this one came from the restricted post-mortem.
    ("learnings", "pk"): Param(both(lambda w: w.restricted_learning), hidden_in=()),
    ("learnings", "id"): Param(both(lambda w: w.restricted_learning), hidden_in=()),
    ("experiments", "pk"): Param(both(lambda w: w.experiment)),
    ("experiments", "id"): Param(both(lambda w: w.experiment)),
    ("game-days", "pk"): Param(both(lambda w: w.game_day)),
    ("game-days", "id"): Param(both(lambda w: w.game_day)),
}

# Routes left out of the matrix, and why.
EXEMPT: dict[str, str] = {
    r"^admin/": "Django's admin: its own staff-only permissions, tested by Django",
    r"\(\?P<format>|<drf_format_suffix:format>": "a format suffix of a route the matrix covers without it",
    r"^api/v1/\^?\$?$": "the API root lists the API's routes, no object (covered as a page below)",
}

# What anonymous visitors may be answered with a success (2xx), and why: nothing else.
PUBLIC: dict[str, str] = {
    "accounts/login/": "the sign-in page",
    "healthz": "the health check for load balancers",
    "digest/unsubscribe/<token>/": "the signed token in the link is the permission",
    "api/schema/": "the API's description (OpenAPI): routes and fields, no data",
    "api/docs/": "Swagger UI over that description, no data",
}

PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\{(\w+)\}")


def _walk(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _clean(route: str) -> str:
    """Return the route as a template "incidents/<pk>/" (regex anchors and converters removed)."""
    route = route.replace("^", "").replace("$", "").lstrip("/")
    return PARAM.sub(lambda match: "<" + next(group for group in match.groups() if group) + ">", route)


def _shape(template: str) -> str:
    return re.sub(r"<\w+>", "<>", template)


def _exempt(route: str) -> bool:
    return any(re.search(pattern, route) for pattern in EXEMPT)


@dataclass(frozen=True)
class Route:
    template: str
    writes: tuple[str, ...]
    api: bool


def discover_routes() -> tuple[list[Route], list[str]]:
    """Return the routes to walk and the problems found (API routes missing from the schema)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    api = {}
    for path, operations in schema["paths"].items():
        template = _clean(path)
        writes = tuple(method.upper() for method in operations if method in ("post", "put", "patch", "delete"))
        api[_shape(template)] = Route(template, writes, api=True)
    routes, problems = dict(api), []
    for raw in _walk(get_resolver()):
        if _exempt(raw):
            continue
        template = _clean(raw)
        shape = _shape(template)
        if shape in routes:
            continue
        if template.startswith("api/v1/") and "<" in template:
            problems.append(f"{raw}: an API route the OpenAPI schema does not describe")
            continue
        routes[shape] = Route(template, ("POST",), api=False)
    return sorted(routes.values(), key=lambda route: route.template), problems


def _param_key(template: str, name: str) -> tuple[str, str]:
    before = template.split(f"<{name}>")[0].rstrip("/").split("/")[-1]
    return before, name


def fill(route: Route, world: World, variant: str) -> tuple[str, bool]:
    """Return the path for the variant and whether it names a hidden thing; raise KeyError for unknown params."""
    path, hidden = route.template, False
    for name in re.findall(r"<(\w+)>", route.template):
        param = FILL[_param_key(route.template, name)]
        if variant == MISSING and param.hidden_in:
            value = param.missing
        else:
            value = param.fill(world, RESTRICTED if variant == MISSING else variant)
            value = getattr(value, "pk", value)
            hidden = hidden or variant in param.hidden_in
        path = path.replace(f"<{name}>", str(value), 1)
    return "/" + path, hidden


def test_every_route_has_a_way_to_fill_its_parameters():
    routes, problems = discover_routes()
    unknown = sorted(
        {
            f"{route.template}: <{name}>"
            for route in routes
            for name in re.findall(r"<(\w+)>", route.template)
            if _param_key(route.template, name) not in FILL
        }
    )
    assert problems == []
    assert unknown == [], "add these parameters to FILL (or the route to EXEMPT, saying why)"
    assert len(routes) > 150


class Caller:
    """One role's client, answering 5xx as a server would rather than raising; signed in again after a
    request to the sign-in or sign-out pages."""

    def __init__(self, user):
        self.user = user
        self.client = Client(raise_request_exception=False)
        self.signed_in = False

    def send(self, method: str, path: str, api: bool):
        if self.user is not None and not self.signed_in:
            self.client.force_login(self.user)
            self.signed_in = True
        if path.startswith("/accounts/"):
            self.signed_in = False
        if method == "GET":
            return self.client.get(path)
        if api:
            return self.client.generic(method, path, "{}", content_type="application/json")
        return self.client.post(path, {})


@pytest.fixture
def quiet_request_log():
    """Keep the thousands of expected 4xx warnings out of the captured log (5xx are asserted on)."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def test_permission_matrix(world, quiet_request_log):
    routes, _ = discover_routes()
    callers = {role: Caller(getattr(world, role) if role != "anonymous" else None) for role in ROLES}
    failures, sent, covered = [], Counter(), set()
    reached = {}  # (route, hidden variant) -> the GET statuses the team and staff got
    paths = {route: {variant: fill(route, world, variant)[0] for variant in (RESTRICTED, OPEN)} for route in routes}

    def call(role, method, route, variant):
        path, hidden = fill(route, world, variant)
        response = callers[role].send(method, path, route.api)
        sent[role] += 1
        covered.add((route.template, role))
        body = response.content.decode(errors="replace") if not response.streaming else ""
        if response.status_code >= 500:
            failures.append(f"{role} {method} {path}: {response.status_code}")
        if role == "anonymous" and 200 <= response.status_code < 300 and route.template not in PUBLIC:
            failures.append(f"anonymous {method} {path}: {response.status_code}, for a route not in PUBLIC")
        if role in ("anonymous", "outsider") and SECRET in body:
            failures.append(f"{role} {method} {path}: the restricted incident's words in the answer")
        return response.status_code, hidden

    # Reading first, on the untouched world; then writing, outsiders before those whose writes may succeed.
    for reading in (True, False):
        for role in ROLES:
            for route in routes:
                # One request per distinct path: many things have one object for both variants.
                variants = (RESTRICTED, OPEN) if paths[route][RESTRICTED] != paths[route][OPEN] else (RESTRICTED,)
                for method in ("GET",) if reading else route.writes:
                    answers = {variant: call(role, method, route, variant) for variant in variants}
                    hidden = [variant for variant, (_, is_hidden) in answers.items() if is_hidden]
                    if not hidden:
                        continue
                    if role in ("member", "lead", "staff"):
                        if reading:
                            for variant in hidden:
                                reached.setdefault((route.template, variant), []).append(answers[variant][0])
                        continue
                    missing_status, _ = call(role, method, route, MISSING)
                    if reading and role == "outsider":
                        reached.setdefault((route.template, MISSING), []).append(missing_status)
                    for variant in hidden:
                        if answers[variant][0] != missing_status:
                            path = fill(route, world, variant)[0]
                            failures.append(
                                f"{role} {method} {path}: {answers[variant][0]}, but {missing_status} when missing"
                            )
    for (template, variant), statuses in reached.items():
        # Where a missing thing is a 404, the team or staff must get past it: the matrix reached the object.
        if variant != MISSING and reached.get((template, MISSING)) == [404] and set(statuses) == {404}:
            failures.append(f"GET {template} ({variant}): 404 for the team and staff too; fill it with a real object")
    print(
        f"\npermission matrix: {len(routes)} routes x {len(ROLES)} roles = {len(covered)} route-role pairs, "
        f"{sum(sent.values())} requests",
        file=sys.stderr,
    )
    assert failures == []
