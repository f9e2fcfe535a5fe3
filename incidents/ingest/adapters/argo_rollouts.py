"""Argo Rollouts notifications: a canary's (or blue-green's) steps, pauses, analysis failures and outcome.

Argo Rollouts sends notifications with the same engine as Argo CD: no
signature, no event header, no delivery id. The secret travels as
``Authorization: Bearer`` and the body is the JSON template given in the setup
instructions, whose ``event`` field names the trigger without its "on-"
(``rollout-step-completed``, ``analysis-run-failed``…). Each event is also a
deployment of the rollout's revision (its pod template hash), and carries a
rollout block: the candidate version, the control when a label names it, the
candidate's traffic share and step, and the outcome once it ends.
"""

import json
import uuid
from collections.abc import Mapping
from datetime import datetime

from incidents.ingest import fields
from incidents.ingest.adapters.argocd import (
    braces_escaped,
    discover_model,
    event_name,
    indent,
    label_lookup,
    parse,
)
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent, Rollout, RolloutKind, RolloutOutcome
from incidents.ingest.parsing import digest_id
from incidents.ingest.rollouts import MAX_STEP, traffic_share, whole_number
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import verify_authorization

# Event -> (deployment status, words for the title, the rollout's outcome when the event ends it).
EVENTS: dict[str, tuple[EventStatus, str, RolloutOutcome | None]] = {
    "rollout-updated": (EventStatus.IN_PROGRESS, "rollout started", None),
    "rollout-step-completed": (EventStatus.IN_PROGRESS, "step completed", None),
    "rollout-paused": (EventStatus.IN_PROGRESS, "paused", None),
    "analysis-run-failed": (EventStatus.FAILED, "analysis run failed", None),
    "analysis-run-error": (EventStatus.FAILED, "analysis run error", None),
    # Aborting sends all traffic back to the stable version: the candidate is rolled back.
    "rollout-aborted": (EventStatus.FAILED, "rollout aborted", RolloutOutcome.ROLLED_BACK),
    "rollout-completed": (EventStatus.SUCCEEDED, "rollout completed", RolloutOutcome.PROMOTED),
}
FAILING_STEPS = {"analysis-run-failed": "analysis", "analysis-run-error": "analysis", "rollout-aborted": "abort"}
# Built-in trigger -> the template Kintsugi's setup names for it.
TRIGGERS = {f"on-{event}": f"kintsugi-{event}" for event in EVENTS}
LABEL_CONTROL_KEYS = ("control_version", "stable_model_version")
LABEL_KIND_KEYS = ("rollout_kind", "experiment_kind")
KINDS = {
    "canary": RolloutKind.CANARY,
    "ab-test": RolloutKind.AB_TEST,
    "ab_test": RolloutKind.AB_TEST,
    "shadow": RolloutKind.SHADOW,
    "blue-green": RolloutKind.BLUE_GREEN,
    "blue_green": RolloutKind.BLUE_GREEN,
}


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    """Return a digest of what identifies one notification: the rollout, revision, event, step and time."""
    return digest_id(
        fields.text(payload, "event"),
        fields.text(payload, "rollout_uid") or fields.text(payload, "rollout"),
        fields.text(payload, "namespace"),
        fields.text(payload, "current_pod_hash"),
        fields.text(payload, "current_step_index"),
        fields.text(payload, "phase"),
        fields.text(payload, "sent_at"),
    )


def traffic_percent(payload: dict, *, event: str, strategy: str) -> int | float | None:
    """Return the candidate's share of traffic the rollout is at.

    The canary weight Argo Rollouts reports with traffic routing wins;
    without it, the last ``setWeight`` among the steps already reached.
    A completed rollout serves the candidate everywhere; an aborted one
    leaves its share as it was when it stopped (the abort itself ends the
    experiment).
    """
    if event == "rollout-completed":
        return 100
    weight = traffic_share(fields.value(payload, "canary_weight"))
    if weight is not None:
        return weight
    if strategy == "blueGreen":
        return 0
    steps = fields.items(payload, "steps")[:200]
    index = whole_number(fields.value(payload, "current_step_index"), highest=MAX_STEP)
    if not steps or index is None:
        return None
    reached = [traffic_share(fields.value(step, "setWeight")) for step in steps[:index]]
    weights = [found for found in reached if found is not None]
    return weights[-1] if weights else 0


