"""Argo CD notifications (webhook service): an application's syncs and health.

Argo CD neither signs nor names its notifications: the secret travels as
``Authorization: Bearer`` (or Basic auth), and the body is the JSON template
given in the setup instructions, whose ``event`` field names the event
(``app.sync.failed``…). Argo Rollouts notifications come from the same engine
but belong to a source of their own (``argo_rollouts.py``, which reuses the
parsing and model discovery here): a Rollouts event sent to an Argo CD source
is stored and ignored.
"""

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from incidents.ingest import fields
from incidents.ingest.errors import MISSING_FIELD, MalformedPayload
from incidents.ingest.events import EventKind, EventStatus, PipelineEvent
from incidents.ingest.parsing import bounded_event, digest_id, parse_json
from incidents.ingest.senders import Sender
from incidents.ingest.signatures import verify_authorization

# Application events: the status each one means, and what to call it in a title.
APP_EVENTS = {
    "app.sync.running": (EventStatus.IN_PROGRESS, "sync running"),
    "app.sync.succeeded": (EventStatus.SUCCEEDED, "synced"),
    "app.deployed": (EventStatus.SUCCEEDED, "deployed and healthy"),
    "app.sync.failed": (EventStatus.FAILED, "sync failed"),
    "app.health.degraded": (EventStatus.FAILED, "degraded"),
}
# Label keys (after the last "/", normalized) and Helm parameter names that carry the model.
# Labels under kintsugi.io/ win over others; app.kubernetes.io/name is deliberately not
# used: it names the application, which is not always the model.
LABEL_MODEL_KEYS = ("model", "model_name")
LABEL_VERSION_KEYS = ("model_version",)
LABEL_ENVIRONMENT_KEYS = ("environment", "env")
HELM_MODEL_KEYS = ("model_name", "model", "modelname")
HELM_VERSION_KEYS = ("model_version", "modelversion")
HELM_IMAGE_TAG_KEYS = ("image_tag",)
GIT_SHA = re.compile(r"[0-9a-f]{7,64}")


def parse(headers: Mapping[str, str], raw: bytes) -> dict:
    """Return the JSON body; Argo CD sends no Content-Type unless configured to, so none is accepted."""
    return parse_json(headers, raw, allow_missing_content_type=True)


def event_name(headers: Mapping[str, str], payload: dict) -> str:
    name = fields.value(payload, "event")
    if not isinstance(name, str) or not name.strip():
        raise MalformedPayload(MISSING_FIELD.format(field="event"))
    return bounded_event(name.strip())


def delivery_id(headers: Mapping[str, str], payload: dict, raw: bytes) -> str:
    """Return a digest of what identifies one notification: the application, revision, event and times."""
    return digest_id(
        fields.text(payload, "event"),
        fields.text(payload, "app_uid") or fields.text(payload, "app"),
        fields.text(payload, "app_namespace"),
        fields.text(payload, "revision") or fields.text(payload, "sync_revision"),
        fields.text(payload, "phase"),
        fields.text(payload, "finished_at"),
        fields.text(payload, "sent_at"),
    )


def label_lookup(labels: dict[str, str], keys: tuple[str, ...]) -> str:
    """Return the first label value whose key (after its prefix) is in ``keys``; kintsugi.io/ labels first."""
    ranked = sorted(labels.items(), key=lambda item: (not item[0].startswith("kintsugi.io/"), item[0]))
    by_key: dict[str, str] = {}
    for key, found in ranked:
        if found.strip():
            by_key.setdefault(fields.normalize_key(key.rsplit("/", 1)[-1]), found.strip())
    return next((by_key[key] for key in keys if key in by_key), "")


def helm_parameters(payload: dict) -> dict[str, str]:
    """Return the Helm parameters of the application's source, or of all its sources (multi-source)."""
    parameters = fields.pairs(fields.value(payload, "helm_parameters"), key_field="name")
    for source in fields.items(payload, "sources")[:20]:
        for key, found in fields.pairs(fields.value(source, "helm.parameters"), key_field="name").items():
            parameters.setdefault(key, found)
    return parameters


def image_tag(image: str) -> str:
    """Return the tag of a container image reference ("registry:5000/ml/fraud:17" -> "17"), or ""."""
    reference = image.split("@", 1)[0]
    _repository, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag or tag == "latest":
        return ""
    return tag


def discover_model(payload: dict, labels: dict[str, str]) -> tuple[str, str]:
    """Return (name, version) from labels, then Helm parameters; a version may come from the image tag."""
    parameters = helm_parameters(payload)
    name = label_lookup(labels, LABEL_MODEL_KEYS) or fields.lookup(parameters, HELM_MODEL_KEYS)
    if not name:
        return "", ""
    version = (
        label_lookup(labels, LABEL_VERSION_KEYS)
        or fields.lookup(parameters, HELM_VERSION_KEYS)
        or image_tag(fields.text(payload, "image"))
        or fields.lookup(parameters, HELM_IMAGE_TAG_KEYS)
    )
    return name, version


