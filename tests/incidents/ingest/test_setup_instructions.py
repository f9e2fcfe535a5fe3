"""Setup instructions: they format, render, and what they tell people to paste actually works."""

import base64
import itertools
import json
import re
import shutil
import subprocess
import sys
import types
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from config.markdown import render_markdown
from incidents.ingest.adapters import sender_for
from incidents.ingest.adapters.argocd import APP_BODY, APP_TRIGGERS
from incidents.ingest.schema import load_schema
from incidents.ingest.senders import unwrap_paragraphs

from .helpers import KINDS, assert_sane

URL = "https://kintsugi.example.com/hooks/Zm9vYmFyYmF6cXV4cXV1eHF1dXg/"
SECRETS = {"generic": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "gitlab": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}


def secret_for(kind: str) -> str:
    return SECRETS.get(kind, "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0")


def instructions(kind: str, **example) -> str:
    return sender_for(kind).instructions(webhook_url=URL, secret=secret_for(kind), **example)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.parametrize("kind", KINDS)
def test_instructions_name_the_url_and_secret_and_render(kind):
    text = instructions(kind)
    assert URL in text
    assert secret_for(kind) in text
    assert "{webhook_url}" not in text and "{secret}" not in text
    # Examples name the source team's model, or a neutral one: never the demo's, nor another team's.
    assert "fraud-detector" not in text and "demo-model" not in text
    assert "{model}" not in text and "{version}" not in text
    html = render_markdown(text)
    assert "<code>" in html or "<pre>" in html
    assert "<br" not in html  # paragraphs are unwrapped: no ragged breaks on the page
    assert text.count("```") % 2 == 0


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in ("jenkins", "circleci", "mlflow")])
def test_instructions_name_the_model_they_are_given_in_their_examples(kind):
    assert "ranker-eu" in instructions(kind, model="ranker-eu", version="43")
    assert "ranker-eu" not in instructions(kind)


def test_unwrapping_joins_paragraph_lines_only():
    text = "One\ntwo.\n\n| a |\n|---|\n\n```yaml\nkey: 1\nother: 2\n```\n- item\n- item two\n\n**Bold** start\nend."
    assert unwrap_paragraphs(text) == (
        "One two.\n\n| a |\n|---|\n\n```yaml\nkey: 1\nother: 2\n```\n- item\n- item two\n\n**Bold** start end."
    )


def test_every_sender_module_has_a_sample_and_instructions():
    for kind in KINDS:
        sender = sender_for(kind)
        assert sender.kind == kind
        assert len(sender.setup_markdown) > 200
        assert not {"authorization", "x-gitlab-token"} & set(sender.kept_headers)
        assert all(name == name.lower() for name in sender.kept_headers)


def test_jenkins_instructions_give_the_url_with_its_password_ready_to_store():
    # Jenkins sends the secret as the URL's password: the page spells out that URL rather than asking
    # people to splice the secret into it by hand.
    text = instructions("jenkins")
    ready = f"https://jenkins:{secret_for('jenkins')}@kintsugi.example.com/hooks/Zm9vYmFyYmF6cXV4cXV1eHF1dXg/"
    assert f"`{ready}`" in text
    assert "…" not in text
    user_and_password = base64.b64encode(f"jenkins:{secret_for('jenkins')}".encode()).decode()
    headers = {"authorization": f"Basic {user_and_password}"}
    sender_for("jenkins").verify(headers, b"{}", [secret_for("jenkins")], datetime.now(UTC))


# Argo CD ----------------------------------------------------------------------


def argocd_documents() -> tuple[dict, dict]:
    blocks = [yaml.safe_load(block) for block in code_blocks(instructions("argocd"), "yaml")]
    secret = next(block for block in blocks if block.get("kind") == "Secret")
    config = next(block for block in blocks if block.get("metadata", {}).get("name") == "argocd-notifications-cm")
    return secret, config


def test_argocd_instructions_send_rollouts_to_their_own_source():
    blocks = [yaml.safe_load(block) for block in code_blocks(instructions("argocd"), "yaml")]
    assert all(block.get("metadata", {}).get("name") != "argo-rollouts-notification-configmap" for block in blocks)
    assert "source of kind Argo Rollouts" in instructions("argocd")


def test_argocd_secret_service_and_triggers():
    secret, config = argocd_documents()
    assert secret["stringData"]["kintsugi-token"] == secret_for("argocd")
    service = yaml.safe_load(config["data"]["service.webhook.kintsugi"])
    assert service["url"] == URL
    assert {"name": "Authorization", "value": "Bearer $kintsugi-token"} in service["headers"]
    assert {"name": "Content-Type", "value": "application/json"} in service["headers"]
    for trigger in ("on-sync-failed", "on-sync-succeeded", "on-health-degraded", "on-deployed"):
        conditions = yaml.safe_load(config["data"][f"trigger.{trigger}"])
        template = conditions[0]["send"][0]
        assert f"template.{template}" in config["data"]
        assert conditions[0]["when"]
    assert "on-sync-failed" in yaml.safe_load(config["data"]["subscriptions"])[0]["triggers"]


