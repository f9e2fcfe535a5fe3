"""The demo's pipeline history as its sources delivered it: one stored delivery per demo deployment.

The demo writes its deployments straight into the database (its story needs its own dates), so without
this its sources would say "Never called yet" beside incidents their failures opened. Each demo
deployment gets the delivery its source's sender would have made: the sender's own sample (the same
body "Send test delivery" sends), filled in with the deployment's model, version, environment,
outcome, run and times, then read back by the sender's real parser and adapter and stored processed
and linked to the deployment, as the batch stores what it applied. The delivery log then tells the
story the incidents tell, one processed delivery per run.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from incidents.ingest.adapters import sender_for
from incidents.ingest.events import EventStatus, PipelineEvent
from incidents.ingest.senders import Sender
from incidents.models import AliasMove, Delivery, Deployment, DeploymentStatus, Source

# The demo source that deploys each demo model: (team slug, source name), as chapter 2 names them.
SOURCE_OF_MODEL = {
    "fraud-detector": ("fraud", "fraud-detector GitHub Actions"),
    "home-feed-ranker": ("recsys", "home-feed-ranker GitLab CI"),
    "churn-predictor": ("ml-platform", "feature-store Jenkins"),
    "embedding-service": ("ml-platform", "serving Argo CD"),
}
# A deployment is processed this long after its last event arrived.
PROCESSING_TIME = timedelta(seconds=2)
_DELIVERY_IDS = uuid.UUID("6b3c2f0e-6d1e-4c55-9a57-3f6d0d6f4b21")


def demo_source_for(deployment: Deployment, sources: dict[tuple[str, str], Source]) -> Source | None:
    """Return the demo source that deployed ``deployment``'s model, if the demo has one for it."""
    if deployment.model_version_id is None:
        return None
    place = SOURCE_OF_MODEL.get(deployment.model_version.model.name)
    return sources.get(place) if place else None


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_number(deployment: Deployment) -> int:
    digits = deployment.run_id if deployment.run_id.isdigit() else ""
    return int(digits or int(hashlib.sha1(deployment.external_id.encode(), usedforsecurity=False).hexdigest()[:7], 16))


def _sha(deployment: Deployment) -> str:
    return deployment.sha or hashlib.sha1(deployment.external_id.encode(), usedforsecurity=False).hexdigest()


def _github(body: dict, headers: dict, deployment: Deployment, name: str, version: str) -> None:
    state = {"succeeded": "success", "failed": "failure", "in_progress": "in_progress"}[deployment.status]
    run, moment = _run_number(deployment), deployment.last_event_at
    repository = f"acme-ml/{name}-serving"
    status, deploy = body["deployment_status"], body["deployment"]
    url = deployment.run_url or f"https://github.com/{repository}/actions/runs/{run}"
    status.update(
        id=run + 1,
        state=state,
        description=deployment.failing_step or f"{name} v{version} serves {deployment.environment}",
        environment=deployment.environment,
        target_url=url,
        log_url=url,
        created_at=_stamp(moment),
        updated_at=_stamp(moment),
    )
    deploy.update(
        id=run,
        sha=_sha(deployment),
        payload={"model_name": name, "model_version": version},
        environment=deployment.environment,
        description=deployment.title,
        created_at=_stamp(deployment.started_at),
        updated_at=_stamp(moment),
    )
    body["repository"].update(name=f"{name}-serving", full_name=repository)
    headers["X-GitHub-Delivery"] = str(uuid.uuid5(_DELIVERY_IDS, deployment.external_id))