def application(payload: dict) -> PipelineEvent:
    event = fields.required_text(payload, "event")
    status, verb = APP_EVENTS[event]
    app = fields.required_text(payload, "app")
    labels = fields.pairs(fields.value(payload, "labels"))
    revision = fields.first(fields.text(payload, "revision"), fields.text(payload, "sync_revision"))
    model_name, model_version = discover_model(payload, labels)
    started_at = fields.time_at(payload, "started_at")
    finished_at = fields.time_at(payload, "finished_at")
    sent_at = fields.time_at(payload, "sent_at")
    health = fields.text(payload, "health_status")
    failing_step = ""
    if event == "app.sync.failed":
        failing_step = "sync"
    elif event == "app.health.degraded":
        failing_step = f"health: {health or 'Degraded'}"
    # A sync and the health checks after it concern the same revision: one deployment. Without a
    # revision (multi-source applications), the start of the sync operation tells attempts apart.
    identity = fields.first(fields.text(payload, "app_uid"), f"{fields.text(payload, 'app_namespace')}/{app}")
    attempt = revision or fields.text(payload, "started_at")
    return PipelineEvent(
        kind=EventKind.DEPLOYMENT,
        status=status,
        external_id=f"{identity}:{attempt}",
        pipeline=f"{fields.text(payload, 'project') or 'argocd'}/{app}",
        run_id=revision,
        title=f"{app} {verb}",
        sha=revision if GIT_SHA.fullmatch(revision) else "",
        ref=fields.text(payload, "target_revision"),
        environment=fields.first(
            label_lookup(labels, LABEL_ENVIRONMENT_KEYS), fields.text(payload, "destination.namespace")
        ),
        run_url=fields.text(payload, "url"),
        started_at=started_at,
        finished_at=finished_at if status != EventStatus.IN_PROGRESS else None,
        # Health changes happen after the sync finished: the send time orders them.
        occurred_at=sent_at or finished_at or started_at,
        failing_step=failing_step,
        model_name=model_name,
        model_version=model_version,
        model_origin="payload" if model_name else "",
        # The operation's message explains a failed sync; after a degraded health it is stale.
        message=fields.text(payload, "message") if event == "app.sync.failed" else "",
    )


def sample(secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    """Return an app.sync.failed of demo-model v1 to staging, as the setup template renders it."""
    revision = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "source": "argocd",
        "event": "app.sync.failed",
        "sent_at": stamp,
        "app": "demo-model-staging",
        "app_namespace": "argocd",
        "app_uid": "3b9e1c52-7d4a-4f0e-9a61-2c8d5e7f1a09",
        "project": "ml-platform",
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "ml-serving-staging"},
        "labels": {
            "kintsugi.io/model": "demo-model",
            "kintsugi.io/model-version": "1",
            "kintsugi.io/environment": "staging",
        },
        "sync_status": "OutOfSync",
        "sync_revision": revision,
        "health_status": "Degraded",
        "repo_url": "https://github.com/acme-ml/deployments.git",
        "path": "charts/demo-model",
        "target_revision": "main",
        "helm_parameters": [{"name": "model.name", "value": "demo-model"}, {"name": "model.version", "value": "1"}],
        "sources": None,
        "phase": "Failed",
        "message": 'one or more objects failed to apply, reason: Deployment.apps "demo-model" is invalid: '
        "spec.template.spec.containers[0].resources.limits.memory: Invalid value",
        "started_at": (now - timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": stamp,
        "revision": revision,
        "url": "https://argocd.example.com/applications/demo-model-staging?operation=true",
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret}",
        "User-Agent": "Go-http-client/1.1",
    }
    return headers, raw


# The body every application template sends; EVENT is replaced per template. Written
# for Go's text/template: toJson keeps quotes in messages valid JSON, and every
# optional object is guarded so that a missing one (multi-source applications have no
# spec.source, a never-synced one no operationState) cannot break the template.
APP_BODY = """\
{
  "source": "argocd",
  "event": "EVENT",
  "sent_at": {{ now | date "2006-01-02T15:04:05Z07:00" | toJson }},
  "app": {{ .app.metadata.name | toJson }},
  "app_namespace": {{ .app.metadata.namespace | toJson }},
  "app_uid": {{ .app.metadata.uid | toJson }},
  "project": {{ .app.spec.project | toJson }},
  "destination": {{ .app.spec.destination | toJson }},
  "labels": {{ .app.metadata.labels | toJson }},
  "sync_status": {{ .app.status.sync.status | toJson }},
  "sync_revision": {{ .app.status.sync.revision | toJson }},
  "health_status": {{ .app.status.health.status | toJson }},
  {{- if .app.spec.source }}
  "repo_url": {{ .app.spec.source.repoURL | toJson }},
  "path": {{ .app.spec.source.path | toJson }},
  "target_revision": {{ .app.spec.source.targetRevision | toJson }},
  "helm_parameters": {{ with .app.spec.source.helm }}{{ .parameters | toJson }}{{ else }}null{{ end }},
  {{- end }}
  "sources": {{ .app.spec.sources | toJson }},
  {{- with .app.status.operationState }}
  "phase": {{ .phase | toJson }},
  "message": {{ .message | toJson }},
  "started_at": {{ .startedAt | toJson }},
  "finished_at": {{ .finishedAt | toJson }},
  "revision": {{ if .syncResult }}{{ .syncResult.revision | toJson }}{{ else }}null{{ end }},
  {{- end }}
  "url": {{ printf "%s/applications/%s?operation=true" .context.argocdUrl .app.metadata.name | toJson }}
}"""