def rollout_event(payload: dict) -> PipelineEvent:
    event = fields.required_text(payload, "event")
    status, verb, outcome = EVENTS[event]
    name = fields.required_text(payload, "rollout")
    namespace = fields.text(payload, "namespace")
    # The pod template's labels describe the revision being rolled out; the Rollout's, the whole service.
    labels = {**fields.pairs(fields.value(payload, "labels")), **fields.pairs(fields.value(payload, "template_labels"))}
    model_name, model_version = discover_model(payload, labels)
    pod_hash = fields.text(payload, "current_pod_hash")
    sent_at = fields.time_at(payload, "sent_at")
    strategy = fields.text(payload, "strategy")
    kind = KINDS.get(label_lookup(labels, LABEL_KIND_KEYS).lower())
    if kind is None:
        kind = RolloutKind.BLUE_GREEN if strategy == "blueGreen" else RolloutKind.CANARY
    message = fields.text(payload, "message")
    step = whole_number(fields.value(payload, "current_step_index"), highest=MAX_STEP)
    rollout = Rollout(
        # One revision of a Rollout is one experiment; the next image is the next one.
        name=f"{namespace}/{name}:{pod_hash}",
        kind=kind,
        candidate=model_version,
        control=label_lookup(labels, LABEL_CONTROL_KEYS),
        traffic_percent=traffic_percent(payload, event=event, strategy=strategy),
        step=step,
        outcome=outcome,
        reason=message if outcome is not None else "",
    )
    return PipelineEvent(
        kind=EventKind.DEPLOYMENT,
        status=status,
        # The pod template hash identifies the revision being rolled out.
        external_id=f"rollout:{namespace}/{name}:{pod_hash}",
        pipeline=f"argo-rollouts/{name}",
        run_id=pod_hash,
        title=f"{name} {verb}",
        environment=fields.first(label_lookup(labels, ("environment", "env")), namespace),
        run_url=fields.text(payload, "url"),
        finished_at=sent_at if status != EventStatus.IN_PROGRESS else None,
        occurred_at=sent_at,
        failing_step="analysis"
        if event.startswith("analysis-run")
        else ("abort" if event == "rollout-aborted" else ""),
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
        message=message if status == EventStatus.FAILED else "",
        rollout=rollout,
    )


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return an analysis-run-failed of demo-model v1's canary in staging at 10 %, as the template renders it."""
    pod_hash = uuid.uuid4().hex[:9]
    body = {
        "source": "argo-rollouts",
        "event": "analysis-run-failed",
        "sent_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rollout": "demo-model",
        "namespace": "ml-serving-staging",
        "rollout_uid": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b",
        "phase": "Degraded",
        "message": 'RolloutAborted: Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)',
        "current_pod_hash": pod_hash,
        "stable_rs": "5c4b3a291",
        "strategy": "canary",
        "current_step_index": 1,
        "steps": [{"setWeight": 10}, {"pause": {"duration": "10m"}}, {"setWeight": 50}, {"pause": {}}],
        "canary_weight": None,
        "image": "registry.example.com/ml/demo-model:1",
        "labels": {"kintsugi.io/model": "demo-model", "kintsugi.io/environment": "staging"},
        "template_labels": {"kintsugi.io/model-version": "1"},
    }
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
    return headers, raw


