"""The demo's experiments chapter: a canary stopped at 10 % and rolled back, and game days. Safe to run again.

The canary is fraud-detector v9's (chapter 3's rollback story): its analysis
failed at 10 % of production traffic, and the rollout was rolled back to v8.
It comes before the post-mortems chapter, so the story's post-mortem starts
with the experiment's facts. The game days: one on stale features whose
hypothesis did not hold (drill incident, post-mortem, two action items),
and one planned for next week.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from demo.chapters.incidents import ANCHOR, at
from experiments.models import Arm, Experiment, ExperimentKind, GameDay, InjectionKind
from experiments.services.experiments import (
    experiment_attach_deployment,
    experiment_attach_incident,
    experiment_conclude,
    experiment_start,
    traffic_step_add,
)
from experiments.services.game_days import game_day_finish, game_day_plan, game_day_start
from incidents.models import Deployment, Incident, ModelVersion, RegisteredModel
from postmortems.models import ActionItemKind, ActionItemPriority, FactorCategory, Postmortem
from postmortems.services.actions import action_item_create
from postmortems.services.postmortems import FactorInput, postmortem_save
from teams.models import Team

User = get_user_model()

STORY_TITLE = "fraud-detector v9 failed to deploy to production"
ROLLED_BACK = (
    "The canary's analysis run failed at 10 % of production traffic: precision at the 0.9 threshold fell to "
    "0.79 on card-not-present payments, and p99 latency rose to 410 ms. Champion was rolled back to v8."
)
STALE_FEATURES = "Stale merchant features in fraud scoring"
PLANNED = "Model server killed under peak load"
GAME_DAY_ACTIONS = [
    (
        "Alert on merchant feature freshness above 2 minutes",
        ActionItemKind.DETECT,
        ActionItemPriority.P1,
        "tomas",
        "The freshness alert fires within 2 minutes when the staging drill holds the merchant snapshot back.",
    ),
    (
        "Fall back to the last good snapshot when features are older than 5 minutes",
        ActionItemKind.MITIGATE,
        ActionItemPriority.P2,
        "priya",
        "The next stale-features game day keeps precision at 0.9 or above for its whole 20 minutes.",
    ),
]
# What the team wrote after the drill, beside what the game day pre-filled.
GAME_DAY_WRITE_UP = {
    "surprises": (
        "- The model reads stale merchant velocity as a quiet merchant, not as a missing value: nothing in the "
        "serving path knows how old a feature is.\n"
        "- The freshness alert watches the snapshot job, and the job kept succeeding: held back, it wrote the "
        "previous snapshot again. No alert fired in 20 minutes.\n"
        "- Precision fell within 6 minutes, much faster than the room expected; the abort condition (0.8) was "
        "3 points away."
    ),
    "contributing_factors": (
        "A drill, so conditions rather than causes: what would turn five minutes of stale features into a "
        "production incident."
    ),
    "lessons": (
        "- Serve a feature's age beside its value, so the model or a guard can treat old values as missing.\n"
        "- Alert on the age of the data a job writes, not on whether the job ran."
    ),
}
GAME_DAY_FACTORS = [
    (FactorCategory.TOOLING, "The freshness alert measures the snapshot job's last success, not the snapshot's age."),
    (FactorCategory.SERVING_INFRASTRUCTURE, "Serving has no fallback for merchant features older than a few minutes."),
]


def _person(username: str):
    return User.objects.filter(username=username).first()


def _canary(team: Team) -> None:
    """fraud-detector v9's canary beside v8: 10 % at 5:00, analysis failed at 5:06, rolled back at 6:12."""
    model = RegisteredModel.objects.filter(team=team, name="fraud-detector").first()
    if model is None:
        return
    versions = {row.version: row for row in ModelVersion.objects.filter(model=model, version__in=["8", "9"])}
    if len(versions) < 2 or Experiment.objects.filter(model=model, candidate_version=versions["9"]).exists():
        return
    lucia = _person("lucia")
    experiment = experiment_start(
        team=team,
        model=model,
        environment="production",
        candidate_version=versions["9"],
        control_version=versions["8"],
        kind=ExperimentKind.CANARY,
        hypothesis="v9 catches more card-testing fraud than v8 at the same precision, within the latency budget.",
        deciding_metric="precision at the 0.9 score threshold, p99 latency under 250 ms",
        initial_percent=0,
        started_at=at(days=-1, hours=4.9),
        actor=lucia,
    )
    traffic_step_add(
        experiment=experiment, percent=10, at=at(days=-1, hours=5), step_index=1, note="setWeight 10", actor=lucia
    )
    deployments = Deployment.objects.filter(
        model_version__in=versions.values(), environment="production", last_event_at__gte=at(days=-1)
    ).order_by("last_event_at")
    for deployment in deployments:
        arm = Arm.CANDIDATE if deployment.model_version_id == versions["9"].pk else Arm.CONTROL
        experiment_attach_deployment(experiment=experiment, deployment=deployment, arm=arm)
    incident = Incident.objects.filter(team=team, title=STORY_TITLE).first()
    if incident is not None:
        experiment_attach_incident(experiment=experiment, incident=incident, arm=Arm.CANDIDATE, at=incident.started_at)
    experiment_conclude(
        experiment=experiment, outcome="rolled_back", reason=ROLLED_BACK, actor=lucia, at=at(days=-1, hours=6.2)
    )


