"""The "send test delivery" button and API: the sender's sample goes through the real webhook path."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from incidents.ingest import pages
from incidents.ingest.batch import delivery_process
from incidents.ingest.senders import EXAMPLE_MODEL
from incidents.ingest.views import source_send_test_delivery
from incidents.models import Delivery, Deployment, Incident, ModelVersion, RegisteredModel, SourceKind
from incidents.selectors.sources import source_list_for_user, source_recent_figures
from incidents.services import sources as source_services
from incidents.services.sources import source_create, source_rotate_secret

WAITING = {Delivery.Status.RECEIVED, Delivery.Status.REPLAYED}
TEST_NOTICE = "A test delivery: read and checked like any other, then applied to nothing."


@pytest.mark.django_db
@pytest.mark.parametrize("kind", SourceKind.values)
def test_every_senders_sample_is_accepted_and_understood(team, kind, django_capture_on_commit_callbacks):
    source, _ = source_create(team=team, kind=kind, name=f"{kind}-source")
    with django_capture_on_commit_callbacks() as queued:
        result = source_send_test_delivery(source=source)
    assert result.status_code == 202, result.answer
    assert result.accepted
    assert result.delivery is not None
    assert result.delivery.source == source
    assert len(queued) == 1, "processing is queued once the delivery is committed"
    processed = delivery_process(delivery_id=result.delivery.pk)
    assert processed.status == Delivery.Status.PROCESSED, processed.error
    assert processed.normalized["kind"]


@pytest.mark.django_db
def test_sample_is_signed_with_the_newest_secret(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    source_rotate_secret(source=source, grace=timedelta(0))
    assert source_send_test_delivery(source=source).status_code == 202


@pytest.mark.django_db
def test_inactive_source_sends_nothing(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci", is_active=False)
    with pytest.raises(source_services.SourceRuleError, match="inactive"):
        source_send_test_delivery(source=source)
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_source_without_a_valid_secret_sends_nothing(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    source.secrets.update(expires_at=source.created_at)
    with pytest.raises(source_services.SourceRuleError) as caught:
        source_send_test_delivery(source=source)
    assert str(caught.value) == source_services.NO_VALID_SECRET


@pytest.mark.django_db
def test_button_lands_on_the_new_delivery(client, member, team):
    source, _ = source_create(team=team, kind="gitlab", name="fraud-gitlab")
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}test-delivery/", follow=True)
    delivery = Delivery.objects.get(source=source)
    assert response.redirect_chain[-1][0] == f"/sources/{source.pk}/deliveries/{delivery.pk}/"
    assert "Test delivery sent: the webhook answered 202." in response.content.decode()
    log = client.get(source.get_absolute_url())
    assert list(log.context["page"].object_list) == [delivery]


@pytest.mark.django_db
def test_button_on_an_inactive_source_explains(client, member, team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci", is_active=False)
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}test-delivery/", follow=True)
    assert source_services.SOURCE_INACTIVE in response.content.decode()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_api_test_delivery(token_client_for, member, outsider, team):
    source, _ = source_create(team=team, kind="circleci", name="recsys-ci")
    response = token_client_for(member).post(f"/api/v1/sources/{source.pk}/test-delivery/")
    assert response.status_code == 200
    body = response.json()
    delivery = Delivery.objects.get(source=source)
    assert body["accepted"] is True
    assert body["webhook_status"] == 202
    assert body["delivery"] == delivery.pk
    assert body["delivery_url"] == f"/sources/{source.pk}/deliveries/{delivery.pk}/"
    assert body["test"] is True
    assert body["outcome"].startswith("Read as a failed ")
    assert token_client_for(outsider).post(f"/api/v1/sources/{source.pk}/test-delivery/").status_code == 404


@pytest.mark.django_db
def test_api_test_delivery_on_an_inactive_source_is_409(token_client_for, member, team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci", is_active=False)
    response = token_client_for(member).post(f"/api/v1/sources/{source.pk}/test-delivery/")
    assert response.status_code == 409
    assert response.json()["message"] == source_services.SOURCE_INACTIVE


@pytest.mark.django_db(transaction=True)
def test_test_delivery_is_processed_by_a_real_worker(client, team, member):
    github, _ = source_create(team=team, kind="github", name="fraud-ci")
    mlflow, _ = source_create(team=team, kind="mlflow", name="mlflow-prod")
    client.force_login(member)
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=20):
        for source in (github, mlflow):
            response = client.post(f"{source.get_absolute_url()}test-delivery/")
            assert response.status_code == 302
        deadline = time.monotonic() + 30
        while Delivery.objects.filter(status__in=WAITING).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    github_delivery = Delivery.objects.get(source=github)
    mlflow_delivery = Delivery.objects.get(source=mlflow)
    assert github_delivery.status == Delivery.Status.PROCESSED, github_delivery.error
    assert mlflow_delivery.status == Delivery.Status.PROCESSED, mlflow_delivery.error
    assert github_delivery.is_test and mlflow_delivery.is_test
    # Read and shown, applied to nothing: the registry and the incidents stay as they were.
    assert github_delivery.normalized["status"] == "failed"
    assert mlflow_delivery.normalized["kind"] == "registry"
    assert github_delivery.deployment is None
    assert not Deployment.objects.exists()
    assert not Incident.objects.exists()
    assert not RegisteredModel.objects.exists()
    page = client.get(f"/sources/{github.pk}/deliveries/{github_delivery.pk}/")
    assert page.status_code == 200
    assert TEST_NOTICE in page.content.decode()
    assert pages.SECRET_PLACEHOLDER not in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", SourceKind.values)
def test_a_test_delivery_records_no_incident_model_deployment_or_figure(team, member, kind):
    source, _ = source_create(team=team, kind=kind, name=f"{kind}-source")
    result = source_send_test_delivery(source=source)
    delivery = Delivery.objects.get(pk=result.delivery.pk)
    # Processed before the answer: the outcome can be shown at once.
    assert delivery.status == Delivery.Status.PROCESSED, delivery.error
    assert delivery.is_test
    assert delivery.normalized["kind"]
    assert delivery.deployment_id is None
    assert delivery.model_found == ""
    assert not Deployment.objects.exists()
    assert not Incident.objects.exists()
    assert not RegisteredModel.objects.exists()
    assert not ModelVersion.objects.exists()
    assert result.outcome.startswith("Read as ")
    # Kintsugi sent it, not the source: "last called" and the day's figures leave it out.
    listed = source_list_for_user(user=member).get(pk=source.pk)
    assert listed.last_delivery_at is None
    assert source_recent_figures(sources=[listed])[0].recent_total == 0


@pytest.mark.django_db
def test_a_test_delivery_replayed_still_records_nothing(team):
    source, _ = source_create(team=team, kind="github", name="fraud-ci")
    delivery = source_send_test_delivery(source=source).delivery
    from incidents.services.deliveries import delivery_replay

    delivery_replay(delivery=delivery)
    assert delivery_process(delivery_id=delivery.pk).status == Delivery.Status.PROCESSED
    assert not Deployment.objects.exists()
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_the_same_body_from_the_sender_itself_is_applied(client, team):
    """Only Kintsugi's own button marks a delivery as a test: nothing a sender sends can."""
    from django.utils import timezone

    from incidents.ingest.adapters import sender_for
    from tests.incidents.ingest.github import post

    source, secret = source_create(team=team, kind="github", name="fraud-ci")
    headers, body = sender_for("github").sample(secret, timezone.now())
    response = post(client, source, {**headers, "X-Kintsugi-Test": "1"}, body)
    delivery = delivery_process(delivery_id=response.json()["delivery"])
    assert not delivery.is_test
    assert delivery.deployment_id is not None


