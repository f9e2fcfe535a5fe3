"""The "send test delivery" button and API: the sender's sample goes through the real webhook path."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from incidents.ingest import pages
from incidents.ingest.batch import delivery_process
from incidents.ingest.views import source_send_test_delivery
from incidents.models import Delivery, Deployment, Incident, SourceKind
from incidents.services import sources as source_services
from incidents.services.sources import source_create, source_rotate_secret

WAITING = {Delivery.Status.RECEIVED, Delivery.Status.REPLAYED}


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
    assert github_delivery.deployment is not None
    assert Deployment.objects.filter(source=github).count() == 1
    page = client.get(f"/sources/{github.pk}/deliveries/{github_delivery.pk}/")
    assert page.status_code == 200
    assert str(github_delivery.deployment) in page.content.decode()
    incidents = Incident.objects.filter(team=team)
    assert [incident for incident, _ in page.context["incidents"]] == list(
        incidents.filter(deployment_links__deployment=github_delivery.deployment)
    )
    assert pages.SECRET_PLACEHOLDER not in page.content.decode()