def _stale_features_game_day(team: Team) -> None:
    """A game day whose hypothesis did not hold: drill incident, post-mortem, two action items."""
    if GameDay.objects.filter(team=team, title=STALE_FEATURES).exists():
        return
    lucia, priya, tomas = _person("lucia"), _person("priya"), _person("tomas")
    model = RegisteredModel.objects.filter(team=team, name="fraud-detector").first()
    game_day = game_day_plan(
        team=team,
        actor=lucia,
        title=STALE_FEATURES,
        hypothesis=(
            "If the online feature store serves merchant features 5 minutes stale, fraud-detector's precision "
            "stays above 0.9 and the freshness alert tells us within 10 minutes."
        ),
        scheduled_at=at(days=-8, hours=5),
        injection_kind=InjectionKind.STALE_FEATURES,
        injection="Hold the merchant snapshot job back by 5 minutes in staging, for 20 minutes.",
        model=model,
        environment="staging",
        component="online feature store: merchant snapshot",
        blast_radius="Staging only; the replayed traffic of last Tuesday, no customer.",
        abort_conditions="Precision below 0.8 for 2 minutes, or any production alert.",
        duration_minutes=30,
        facilitator=lucia,
        participants=[priya, tomas],
    )
    game_day_start(game_day=game_day, actor=lucia, at=at(days=-8, hours=5))
    game_day_finish(
        game_day=game_day,
        actor=lucia,
        hypothesis_held=False,
        observations=(
            "Precision fell to **0.83** after 6 minutes: the model read stale merchant velocity as low risk. "
            "No alert fired; Priya noticed on the canary dashboard after 14 minutes."
        ),
        at=at(days=-8, hours=5.5),
    )
    game_day.refresh_from_db()
    postmortem = Postmortem.objects.filter(incident=game_day.incident).first()
    if postmortem is not None:
        postmortem, _ = postmortem_save(
            postmortem=postmortem,
            actor=lucia,
            based_on=postmortem.version,
            content={key: text for key, text in GAME_DAY_WRITE_UP.items() if key in postmortem.content},
            factors=[FactorInput(category=category, description=text) for category, text in GAME_DAY_FACTORS],
            note="Surprises and conditions from the debrief.",
        )
    today = timezone.localdate()
    for index, (title, kind, priority, owner, verification) in enumerate(GAME_DAY_ACTIONS):
        action_item_create(
            incident=game_day.incident,
            postmortem=postmortem,
            actor=lucia,
            title=title,
            owner=_person(owner),
            kind=kind,
            priority=priority,
            verification=verification,
            due_date=today + timedelta(days=7 + 7 * index),
        )


def _planned_game_day(team: Team) -> None:
    """A game day of next week, so the team page has one to come."""
    if GameDay.objects.filter(team=team, title=PLANNED).exists():
        return
    mei, oliver, kenji = _person("mei"), _person("oliver"), _person("kenji")
    start = max(timezone.now(), ANCHOR).replace(minute=0, second=0, microsecond=0) + timedelta(days=6)
    game_day_plan(
        team=team,
        actor=mei,
        title=PLANNED,
        hypothesis=(
            "If one home-feed-ranker serving pod is killed at peak, the others absorb its traffic with p99 "
            "latency under 300 ms and the feed never falls back to the popular-items list."
        ),
        scheduled_at=start.replace(hour=15),
        injection_kind=InjectionKind.MODEL_SERVER_KILLED,
        injection="`kubectl delete pod` on one of the four ranker pods in the shadow environment.",
        model=RegisteredModel.objects.filter(team=team, name="home-feed-ranker").first(),
        environment="shadow",
        component="ranker serving pods",
        blast_radius="Shadow traffic only.",
        abort_conditions="p99 above 800 ms for 1 minute.",
        duration_minutes=45,
        facilitator=mei,
        participants=[oliver, kenji],
    )


def seed() -> None:
    """Create the demo experiment and game days when missing; never change what exists."""
    teams = {team.slug: team for team in Team.objects.filter(slug__in=["fraud", "recsys"])}
    if len(teams) < 2 or User.objects.filter(username__in=["lucia", "mei"]).count() != 2:
        return
    _canary(teams["fraud"])
    _stale_features_game_day(teams["fraud"])
    _planned_game_day(teams["recsys"])
