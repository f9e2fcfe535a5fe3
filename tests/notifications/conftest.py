import pytest
from aiosmtpd.controller import Controller

from tests.incidents.ingest.conftest import celery_worker  # noqa: F401 - a real worker, shared with intake's tests
from tests.notifications.receivers import Inbox, Receiver, free_port

# An incident of the Fraud team with a failed deployment, its post-mortem and an outside reviewer.
from tests.postmortems.conftest import (  # noqa: F401 - fixtures shared with the post-mortem tests
    failed_deployment,
    fraud_model,
    incident,
    postmortem,
    reviewer,
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def receiver(settings):
    """A real HTTP receiver on loopback, which outbound calls may reach in this test."""
    settings.KINTSUGI_OUTBOUND_ALLOW_PRIVATE = True
    settings.KINTSUGI_OUTBOUND_TIMEOUT = 2
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def inbox(settings):
    """A real SMTP server on loopback, and Django sending to it."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()