@pytest.mark.django_db
def test_button_shows_what_the_test_delivery_was_read_as(client, member, team):
    source, _ = source_create(team=team, kind="generic", name="release-bot")
    client.force_login(member)
    response = client.post(f"{source.get_absolute_url()}test-delivery/", follow=True)
    text = response.content.decode()
    assert "Read as a failed deployment" in text
    assert TEST_NOTICE in text
    assert not Incident.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["generic", "github", "gitlab", "argocd", "argo_rollouts"])
def test_setup_examples_name_the_teams_own_model_never_the_demos(client, member, team, kind):
    from tests.factories import ModelVersionFactory, RegisteredModelFactory, TeamFactory

    recommendations = TeamFactory(name="Recommendations", slug="recommendations")
    ModelVersionFactory(model=RegisteredModelFactory(team=team, name="fraud-detector"), version="17")
    ranker = RegisteredModelFactory(team=recommendations, name="ranker")
    for version in ("9", "10"):
        ModelVersionFactory(model=ranker, version=version)
    from teams.models import Membership

    Membership.objects.create(team=recommendations, user=member)
    source, _ = source_create(team=recommendations, kind=kind, name=f"{kind}-recsys")
    client.force_login(member)
    setup = client.get(source.get_absolute_url()).context["setup_html"]
    assert "ranker" in setup
    assert "10" in setup
    assert "fraud-detector" not in setup and "demo-model" not in setup
    # A team without models gets a neutral example, which no team holds.
    empty = TeamFactory(name="Search", slug="search")
    Membership.objects.create(team=empty, user=member)
    bare, _ = source_create(team=empty, kind=kind, name=f"{kind}-search")
    setup = client.get(bare.get_absolute_url()).context["setup_html"]
    assert EXAMPLE_MODEL in setup
    assert not RegisteredModel.objects.filter(name=EXAMPLE_MODEL).exists()
    assert "fraud-detector" not in setup and "demo-model" not in setup