def _gitlab(body: dict, headers: dict, deployment: Deployment, name: str, version: str) -> None:
    status = {"succeeded": "success", "failed": "failed", "in_progress": "running"}[deployment.status]
    run, finished = _run_number(deployment), deployment.finished_at
    web_url = f"https://gitlab.example.com/recsys/{name}"
    body["object_attributes"].update(
        id=run,
        iid=run % 1000,
        name=deployment.title,
        sha=_sha(deployment),
        status=status,
        detailed_status=status,
        created_at=deployment.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        finished_at=finished.strftime("%Y-%m-%d %H:%M:%S UTC") if finished else None,
        duration=int((finished - deployment.started_at).total_seconds()) if finished else None,
        variables=[
            {"key": "MODEL_NAME", "value": name},
            {"key": "MODEL_VERSION", "value": version},
            {"key": "ENVIRONMENT", "value": deployment.environment},
        ],
        url=deployment.run_url or f"{web_url}/-/pipelines/{run}",
    )
    body["project"].update(name=name, web_url=web_url, path_with_namespace=f"recsys/{name}")
    body["commit"].update(id=_sha(deployment), title=deployment.title)
    build, deploy = body["builds"]
    job = deployment.failing_step.split(":")[0] if deployment.failing_step else f"deploy-{deployment.environment}"
    environment = {"name": deployment.environment, "action": "start", "deployment_tier": deployment.environment}
    body["builds"] = [
        {**build, "status": "success"},
        {**deploy, "name": job, "status": status, "environment": environment},
    ]
    key = str(uuid.uuid5(_DELIVERY_IDS, deployment.external_id))
    headers.update({"X-Gitlab-Event-UUID": key, "Idempotency-Key": key, "webhook-id": key})


def _jenkins(body: dict, headers: dict, deployment: Deployment, name: str, version: str) -> None:
    result = {"succeeded": "SUCCESS", "failed": "FAILURE", "cancelled": "ABORTED"}[deployment.status]
    number = _run_number(deployment) % 100_000
    job = f"{name}-deploy"
    build = body["build"]
    finished = deployment.finished_at or deployment.last_event_at
    body.update(name=job, display_name=job, url=f"job/{job}/")
    build.update(
        full_url=deployment.run_url or f"https://jenkins.example.com/job/{job}/{number}/",
        number=number,
        queue_id=number + 7,
        timestamp=int(deployment.started_at.timestamp() * 1000),
        duration=int((finished - deployment.started_at).total_seconds() * 1000),
        status=result,
        url=f"job/{job}/{number}/",
        parameters={"MODEL_NAME": name, "MODEL_VERSION": version, "ENVIRONMENT": deployment.environment},
    )
    build["scm"].update(commit=_sha(deployment), changes=[f"deploy/values-{deployment.environment}.yaml"])
    failed = deployment.status == DeploymentStatus.FAILED
    build["test_summary"].update(
        failed=int(failed), passed=12 - int(failed), failed_tests=[deployment.failing_step][:failed]
    )


def _argocd(body: dict, headers: dict, deployment: Deployment, name: str, version: str) -> None:
    event = {"succeeded": "app.sync.succeeded", "failed": "app.sync.failed", "in_progress": "app.sync.running"}[
        deployment.status
    ]
    phase = {"succeeded": "Succeeded", "failed": "Failed", "in_progress": "Running"}[deployment.status]
    app = f"{name}-{deployment.environment}"
    moment = deployment.last_event_at
    body.update(
        event=event,
        sent_at=_stamp(moment),
        app=app,
        app_uid=str(uuid.uuid5(_DELIVERY_IDS, app)),
        labels={
            "kintsugi.io/model": name,
            "kintsugi.io/model-version": version,
            "kintsugi.io/environment": deployment.environment,
        },
        destination={**body["destination"], "namespace": f"ml-serving-{deployment.environment}"},
        sync_status="OutOfSync" if deployment.status == DeploymentStatus.FAILED else "Synced",
        sync_revision=_sha(deployment),
        health_status="Degraded" if deployment.status == DeploymentStatus.FAILED else "Healthy",
        path=f"charts/{name}",
        helm_parameters=[{"name": "model.name", "value": name}, {"name": "model.version", "value": version}],
        phase=phase,
        message=deployment.failing_step or f"successfully synced {name} v{version}",
        started_at=_stamp(deployment.started_at),
        finished_at=_stamp(deployment.finished_at) if deployment.finished_at else "",
        revision=_sha(deployment),
        url=deployment.run_url or f"https://argocd.example.com/applications/{app}?operation=true",
    )