# Trigger name -> (template name, event, trigger conditions as in Argo CD's catalog).
APP_TRIGGERS = {
    "on-sync-failed": (
        "kintsugi-app-sync-failed",
        "app.sync.failed",
        "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
        "app.status.operationState?.syncResult?.revision",
    ),
    "on-sync-succeeded": (
        "kintsugi-app-sync-succeeded",
        "app.sync.succeeded",
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']",
        "app.status.operationState?.syncResult?.revision",
    ),
    "on-health-degraded": (
        "kintsugi-app-health-degraded",
        "app.health.degraded",
        "app.status.health.status == 'Degraded'",
        "",
    ),
    "on-deployed": (
        "kintsugi-app-deployed",
        "app.deployed",
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']"
        " and app.status.health.status == 'Healthy'",
        "app.status.operationState?.syncResult?.revision",
    ),
}


def indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line else line for line in text.splitlines())


def webhook_template(name: str, body: str, event: str) -> str:
    return (
        f"  template.{name}: |\n"
        "    webhook:\n"
        "      kintsugi:\n"
        "        method: POST\n"
        "        body: |\n"
        f"{indent(body.replace('EVENT', event), 10)}\n"
    )


SERVICE = (
    "  service.webhook.kintsugi: |\n"
    "    url: WEBHOOK_URL\n"
    "    headers:\n"
    "    - name: Content-Type\n"
    "      value: application/json\n"
    "    - name: Authorization\n"
    "      value: Bearer $kintsugi-token\n"
)


def argocd_config_map() -> str:
    """Return the argocd-notifications-cm entries: the service, one template and one trigger per event."""
    parts = [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-notifications-cm\n  namespace: argocd\ndata:\n",
        SERVICE,
    ]
    for trigger, (template, event, condition, once_per) in APP_TRIGGERS.items():
        parts.append(webhook_template(template, APP_BODY, event))
        lines = [f"  trigger.{trigger}: |\n", f"    - when: {condition}\n", f"      send: [{template}]\n"]
        if once_per:
            lines.append(f"      oncePer: {once_per}\n")
        parts.append("".join(lines))
    parts.append(f"  subscriptions: |\n    - recipients: [kintsugi]\n      triggers: [{', '.join(APP_TRIGGERS)}]\n")
    return "".join(parts)


def braces_escaped(text: str) -> str:
    """Return ``text`` safe for str.format: Go template braces doubled, the URL placeholder restored."""
    return text.replace("{", "{{").replace("}", "}}").replace("WEBHOOK_URL", "{webhook_url}")


SETUP_MARKDOWN = (
    """\
Argo CD does not sign notifications: Kintsugi checks the secret sent as `Authorization: Bearer`.
Notifications need **method POST** (the default is GET) and the JSON body below.

**1. The secret.** Add it to `argocd-notifications-secret`:

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: argocd-notifications-secret
  namespace: argocd
stringData:
  kintsugi-token: {secret}
```

**2. The service, templates and triggers.** Merge these entries into `argocd-notifications-cm`
(`kubectl -n argocd edit configmap argocd-notifications-cm`). The triggers keep the conditions of
Argo CD's catalog; if you already use catalog triggers of the same name, add the `kintsugi-…` template to
their `send` list instead of replacing them. The `subscriptions` entry sends every application's events;
to choose applications, drop it and annotate them instead (step 3).

```yaml
"""
    + braces_escaped(argocd_config_map())
    + """```

**3. Or subscribe applications one by one** with annotations:

```yaml
metadata:
  annotations:
    notifications.argoproj.io/subscribe.on-sync-failed.kintsugi: ""
    notifications.argoproj.io/subscribe.on-sync-succeeded.kintsugi: ""
    notifications.argoproj.io/subscribe.on-health-degraded.kintsugi: ""
    notifications.argoproj.io/subscribe.on-deployed.kintsugi: ""
```

**Naming the model.** Label the Application `kintsugi.io/model: {model}` and
`kintsugi.io/model-version: "{version}"` (labels ending in `/model-name` or `/model-version` also work), or give
the Helm chart the parameters `model.name` and `model.version`. The label `kintsugi.io/environment`
names the environment; otherwise the destination namespace does.

**Argo Rollouts** notifications (canary steps, analysis runs) go to a source of kind Argo Rollouts,
which records each rollout as an experiment; sent here they are stored and ignored.
"""
)

SENDER = Sender(
    kind="argocd",
    verify=verify_authorization,
    parse=parse,
    event_name=event_name,
    delivery_id=delivery_id,
    adapters=dict.fromkeys(APP_EVENTS, application),
    kept_headers=("content-type", "user-agent"),
    sample=sample,
    setup_markdown=SETUP_MARKDOWN,
)