IF_LINE = re.compile(r"^\s*\{\{-? (if|with) .*?\}\}\s*$")
END_LINE = re.compile(r"^\s*\{\{-? end \}\}\s*$")
INLINE_CHOICE = re.compile(r"\{\{ (?:if|with) [^}]*\}\}\{\{ [^}]*\}\}\{\{ else \}\}null\{\{ end \}\}")
ACTION = re.compile(r"\{\{.*?\}\}")


def render(body: str, *, optional_present: bool) -> dict:
    """Render a Go template the way Argo CD would, with every value a string: optional blocks kept or dropped."""
    lines, skipping = [], False
    for line in body.splitlines():
        if IF_LINE.match(line):
            skipping = not optional_present
            continue
        if END_LINE.match(line):
            skipping = False
            continue
        if not skipping:
            lines.append(line)
    text = INLINE_CHOICE.sub('"value"', "\n".join(lines))
    text = ACTION.sub('"value"', text)
    return json.loads(text)


@pytest.mark.parametrize("optional_present", [True, False])
def test_argocd_templates_render_valid_json_the_adapter_reads(optional_present):
    _, config = argocd_documents()
    templates = {name: event for name, event, *_ in APP_TRIGGERS.values()}
    for key, value in config["data"].items():
        if not key.startswith("template."):
            continue
        webhook = yaml.safe_load(value)["webhook"]["kintsugi"]
        assert webhook["method"] == "POST"
        body = render(webhook["body"], optional_present=optional_present)
        assert body["event"] == templates[key.removeprefix("template.")]
        sender = sender_for("argocd")
        event = sender.adapt(sender.event_name({}, body), body)
        assert_sane(event)


def test_argocd_template_guards_multi_source_applications():
    _, config = argocd_documents()
    body = yaml.safe_load(config["data"]["template.kintsugi-app-sync-failed"])["webhook"]["kintsugi"]["body"]
    assert "{{- if .app.spec.source }}" in body
    assert "| toJson" in body
    assert '"message": {{ .message | toJson }}' in body


def test_argocd_template_fields_cover_the_shared_composed_template():
    _, config = argocd_documents()
    body = render(
        yaml.safe_load(config["data"]["template.kintsugi-app-sync-failed"])["webhook"]["kintsugi"]["body"],
        optional_present=True,
    )
    composed = {
        "source", "event", "app", "app_namespace", "app_uid", "project", "destination", "repo_url", "path",
        "target_revision", "revision", "phase", "message", "started_at", "finished_at", "sync_status",
        "health_status", "labels", "helm_parameters", "url",
    }  # fmt: skip
    assert composed <= set(body)


# Generic: the Python and curl examples sign deliveries Kintsugi accepts ---------


def test_generic_python_example_sends_a_delivery_kintsugi_accepts(monkeypatch):
    (snippet,) = code_blocks(instructions("generic", model="churn-predictor", version="8"), "python")
    sent = []

    class Answer:
        status = 202

    def urlopen(request):
        sent.append(request)
        return Answer()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    exec(compile(snippet, "generic-example", "exec"), {})
    (request,) = sent
    assert request.full_url == URL
    headers = {name.lower(): value for name, value in request.header_items()}
    sender = sender_for("generic")
    sender.verify(headers, request.data, [secret_for("generic")], datetime.now(UTC))
    payload = sender.parse(headers, request.data)
    event = sender.adapt(sender.event_name(headers, payload), payload)
    assert (event.status, event.environment, event.model_name, event.model_version) == (
        "failed",
        "staging",
        "churn-predictor",
        "8",
    )


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "openssl", "xxd", "base64")), reason="needs openssl and xxd"
)
def test_generic_curl_example_signs_a_failure_of_the_teams_model_kintsugi_accepts():
    # Like the Python example, it sends what opens an incident on a model version, so trying it shows one.
    (snippet,) = code_blocks(instructions("generic", model="churn-predictor", version="8"), "shell")
    script = "curl() { printf '%s\\0' \"$@\"; }\n" + snippet
    output = subprocess.run(["bash", "-c", script], capture_output=True, check=True, timeout=30).stdout
    arguments = output.decode().split("\0")[:-1]
    headers = {}
    for flag, value in itertools.pairwise(arguments):
        if flag == "-H":
            name, _, header_value = value.partition(": ")
            headers[name.lower()] = header_value
    body = arguments[arguments.index("--data") + 1].encode()
    sender = sender_for("generic")
    sender.verify(headers, body, [secret_for("generic")], datetime.now(UTC))
    payload = sender.parse(headers, body)
    event = sender.adapt(sender.event_name(headers, payload), payload)
    assert (event.status, event.environment, event.model_name, event.model_version) == (
        "failed",
        "staging",
        "churn-predictor",
        "8",
    )