# Per sender: how its sample becomes the delivery of one deployment (KeyError: an outcome it cannot say).
FILL: dict[str, Callable[[dict, dict, Deployment, str, str], None]] = {
    "github": _github,
    "gitlab": _gitlab,
    "jenkins": _jenkins,
    "argocd": _argocd,
}
STATUS_OF_EVENT = {
    EventStatus.SUCCEEDED: DeploymentStatus.SUCCEEDED,
    EventStatus.FAILED: DeploymentStatus.FAILED,
    EventStatus.CANCELLED: DeploymentStatus.CANCELLED,
    EventStatus.IN_PROGRESS: DeploymentStatus.IN_PROGRESS,
}


def delivery_of_deployment(*, deployment: Deployment, source: Source) -> Delivery | None:
    """Return the processed delivery (unsaved) ``source`` would have made for ``deployment``.

    None when the source's sender cannot tell the deployment's outcome (GitHub has no "cancelled").
    Raise what the sender's parser or adapter raises, and AssertionError when the event it reads is
    not the deployment's: the demo must not store a delivery that tells another story.
    """
    fill = FILL.get(source.kind)
    if fill is None or deployment.status not in {"succeeded", "failed", "in_progress", "cancelled"}:
        return None
    sender = sender_for(source.kind)
    headers, raw = sender.sample("demo", deployment.last_event_at)
    body = json.loads(raw)
    version = deployment.model_version.version
    try:
        fill(body, headers, deployment, deployment.model_version.model.name, version)
    except KeyError:
        return None
    delivery, event = _processed(sender, source=source, headers=headers, body=body, at=deployment.last_event_at)
    if (event.model_name, event.model_version, event.environment) != (
        deployment.model_version.model.name,
        version,
        deployment.environment,
    ) or STATUS_OF_EVENT.get(event.status) != deployment.status:
        raise AssertionError(f"the {source.kind} delivery of {deployment.external_id} reads as {event.as_json()}")
    delivery.model_found = str(deployment.model_version)[:240]
    delivery.deployment = deployment
    return delivery


def delivery_of_alias_move(*, move: AliasMove, source: Source) -> Delivery:
    """Return the processed MLflow delivery (unsaved) that told of ``move``: an alias set on a version.

    Raise what the MLflow adapter raises, and AssertionError when it reads as another move.
    """
    sender = sender_for(source.kind)
    headers, raw = sender.sample("demo", move.moved_at)
    body = json.loads(raw)
    name, version = move.model.name, move.to_version.version
    body.update(
        entity="model_version_alias",
        action="created",
        timestamp=move.moved_at.isoformat(),
        data={"name": name, "alias": move.alias, "version": version},
    )
    key = f"demo-alias-{name}-{move.alias}-{move.moved_at.isoformat()}"
    headers["X-MLflow-Delivery-Id"] = str(uuid.uuid5(_DELIVERY_IDS, key))
    delivery, event = _processed(sender, source=source, headers=headers, body=body, at=move.moved_at)
    change = event.registry
    if change is None or (change.model_name, change.version, change.alias) != (name, version, move.alias):
        raise AssertionError(f"the MLflow delivery of {key} reads as {event.as_json()}")
    delivery.model_found = f"{name} v{version}"[:240]
    return delivery


def _processed(
    sender: Sender, *, source: Source, headers: dict, body: dict, at: datetime
) -> tuple[Delivery, PipelineEvent]:
    """Return the processed delivery (unsaved) of ``body`` received at ``at``, and the event the sender reads in it.

    The body goes through the sender's own parser and adapter, as a real delivery does.
    """
    raw = json.dumps(body).encode()
    payload = sender.parse(headers, raw)
    event_name = sender.event_name(headers, payload)
    event = sender.adapt(event_name, payload)
    kept = {key.lower(): value for key, value in headers.items() if key.lower() in sender.kept_headers}
    delivery = Delivery(
        source=source,
        delivery_id=sender.delivery_id(headers, payload, raw),
        event=event_name,
        headers=kept,
        content_type=kept.get("content-type", "application/json"),
        body=raw,
        received_at=at,
        status=Delivery.Status.PROCESSED,
        attempts=1,
        processed_at=at + PROCESSING_TIME,
        normalized=event.as_json(),
    )
    return delivery, event