# The body every template sends; EVENT is replaced per template. Written for Go's
# text/template: toJson keeps quotes valid JSON, and the canary and blue-green parts are
# guarded so that a Rollout of the other strategy (or one never routed) renders too.
BODY = """\
{
  "source": "argo-rollouts",
  "event": "EVENT",
  "sent_at": {{ now | date "2006-01-02T15:04:05Z07:00" | toJson }},
  "rollout": {{ .rollout.metadata.name | toJson }},
  "namespace": {{ .rollout.metadata.namespace | toJson }},
  "rollout_uid": {{ .rollout.metadata.uid | toJson }},
  "phase": {{ .rollout.status.phase | toJson }},
  "message": {{ .rollout.status.message | toJson }},
  "current_pod_hash": {{ .rollout.status.currentPodHash | toJson }},
  "stable_rs": {{ .rollout.status.stableRS | toJson }},
  "current_step_index": {{ .rollout.status.currentStepIndex | toJson }},
  {{- if .rollout.spec.strategy.canary }}
  "strategy": "canary",
  "steps": {{ .rollout.spec.strategy.canary.steps | toJson }},
  {{- else }}
  "strategy": "blueGreen",
  "steps": null,
  {{- end }}
  "canary_weight": {{ with .rollout.status.canary }}{{ with .weights }}{{ .canary.weight | toJson }}\
{{- else }}null{{ end }}{{ else }}null{{ end }},
  "image": {{ (index .rollout.spec.template.spec.containers 0).image | toJson }},
  "labels": {{ .rollout.metadata.labels | toJson }},
  "template_labels": {{ .rollout.spec.template.metadata.labels | toJson }}
}"""


def config_map() -> str:
    """Return the argo-rollouts-notification-configmap entries: the service, one template and trigger per event."""
    parts = [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argo-rollouts-notification-configmap\ndata:\n",
        "  service.webhook.kintsugi: |\n"
        "    url: WEBHOOK_URL\n"
        "    headers:\n"
        "    - name: Content-Type\n"
        "      value: application/json\n"
        "    - name: Authorization\n"
        "      value: Bearer $kintsugi-token\n",
    ]
    for event in EVENTS:
        template = f"kintsugi-{event}"
        parts.append(
            f"  template.{template}: |\n"
            "    webhook:\n"
            "      kintsugi:\n"
            "        method: POST\n"
            "        body: |\n"
            f"{indent(BODY.replace('EVENT', event), 10)}\n"
        )
        parts.append(f"  trigger.on-{event}: |\n    - send: [{template}]\n")
    return "".join(parts)


ANNOTATIONS = "\n".join(f'    notifications.argoproj.io/subscribe.on-{event}.kintsugi: ""' for event in EVENTS)

SETUP_MARKDOWN = (
    """\
Argo Rollouts notifications are not signed: Kintsugi checks the secret sent as `Authorization: Bearer`.
Each notification is a deployment of the Rollout's revision and a step of its **experiment**: the candidate
version, its share of traffic, and the outcome. A failed analysis run opens (or joins) an incident on the
candidate, attached to the experiment at the traffic it had.

**1. The secret.** Add it to `argo-rollouts-notification-secret` (in the controller's namespace):

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: argo-rollouts-notification-secret
stringData:
  kintsugi-token: {secret}
```

**2. The service, templates and triggers.** Merge these entries into `argo-rollouts-notification-configmap`.
The triggers are the built-in ones; if you already use them, add the `kintsugi-…` template to their `send`
list instead of replacing them.

```yaml
"""
    + braces_escaped(config_map())
    + """```

**3. Subscribe each Rollout** with annotations:

```yaml
metadata:
  annotations:
"""
    + ANNOTATIONS
    + """
```

**Naming the model and its versions.** Label the Rollout `kintsugi.io/model: {model}` and its pod
template `kintsugi.io/model-version: "{version}"` (the candidate; otherwise the image tag is taken). Label the
pod template `kintsugi.io/control-version` with the version the candidate replaces to name the control;
otherwise it is the version last deployed successfully to the environment. `kintsugi.io/environment` names
the environment (else the namespace), and `kintsugi.io/rollout-kind` says `ab-test` or `shadow` when the Rollout is one.
"""
)

SENDER = Sender(
    kind="argo_rollouts",
    verify=verify_authorization,
    parse=parse,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters=dict.fromkeys(EVENTS, rollout_event),
    kept_headers=("content-type", "user-agent"),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
