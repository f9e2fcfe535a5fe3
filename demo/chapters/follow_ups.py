"""Chapter 5 of the demo: follow-ups, action items (some overdue, some done) and a library of learnings.

Three closed incidents of its own carry follow-ups that outlive them (reminders
go on after an incident closes); every incident the earlier chapters gave a
post-mortem gets follow-ups fitting its kind. Published post-mortems see their
first proposed lesson accepted into the library; last, everything is indexed
for search. Safe to run again: everything is looked up first. Dates are relative to today, so the demo always has items
overdue, due soon and done.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import Incident, IncidentKind, RegisteredModel, Severity
from incidents.services.incidents import incident_open, incident_transition
from postmortems.models import (
    ActionItem,
    ActionItemStatus,
    Learning,
    LearningProposalStatus,
    Postmortem,
    PostmortemStatus,
)
from postmortems.selectors.learnings import learning_proposal_defaults
from postmortems.services.actions import action_item_create, action_item_set_status
from postmortems.services.learnings import learning_create, learning_proposal_accept
from postmortems.services.postmortems import postmortem_mark_not_needed
from search.services import search_entry_sync_incident, search_index_refresh
from teams.models import Membership, Team

User = get_user_model()

MODELS = [
    # team slug, name, description
    ("fraud", "fraud-scorer", "Real-time card fraud score (gradient-boosted trees)."),
    ("ml-platform", "user-embedding", "Nightly user embeddings from the feature store."),
    ("recsys", "home-feed-ranker", "Two-tower ranking of the home feed."),
]

INCIDENTS = [
    {
        "team": "fraud",
        "title": "fraud-scorer v14 scored card payments with stale merchant features",
        "kind": IncidentKind.MODEL_REGRESSION,
        "severity": Severity.SEV2,
        "model": "fraud-scorer",
        "environment": "production",
        "days_ago": 48,
        "summary": "For 3 hours the scorer read merchant features from a snapshot two days old; "
        "approval rates for new merchants dropped by 4%.",
        "closed_reason": "Reviewed in the weekly fraud sync; the follow-ups below carry the lessons.",
        "owner": "lucia",
    },
    {
        "team": "ml-platform",
        "title": "Feature store backfill wrote nulls into user_embedding",
        "kind": IncidentKind.DATA_PIPELINE,
        "severity": Severity.SEV1,
        "model": "user-embedding",
        "environment": "production",
        "days_ago": 26,
        "summary": "A schema change renamed `country_code`; the backfill filled the new column with nulls "
        "and every downstream model read empty embeddings for 40 minutes.",
        "closed_reason": "Reviewed together with the schema migration it came from; its follow-ups are below.",
        "owner": "demo",
    },
    {
        "team": "recsys",
        "title": "home-feed-ranker canary crashed on the new GPU nodes",
        "kind": IncidentKind.SERVING,
        "severity": Severity.SEV3,
        "model": "home-feed-ranker",
        "environment": "production",
        "days_ago": 9,
        "summary": "The canary of v31 crashed on the new GPU node pool (CUDA driver mismatch); "
        "the rollout stopped itself and v30 kept serving.",
        "closed_reason": "No user impact: the canary stopped itself. The follow-ups are enough.",
        "owner": "mei",
    },
]

# incident title prefix, title, owner, kind, priority, due in days (negative: past), created days ago,
# resolved (status, days ago), verification
ACTION_ITEMS = [
    (
        "fraud-scorer v14",
        "Alert when merchant features are older than 6 hours",
        "priya",
        "drift_monitor",
        "P1",
        -12,
        47,
        None,
        "The freshness alert fires in the staging drill when the merchant snapshot is held back.",
    ),
    (
        "fraud-scorer v14",
        "Evaluate every candidate on the newest week of new-merchant traffic",
        "tomas",
        "evaluation_slice",
        "P2",
        3,
        47,
        None,
        "The evaluation report of the next release shows the new-merchant slice with its own threshold.",
    ),
    (
        "fraud-scorer v14",
        "Pin the feature snapshot version in the serving config",
        "lucia",
        "prevent",
        "P2",
        -20,
        47,
        ("done", 30),
        "Serving refuses to start when the snapshot version is missing; covered by an integration test.",
    ),
    (
        "fraud-scorer v14",
        "Rehearse the scorer rollback in a game day",
        "demo",
        "rollback_runbook",
        "P3",
        21,
        47,
        None,
        "A game day rolls the scorer back in under 10 minutes following the runbook alone.",
    ),
    (
        "Feature store backfill",
        "Validate the schema of backfill output before it is published",
        "demo",
        "data_validation",
        "P1",
        -4,
        25,
        ("in_progress", None),
        "A backfill with a renamed column fails validation in CI and publishes nothing.",
    ),
    (
        "Feature store backfill",
        "Page the platform on-call when the embedding null rate exceeds 1%",
        "demo",
        "detect",
        "P1",
        -10,
        25,
        ("done", 12),
        "Replaying the incident's data in staging pages the on-call within 5 minutes.",
    ),
    (
        "Feature store backfill",
        "Add a data-quality gate to the nightly embedding job",
        "demo",
        "data_validation",
        "P2",
        4,
        25,
        None,
        "The nightly job stops before publishing when more than 1% of embeddings are empty.",
    ),
    (
        "Feature store backfill",
        "Document who approves a backfill in production",
        "kenji",
        "process",
        "P4",
        -6,
        25,
        None,
        "The runbook names the approver and the platform channel links to it.",
    ),
    (
        "Feature store backfill",
        "Shadow-read new embeddings for a day before switching",
        "sofia",
        "canary_shadow",
        "P2",
        30,
        25,
        None,
        "Dashboards compare shadow and live embeddings; the switch needs a green day.",
    ),
    (
        "Feature store backfill",
        "Rename columns only through a two-step migration",
        "demo",
        "process",
        "P3",
        -2,
        25,
        ("wont_do", 8),
        "The schema review checklist has the two-step rule.",
    ),
    (
        "home-feed-ranker canary",
        "Run the canary on every GPU node pool before promotion",
        "oliver",
        "canary_shadow",
        "P2",
        5,
        8,
        None,
        "The promotion pipeline lists a passed canary for each node pool.",
    ),
    (
        "home-feed-ranker canary",
        "Retrain with the driver-matched image and backfill the cache",
        "mei",
        "retrain_backfill",
        "P3",
        40,
        8,
        ("done", 2),
        "v31 serves on the new pool with latency under 80 ms at p99.",
    ),
]
WONT_DO_REASON = "Superseded by the schema registry, which blocks renames outright."

# Follow-ups for the incidents other demos wrote post-mortems about, by incident kind:
# title, kind, priority, due in days, (status, days ago) or None, verification.
FOLLOW_UPS_BY_KIND = {
    IncidentKind.FAILED_DEPLOYMENT: [
        (
            "Gate promotion on the canary's precision at the serving threshold",
            "canary_shadow",
            "P1",
            -5,
            None,
            "A candidate below the champion's precision@0.9 stops at the canary in the next release.",
        ),
        (
            "Rehearse the alias rollback from the runbook alone",
            "rollback_runbook",
            "P2",
            6,
            None,
            "A game day moves champion back in under five minutes, timed, by someone new to the model.",
        ),
        (
            "Score real traffic samples in the production smoke test",
            "detect",
            "P2",
            20,
            ("done", 3),
            "The smoke test replays a day of anonymised requests and fails on the old encoding.",
        ),
    ],
    IncidentKind.MODEL_REGRESSION: [
        (
            "Add the newest-week slice to the evaluation report",
            "evaluation_slice",
            "P1",
            -3,
            None,
            "The next candidate's report shows the slice with its own threshold.",
        ),
        (
            "Alert when the online metric drifts from the offline one",
            "drift_monitor",
            "P2",
            12,
            None,
            "Replaying last month's drift in staging pages the team within an hour.",
        ),
    ],
    IncidentKind.DATA_PIPELINE: [
        (
            "Validate feature schemas before publishing a backfill",
            "data_validation",
            "P1",
            -2,
            None,
            "A backfill with a renamed column fails in CI and publishes nothing.",
        ),
        (
            "Backfill the affected days and retrain",
            "retrain_backfill",
            "P2",
            15,
            ("done", 1),
            "The retrained model matches the champion's offline metrics on the repaired days.",
        ),
    ],
}
# The fraud-detector regressions of weeks 6 to 8 (``demo.chapters.insights``) each get the follow-ups their
# post-mortem's lessons name (``demo.reviews``), rather than their kind's: the same condition came back, but each
# week taught something of its own.
FOLLOW_UPS_BY_TITLE = {
    "fraud-detector precision dropped after release (week 6)": [
        (
            "Report precision for fast-growing merchants as an evaluation slice of its own",
            "evaluation_slice",
            "P1",
            -3,
            None,
            "The next candidate's report shows precision for merchants growing over 20% a week, with its threshold.",
        ),
        (
            "Page the fraud rota when a canary analysis fails",
            "detect",
            "P2",
            12,
            None,
            "A failed analysis in staging pages the rota within five minutes; a stopped rollout still serves.",
        ),
    ],
    "fraud-detector precision dropped after release (week 7)": [
        (
            "Score the previous version on today's traffic before reverting to it",
            "rollback_runbook",
            "P1",
            -2,
            None,
            "The revert runbook shows the previous version's precision on the last day's traffic before the switch.",
        ),
        (
            "Agree the card-not-present review band's thresholds in advance",
            "process",
            "P2",
            10,
            None,
            "The night shift's runbook lists the band and lets the rota apply it without waiting for a sign-off.",
        ),
    ],
    "fraud-detector precision dropped after release (week 8)": [
        (
            "Give the card-not-present review band an end date and an owner",
            "process",
            "P1",
            -1,
            None,
            "The band lifts on its end date unless its owner renews it, and the fraud board lists it until then.",
        ),
        (
            "Alert on the age of the oldest payment waiting in the review queue",
            "detect",
            "P2",
            14,
            None,
            "A payment waiting 90 minutes pages the rota before the two-hour limit declines it.",
        ),
    ],
}
FOLLOW_UPS_BY_KIND[IncidentKind.SERVING] = FOLLOW_UPS_BY_KIND[IncidentKind.FAILED_DEPLOYMENT][:2]
FOLLOW_UPS_BY_KIND[IncidentKind.GAME_DAY] = FOLLOW_UPS_BY_KIND[IncidentKind.FAILED_DEPLOYMENT][1:2]
FOLLOW_UPS_BY_KIND[IncidentKind.OTHER] = [
    ("Write down who decides during an incident", "process", "P3", 25, None,
     "The on-call handbook names the incident lead role and the first three steps."),
]  # fmt: skip

LEARNINGS = [
    {
        "title": "Evaluate on the newest slice, not only the holdout",
        "body": "A model that wins on a random holdout can lose on the traffic that changed most recently. "
        "Keep a slice of the **newest week** in every evaluation report and give it its own threshold.",
        "team": "fraud",
        "tags": ["evaluation", "drift"],
        "models": ["fraud-scorer"],
        "categories": ["evaluation_gap", "data_drift"],
        "days_ago": 366,
    },
    {
        "title": "Feature freshness is a serving dependency",
        "body": "Stale features fail silently: predictions still come back, just wrong. Alert on the **age** of "
        "every feature snapshot a model reads, not only on pipeline failures.",
        "team": "fraud",
        "tags": ["feature-store", "monitoring"],
        "models": ["fraud-scorer"],
        "categories": ["upstream_data", "feature_pipeline_change"],
        "days_ago": 40,
    },
    {
        "title": "Schema changes need a two-sided contract",
        "body": "Producers and consumers of a feature table change at different times. Validate the schema of "
        "what a backfill writes before it is published, and fail loudly on nulls in required columns.",
        "team": "ml-platform",
        "tags": ["feature-store", "schema", "data-quality"],
        "models": ["user-embedding"],
        "categories": ["feature_pipeline_change", "tooling"],
        "days_ago": 20,
    },
    {
        "title": "Null rate is the cheapest drift monitor",
        "body": "Before distribution tests, watch the share of nulls and defaults per feature. It catches broken "
        "joins, renamed columns and late upstream data within minutes.",
        "team": "ml-platform",
        "tags": ["monitoring", "data-quality"],
        "models": ["user-embedding", "fraud-scorer"],
        "categories": ["data_drift", "upstream_data"],
        "days_ago": 31,
    },
    {
        "title": "Canary on every hardware pool",
        "body": "A canary on one node pool says nothing about another: drivers, kernels and GPU memory differ. "
        "Promote only after each pool served the canary.",
        "team": "recsys",
        "tags": ["deployment", "gpu"],
        "models": ["home-feed-ranker"],
        "categories": ["serving_infrastructure", "dependency_upgrade"],
        "days_ago": 7,
    },
    {
        "title": "Rollbacks are rehearsed, not written",
        "body": "A runbook nobody has followed is a guess. Rehearse the rollback of each production model in a "
        "game day at least once a quarter, timed.",
        "team": None,
        "tags": ["rollback", "game-day"],
        "models": [],
        "categories": ["process", "documentation"],
        "days_ago": 95,
    },
    {
        "title": "Thresholds move with the data",
        "body": "A decision threshold tuned on last quarter's traffic is a configuration bet. Version thresholds "
        "with the model and re-check them on every retrain.",
        "team": "fraud",
        "tags": ["thresholds"],
        "models": ["fraud-scorer"],
        "categories": ["threshold_config"],
        "days_ago": 150,
    },
]


def _user(username: str):
    return User.objects.filter(username=username).first()


def _models(teams: dict[str, Team]) -> dict[str, RegisteredModel]:
    models = {}
    now = timezone.now()
    for slug, name, description in MODELS:
        models[name], _ = RegisteredModel.objects.get_or_create(
            team=teams[slug], name=name, defaults={"description": description, "created_at": now - timedelta(days=400)}
        )
    return models


def _incidents(teams, models) -> dict[str, Incident]:
    incidents = {}
    now = timezone.now()
    for spec in INCIDENTS:
        team = teams[spec["team"]]
        incident = Incident.objects.filter(team=team, title=spec["title"]).first()
        if incident is None:
            owner = _user(spec["owner"])
            detected = now - timedelta(days=spec["days_ago"])
            incident = incident_open(
                team=team,
                title=spec["title"],
                kind=spec["kind"],
                severity=spec["severity"],
                environment=spec["environment"],
                model=models[spec["model"]],
                detected_at=detected,
                started_at=detected - timedelta(minutes=14),
                owner=owner,
                declared_at=detected + timedelta(minutes=10),
                summary=spec["summary"],
                created_by=owner,
            )
            incident_transition(incident=incident, to_status="mitigated", actor=owner, at=detected + timedelta(hours=1))
            incident_transition(incident=incident, to_status="resolved", actor=owner, at=detected + timedelta(hours=3))
            # Closed, so the post-mortems demo leaves them alone: their follow-ups live on.
            postmortem_mark_not_needed(incident=incident, actor=owner, reason=spec["closed_reason"])
            incident_transition(incident=incident, to_status="closed", actor=owner, at=detected + timedelta(days=2))
            search_entry_sync_incident(incident=incident)
        incidents[spec["title"]] = incident
    return incidents


def _action_items(incidents) -> None:
    today = timezone.localdate()
    now = timezone.now()
    for prefix, title, owner_name, kind, priority, due_in, created_ago, resolved, verification in ACTION_ITEMS:
        incident = next(incident for key, incident in incidents.items() if key.startswith(prefix))
        if ActionItem.objects.filter(incident=incident, title=title).exists():
            continue
        owner = _user(owner_name)
        actor = incident.owner or owner
        item = action_item_create(
            incident=incident,
            actor=actor,
            title=title,
            owner=owner,
            kind=kind,
            priority=priority,
            verification=verification,
            postmortem=Postmortem.objects.filter(incident=incident).first(),
        )
        if resolved:
            status, days_ago = resolved
            action_item_set_status(
                item=item,
                actor=owner,
                status=status,
                reason=WONT_DO_REASON if status == ActionItemStatus.WONT_DO else "",
            )
            if days_ago is not None:
                ActionItem.objects.filter(pk=item.pk).update(resolved_at=now - timedelta(days=days_ago))
        # Backdate the history: the demo tells a story that started weeks ago.
        ActionItem.objects.filter(pk=item.pk).update(
            due_date=today + timedelta(days=due_in),
            created_at=now - timedelta(days=created_ago),
            updated_at=now - timedelta(days=min(created_ago, 2)),
        )


def _follow_ups_of_postmortems(own_incident_ids: set[int]) -> None:
    """Give every incident with a post-mortem (other than the demo's own) follow-ups fitting its kind."""
    today = timezone.localdate()
    now = timezone.now()
    postmortems = (
        Postmortem.objects.select_related("incident__team")
        .exclude(incident_id__in=own_incident_ids)
        # A game day's findings are its own chapter's action items.
        .exclude(incident__game_day__isnull=False)
    )
    for postmortem in postmortems.order_by("id"):
        incident = postmortem.incident
        # Leads first ("lead" sorts before "member"): a lead files the items, teammates own them.
        people = [
            membership.user
            for membership in Membership.objects.filter(team=incident.team, user__is_active=True)
            .select_related("user")
            .order_by("role", "user_id")
        ]
        if not people:
            continue
        follow_ups = FOLLOW_UPS_BY_TITLE.get(incident.title) or FOLLOW_UPS_BY_KIND.get(
            incident.kind, FOLLOW_UPS_BY_KIND[IncidentKind.OTHER]
        )
        for index, (title, kind, priority, due_in, resolved, verification) in enumerate(follow_ups):
            if ActionItem.objects.filter(incident=incident, title=title).exists():
                continue
            owner = people[(index + 1) % len(people)]
            # A team files a follow-up once: an earlier incident's item still open covers this one too.
            if ActionItem.objects.filter(team=incident.team, title=title, resolved_at__isnull=True).exists():
                continue
            item = action_item_create(
                incident=incident,
                postmortem=postmortem,
                actor=people[0],
                title=title,
                owner=owner,
                kind=kind,
                priority=priority,
                verification=verification,
            )
            if resolved:
                action_item_set_status(item=item, actor=owner, status=resolved[0])
                ActionItem.objects.filter(pk=item.pk).update(resolved_at=now - timedelta(days=resolved[1]))
            # Backdate the history to the post-mortem's start.
            ActionItem.objects.filter(pk=item.pk).update(
                due_date=today + timedelta(days=due_in), created_at=min(postmortem.created_at, now - timedelta(days=4))
            )


def _accept_first_lessons() -> None:
    """Accept the first lesson each published post-mortem proposed, edited as a team would; leave the rest waiting."""
    for postmortem in Postmortem.objects.filter(status=PostmortemStatus.PUBLISHED).select_related("incident__team"):
        if postmortem.learnings.exists():
            continue
        proposal = postmortem.learning_proposals.filter(status=LearningProposalStatus.PROPOSED).first()
        author = (
            User.objects.filter(memberships__team=postmortem.incident.team, memberships__role="lead").first()
            or postmortem.published_by
        )
        if proposal is None or author is None:
            continue
        defaults = learning_proposal_defaults(proposal=proposal)
        learning_proposal_accept(
            proposal=proposal,
            actor=author,
            title=defaults["title"],
            body=defaults["body"],
            team=defaults["team"],
            tags=defaults["tags"],
            registered_models=defaults["registered_models"],
            categories=defaults["categories"],
        )


def _learnings(teams, models) -> None:
    now = timezone.now()
    author = _user("demo")
    for spec in LEARNINGS:
        if Learning.objects.filter(title=spec["title"]).exists():
            continue
        team = teams[spec["team"]] if spec["team"] else None
        lead = (
            User.objects.filter(memberships__team=team, memberships__role="lead").order_by("pk").first()
            if team
            else author
        )
        learning_create(
            author=lead or author,
            title=spec["title"],
            body=spec["body"],
            team=team,
            tags=spec["tags"],
            registered_models=[models[name] for name in spec["models"]],
            categories=spec["categories"],
            created_at=now - timedelta(days=spec["days_ago"]),
        )


def seed() -> None:
    """Create the demo follow-ups and learnings when missing; never change what exists."""
    teams = {team.slug: team for team in Team.objects.filter(slug__in={"fraud", "ml-platform", "recsys"})}
    if len(teams) < 3 or not User.objects.filter(username="demo").exists():
        return
    models = _models(teams)
    incidents = _incidents(teams, models)
    _action_items(incidents)
    _follow_ups_of_postmortems({incident.pk for incident in incidents.values()})
    _learnings(teams, models)
    _accept_first_lessons()
    # Index what other demos wrote without going through services that index.
    search_index_refresh(limit=10_000)
