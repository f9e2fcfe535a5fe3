"""Chapter 2 of the demo: the sources, one or two per demo team, of different kinds. Safe to run again."""

from incidents.models import Source
from incidents.services.sources import source_create
from teams.models import Team

DEMO_SOURCES = [
    # team slug, name, kind, environment severity, model pattern, pattern field
    (
        "fraud",
        "fraud-detector GitHub Actions",
        "github",
        {"production": "SEV1", "staging": "SEV3", "*": "SEV4"},
        r"deploy (?P<model>[a-z-]+) v(?P<version>\d+)",
        "title",
    ),
    ("fraud", "MLflow registry", "mlflow", {"production": "SEV2", "*": "SEV4"}, "", "any"),
    (
        "recsys",
        "home-feed-ranker GitLab CI",
        "gitlab",
        {"production": "SEV2", "staging": "SEV3", "*": "SEV4"},
        r"(?P<model>[a-z-]+)/v(?P<version>\d+)",
        "ref",
    ),
    ("ml-platform", "feature-store Jenkins", "jenkins", {"prod": "SEV2", "*": "SEV4"}, "", "any"),
    ("ml-platform", "serving Argo CD", "argocd", {"production": "SEV1", "*": "SEV3"}, "", "any"),
]


def seed() -> list[Source]:
    """Create the demo sources that are missing; never change those that exist."""
    teams = {team.slug: team for team in Team.objects.filter(slug__in={row[0] for row in DEMO_SOURCES})}
    sources = []
    for slug, name, kind, severity, pattern, pattern_field in DEMO_SOURCES:
        team = teams.get(slug)
        if team is None:
            continue
        source = Source.objects.filter(team=team, name=name).first()
        if source is None:
            source, _secret = source_create(
                team=team,
                kind=kind,
                name=name,
                environment_severity=severity,
                model_pattern=pattern,
                model_pattern_field=pattern_field,
            )
        sources.append(source)
    return sources
