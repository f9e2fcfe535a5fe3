"""The five templates every organisation starts with.

Raise BUILTIN_REVISION after changing them: the next use brings stored copies up
to date. Post-mortems already written keep the sections they started with.
"""

BUILTIN_REVISION = 5
DEFAULT_BUILTIN_KEY = "standard"

_FACTORS_HELP = (
    "Name conditions, not culprits: a missing check, a default that surprised, an alert that stayed quiet. "
    "Give each factor a category so the organisation can see patterns across incidents."
)
_LESSONS_HELP = (
    "One lesson per line or bullet, each useful to a team that never saw this incident. "
    "They are proposed to the learnings library when the post-mortem is published."
)


def _section(key, title, prompt, help_text="", kind="markdown", required=False, prefill=""):
    return {
        "key": key,
        "title": title,
        "prompt": prompt,
        "help_text": help_text,
        "kind": kind,
        "required": required,
        "prefill": prefill,
    }


BUILTIN_TEMPLATES = [
    {
        "key": "standard",
        "name": "Standard blameless review",
        "description": "The classic review after the Google SRE book: what happened, how it was handled, "
        "what made it possible and what the team learned.",
        "incident_kinds": ["serving", "other"],
        "sections": [
            _section(
                "summary",
                "Summary",
                "What happened, in two or three sentences a newcomer would understand?",
                "State the impact and the outcome plainly. Leave causes for the contributing factors.",
                required=True,
                prefill="summary",
            ),
            _section(
                "impact",
                "Impact",
                "Who and what was affected, for how long, and how badly?",
                "Users, money, predictions served wrongly, data lost or delayed. Numbers beat adjectives.",
                required=True,
                prefill="impact",
            ),
            _section(
                "timeline",
                "Timeline",
                "What happened when, from the first signal to the all-clear?",
                "Facts with times (UTC). Pre-filled from the incident timeline: correct it, add what people saw "
                "and why their actions made sense to them at the time.",
                kind="timeline",
                prefill="timeline",
            ),
            _section(
                "trigger",
                "Trigger",
                "What change or event set the incident off?",
                "A deployment, a data change, a traffic pattern. The trigger is rarely the whole story.",
                prefill="change",
            ),
            _section(
                "detection",
                "Detection",
                "How was the problem noticed, and how long did that take?",
                "Which alert, dashboard or person noticed? What would have shown it sooner?",
            ),
            _section(
                "response",
                "Response and resolution",
                "What did the responders do to mitigate and resolve it?",
                "Describe the options people had and the information available when they chose.",
                required=True,
            ),
            _section(
                "contributing_factors",
                "Contributing factors",
                "Which conditions made this incident possible or worse?",
                _FACTORS_HELP,
                kind="contributing_factors",
                required=True,
            ),
            _section("went_well", "What went well", "What helped: tools, habits, people's judgement, luck aside?"),
            _section(
                "went_wrong",
                "What went wrong",
                "Where did the system, the process or the tooling work against the responders?",
                "Describe mechanisms, not mistakes: what made the wrong step easy and the right one hard?",
            ),
            _section(
                "lucky",
                "Where we got lucky",
                "What went right by chance, and would not next time?",
            ),
            _section(
                "surprised",
                "Why were we surprised?",
                "Which beliefs about the system turned out to be wrong?",
                "Surprises point at the gaps in the shared mental model; they are the most valuable part.",
            ),
            _section(
                "lessons",
                "Lessons learned",
                "What should other teams know?",
                _LESSONS_HELP,
                kind="lessons",
                required=True,
            ),
        ],
    },
    {
        "key": "five-whys",
        "name": "5 whys",
        "description": "A chain of why → because steps, at least three deep, that ends in systemic causes.",
        "incident_kinds": [],
        "sections": [
            _section(
                "summary",
                "Summary",
                "What happened, in two or three sentences?",
                required=True,
                prefill="summary",
            ),
            _section(
                "problem",
                "Problem statement",
                "What exactly went wrong, as observed?",
                "Start from the symptom users or systems saw, with numbers and times.",
                required=True,
                prefill="impact",
            ),
            _section(
                "whys",
                "Why → because",
                "Why did it happen? Ask why again of each answer, at least three times.",
                "Each because should be a condition of the system or the organisation. If an answer names a "
                "person, ask what made their action reasonable at the time and continue from there.",
                kind="why_chain",
                required=True,
            ),
            _section(
                "contributing_factors",
                "Systemic causes",
                "Where does the chain end: which conditions would you change?",
                _FACTORS_HELP,
                kind="contributing_factors",
                required=True,
            ),
            _section("lessons", "Lessons learned", "What should other teams know?", _LESSONS_HELP, kind="lessons"),
        ],
    },
    {
        "key": "ml-regression",
        "name": "ML model regression",
        "description": "For a model whose predictions got worse: versions, data, skew, evaluation, monitoring.",
        "incident_kinds": ["model_regression", "data_pipeline"],
        "sections": [
            _section(
                "summary",
                "Summary",
                "What degraded, for whom, and for how long?",
                required=True,
                prefill="summary",
            ),
            _section(
                "models",
                "Model and versions",
                "Which model, which versions were involved, and where were they serving?",
                "Pre-filled from the versions and deployments linked to the incident.",
                required=True,
                prefill="model_versions",
            ),
            _section(
                "rollout",
                "Rollout",
                "Was the change rolled out gradually? At what share of traffic did it fail, and what stopped it?",
                "Pre-filled from the experiment the incident happened in: arms, traffic steps, outcome.",
                prefill="rollout",
            ),
            _section(
                "impact",
                "Impact",
                "Which metrics moved, by how much, on which traffic?",
                "Business and model metrics, per segment when it matters.",
                required=True,
                prefill="impact",
            ),
            _section(
                "data_changes",
                "Data and feature changes",
                "Which data, feature or schema changes happened around the regression?",
                "Upstream tables, feature definitions, label pipelines, sampling, late or missing partitions.",
            ),
            _section(
                "skew",
                "Training/serving skew",
                "Did the model see different data in serving than in training?",
                "Feature computation paths, defaults for missing values, time travel, encodings.",
            ),
            _section(
                "evaluation_gap",
                "Evaluation gap",
                "Which slice or condition did offline evaluation not cover?",
                "Name the slice, and what made it invisible to the evaluation before release.",
                required=True,
            ),
            _section(
                "monitoring",
                "Monitoring and detection",
                "How was the regression detected, and what would have detected it sooner?",
            ),
            _section(
                "rollback",
                "Rollback and recovery",
                "How was the previous behaviour restored, and how long did it take?",
                prefill="durations",
            ),
            _section(
                "timeline",
                "Timeline",
                "What happened when?",
                "Pre-filled from the incident timeline; add what people knew at each step.",
                kind="timeline",
                prefill="timeline",
            ),
            _section(
                "contributing_factors",
                "Contributing factors",
                "Which conditions made the regression possible or worse?",
                _FACTORS_HELP,
                kind="contributing_factors",
                required=True,
            ),
            _section("lessons", "Lessons learned", "What should other teams know?", _LESSONS_HELP, kind="lessons"),
        ],
    },
    {
        "key": "failed-deployment",
        "name": "Failed deployment / rollback",
        "description": "For a deployment that failed or had to be rolled back.",
        "incident_kinds": ["failed_deployment"],
        "sections": [
            _section(
                "summary",
                "Summary",
                "What was being deployed, what happened, and how did it end?",
                required=True,
                prefill="summary",
            ),
            _section(
                "pipeline",
                "Pipeline",
                "Which pipeline ran, on which environment, and which runs were involved?",
                "Pre-filled from the linked deployments.",
                prefill="deployments",
            ),
            _section(
                "change",
                "The change",
                "What did the change contain, and how was it tested before this environment?",
                prefill="model_versions",
            ),
            _section(
                "failed_step",
                "Failed step",
                "Which step failed, with which error, and what did it tell the people watching?",
                required=True,
            ),
            _section(
                "blast_radius",
                "Blast radius",
                "What was affected, and what kept the damage contained?",
                prefill="impact",
            ),
            _section(
                "rollout",
                "Rollout",
                "Was the change rolled out gradually? At what share of traffic did it fail, and what stopped it?",
                "Pre-filled from the experiment the incident happened in: arms, traffic steps, outcome.",
                prefill="rollout",
            ),
            _section(
                "rollback",
                "Rollback path",
                "How was the previous version restored? Was the path rehearsed, automatic, documented?",
                required=True,
            ),
            _section(
                "time_to_restore",
                "Time to restore",
                "How long from failure to restored service, and where did the time go?",
                prefill="durations",
            ),
            _section(
                "timeline",
                "Timeline",
                "What happened when?",
                kind="timeline",
                prefill="timeline",
            ),
            _section(
                "contributing_factors",
                "Contributing factors",
                "Which conditions let the failure reach this environment or made recovery slow?",
                _FACTORS_HELP,
                kind="contributing_factors",
                required=True,
            ),
            _section("lessons", "Lessons learned", "What should other teams know?", _LESSONS_HELP, kind="lessons"),
        ],
    },
    {
        "key": "game-day",
        "name": "Game day / planned failure injection",
        "description": "For a planned experiment: what was expected, what happened, what surprised.",
        "incident_kinds": ["game_day"],
        "sections": [
            _section(
                "hypothesis",
                "Hypothesis",
                "What did you expect the system to do, and why?",
                "A falsifiable statement: \u201cwhen the feature store is unavailable, scoring falls back to "
                "defaults within 30 seconds\u201d.",
                required=True,
                prefill="hypothesis",
            ),
            _section(
                "injected_failure",
                "Injected failure",
                "Which failure was injected, where, for how long, with which safeguards?",
                required=True,
                prefill="injection",
            ),
            _section(
                "expected_vs_observed",
                "Expected versus observed behaviour",
                "What happened, compared with what you expected?",
                "Include the signals you watched and whether they told the story in time.",
                required=True,
                prefill="observations",
            ),
            _section(
                "surprises",
                "Surprises",
                "What surprised you?",
                "Every surprise is a gap in the shared mental model of the system.",
                required=True,
            ),
            _section(
                "timeline",
                "Timeline",
                "What happened when?",
                kind="timeline",
                prefill="timeline",
            ),
            _section(
                "contributing_factors",
                "Weaknesses found",
                "Which conditions would turn this experiment into a real incident?",
                _FACTORS_HELP,
                kind="contributing_factors",
            ),
            _section("lessons", "Lessons learned", "What should other teams know?", _LESSONS_HELP, kind="lessons"),
        ],
    },
]