# MLflow: the create_webhook call subscribes to exactly the recorded events ------


def test_mlflow_example_creates_a_webhook_for_every_recorded_event(monkeypatch):
    (snippet,) = code_blocks(instructions("mlflow"), "python")
    calls = []

    class Webhook:
        webhook_id = "wh-1"

    class MlflowClient:
        def __init__(self, **options):
            pass

        def create_webhook(self, **options):
            calls.append(options)
            return Webhook()

        def test_webhook(self, webhook_id):
            calls.append({"tested": webhook_id})

    monkeypatch.setitem(sys.modules, "mlflow", types.SimpleNamespace(MlflowClient=MlflowClient))
    exec(compile(snippet, "mlflow-example", "exec"), {})
    created, tested = calls
    assert created["url"] == URL
    assert created["secret"] == secret_for("mlflow")
    assert set(created["events"]) == set(sender_for("mlflow").adapters)
    assert tested == {"tested": "wh-1"}


def test_github_example_yaml_is_valid():
    (snippet,) = code_blocks(instructions("github"), "yaml")
    step = yaml.safe_load(snippet)[0]
    assert "model_name" in step["with"]["script"]


# The reference document stays in step with the code ----------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def test_docs_name_every_recorded_event():
    text = DOCS.read_text()
    for kind in KINDS:
        for event in sender_for(kind).adapters:
            assert f"`{event}`" in text or f"| {event} |" in text, (kind, event)


def test_docs_carry_the_current_argocd_templates_and_generic_schema():
    text = DOCS.read_text()
    from incidents.ingest.adapters.argo_rollouts import BODY as ARGO_ROLLOUTS_BODY

    for body in (APP_BODY, ARGO_ROLLOUTS_BODY):
        for line in body.splitlines():
            if "EVENT" not in line:
                assert line.strip() in text
    assert json.dumps(load_schema("generic"), indent=2) in text


# Argo Rollouts --------------------------------------------------------------------


def argo_rollouts_documents() -> tuple[dict, dict]:
    blocks = [yaml.safe_load(block) for block in code_blocks(instructions("argo_rollouts"), "yaml")]
    secret = next(block for block in blocks if block.get("kind") == "Secret")
    config = next(
        block for block in blocks if block.get("metadata", {}).get("name") == "argo-rollouts-notification-configmap"
    )
    return secret, config


BRANCH = re.compile(r"^\s*\{\{-? (if|with|else|end)\b.*?\}\}\s*$")
NESTED_CHOICE = re.compile(
    r"\{\{ with [^}]*\}\}\{\{ with [^}]*\}\}\{\{ [^}]*\}\}"
    r"\{\{- else \}\}null\{\{ end \}\}\{\{ else \}\}null\{\{ end \}\}"
)


def render_branches(body: str, *, first_branch: bool) -> dict:
    """Render a Go template with every value a string, taking each if/else's first branch or its else."""
    lines, keep = [], [True]
    for line in body.splitlines():
        match = BRANCH.match(line)
        if match is None:
            if all(keep):
                lines.append(line)
            continue
        word = match.group(1)
        if word in ("if", "with"):
            keep.append(first_branch)
        elif word == "else":
            keep[-1] = not keep[-1]
        else:
            keep.pop()
    text = NESTED_CHOICE.sub('"value"', "\n".join(lines))
    return json.loads(ACTION.sub('"value"', text))


def test_argo_rollouts_secret_service_and_one_trigger_per_event():
    from incidents.ingest.adapters.argo_rollouts import EVENTS

    secret, config = argo_rollouts_documents()
    assert secret["stringData"]["kintsugi-token"] == secret_for("argo_rollouts")
    service = yaml.safe_load(config["data"]["service.webhook.kintsugi"])
    assert service["url"] == URL
    assert {"name": "Authorization", "value": "Bearer $kintsugi-token"} in service["headers"]
    for event in EVENTS:
        trigger = yaml.safe_load(config["data"][f"trigger.on-{event}"])
        assert trigger == [{"send": [f"kintsugi-{event}"]}]
        assert f"notifications.argoproj.io/subscribe.on-{event}.kintsugi" in instructions("argo_rollouts")


@pytest.mark.parametrize("first_branch", [True, False])
def test_argo_rollouts_templates_render_valid_json_the_adapter_reads(first_branch):
    _, config = argo_rollouts_documents()
    sender = sender_for("argo_rollouts")
    seen = set()
    for key, value in config["data"].items():
        if not key.startswith("template."):
            continue
        webhook = yaml.safe_load(value)["webhook"]["kintsugi"]
        assert webhook["method"] == "POST"
        body = render_branches(webhook["body"], first_branch=first_branch)
        assert key == f"template.kintsugi-{body['event']}"
        assert body["strategy"] == ("canary" if first_branch else "blueGreen")
        event = sender.adapt(sender.event_name({}, body), body)
        assert_sane(event)
        assert event.rollout is not None
        seen.add(body["event"])
    assert seen == set(sender.adapters)
