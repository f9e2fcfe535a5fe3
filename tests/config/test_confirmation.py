"""Every destructive button asks first: a dialog with JavaScript, a confirmation page without it.

One case per action: the page that shows the button marks its form for the dialog, and a POST without
``confirm=yes`` changes nothing and answers with a page asking the same question, which sends the same
fields again, confirmed. That the confirmed POST does the work is tested with each action's own page tests.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from config.confirmation import CONFIRM_FIELD, CONFIRM_VALUE
from incidents.selectors.sources import source_valid_secrets
from incidents.services.incidents import incident_relate, incident_set_deployment_role
from incidents.services.sources import source_create
from postmortems.models import PostmortemAutosave, PostmortemReviewer, TemplateSection
from postmortems.services.postmortems import postmortem_autosave, postmortem_reviewer_add, postmortem_start
from postmortems.services.templates import template_create, template_section_add
from teams.models import Membership
from tests.factories import DeploymentFactory, IncidentFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"


@dataclass
class Case:
    """A destructive action: where its button is, where it posts, what it sends and what it would destroy."""

    page: str
    action: str
    data: dict
    question: str
    still_there: Callable[[], bool]


def _incident_with_links(team, member):
    incident = IncidentFactory(team=team, status="resolved")
    deployment = DeploymentFactory(model_version__model__team=team, team=team, status="failed")
    incident_set_deployment_role(incident=incident, deployment=deployment, role="cause", actor=member)
    return incident, deployment


def unlink_deployment(team, member):
    incident, deployment = _incident_with_links(team, member)
    return Case(
        page=incident.get_absolute_url(),
        action=reverse("incidents:unlink-deployment", args=[incident.pk, deployment.pk]),
        data={},
        question=f"Unlink the deployment of {deployment.model_version} to production from {incident.reference}?",
        still_there=lambda: incident.deployment_links.filter(deployment=deployment).exists(),
    )


def unlink_model_version(team, member):
    incident, deployment = _incident_with_links(team, member)
    version = deployment.model_version
    from incidents.services.incidents import incident_set_model_version_role

    incident_set_model_version_role(incident=incident, model_version=version, role="suspect", actor=member)
    return Case(
        page=incident.get_absolute_url(),
        action=reverse("incidents:unlink-version", args=[incident.pk, version.pk]),
        data={},
        question=f"Unlink {version} from {incident.reference}?",
        still_there=lambda: incident.model_version_links.filter(model_version=version).exists(),
    )


def unrelate(team, member):
    incident, other = IncidentFactory(team=team), IncidentFactory(team=team)
    incident_relate(incident=incident, other=other, actor=member)
    return Case(
        page=incident.get_absolute_url(),
        action=reverse("incidents:unrelate", args=[incident.pk, other.pk]),
        data={},
        question=f"Stop relating {incident.reference} and {other.reference}?",
        still_there=lambda: incident.related.filter(pk=other.pk).exists(),
    )


def template_section_remove(team, member):
    template = template_create(team=team, name="Fraud deploys")
    section = template_section_add(template=template, title="Fraud losses", prompt="How much?", kind="markdown")
    return Case(
        page=reverse("postmortems:template-detail", args=[template.pk]),
        action=reverse("postmortems:template-section-delete", args=[template.pk, section.pk]),
        data={},
        question="Remove the section Fraud losses from Fraud deploys?",
        still_there=lambda: TemplateSection.objects.filter(pk=section.pk).exists(),
    )


def template_archive(team, member):
    template = template_create(team=team, name="Fraud deploys")

    def active():
        template.refresh_from_db()
        return template.is_active

    return Case(
        page=reverse("postmortems:template-detail", args=[template.pk]),
        action=reverse("postmortems:template-archive", args=[template.pk]),
        data={},
        question="Archive the template Fraud deploys?",
        still_there=active,
    )


def reviewer_remove(team, member):
    postmortem = postmortem_start(incident=IncidentFactory(team=team, status="resolved"), actor=member)
    reviewer = postmortem_reviewer_add(postmortem=postmortem, user=UserFactory(username="mei"), actor=member)
    return Case(
        page=reverse("postmortems:detail", args=[postmortem.pk]),
        action=reverse("postmortems:reviewer-remove", args=[postmortem.pk, reviewer.pk]),
        data={},
        question="Remove mei as a reviewer?",
        still_there=lambda: PostmortemReviewer.objects.filter(pk=reviewer.pk).exists(),
    )


def autosave_discard(team, member):
    postmortem = postmortem_start(incident=IncidentFactory(team=team, status="resolved"), actor=member)
    key = postmortem.sections[0]["key"]
    postmortem_autosave(
        postmortem=postmortem, actor=member, based_on=postmortem.version, title="T", content={key: "Half a thought"}
    )
    return Case(
        page=reverse("postmortems:edit", args=[postmortem.pk]),
        action=reverse("postmortems:autosave-discard", args=[postmortem.pk]),
        data={},
        question="Discard your unsaved changes?",
        still_there=lambda: PostmortemAutosave.objects.filter(postmortem=postmortem).exists(),
    )


def secret_rotate(team, member):
    source, secret = source_create(team=team, kind="github", name="fraud-ci")
    return Case(
        page=source.get_absolute_url(),
        action=reverse("incidents:source-rotate-secret", args=[source.pk]),
        data={"grace_seconds": "0"},
        question="Rotate the secret of fraud-ci?",
        still_there=lambda: source_valid_secrets(source=source) == [secret],
    )


def member_remove(team, member):
    membership = MembershipFactory(team=team, user=UserFactory(username="kenji"))
    return Case(
        page=team.get_absolute_url(),
        action=reverse("teams:member-remove", args=[team.slug, membership.pk]),
        data={},
        question=f"Remove kenji from {team.name}?",
        still_there=lambda: Membership.objects.filter(pk=membership.pk).exists(),
    )


def channel_delete(team, member):
    from notifications.models import Channel
    from notifications.services.channels import channel_create

    channel = channel_create(team=team, actor=member, kind="slack", name="#ml-incidents", url=SLACK_URL, events=["*"])
    return Case(
        page=reverse("notifications:channel-detail", args=[team.slug, channel.pk]),
        action=reverse("notifications:channel-delete", args=[team.slug, channel.pk]),
        data={},
        question="Delete #ml-incidents?",
        still_there=lambda: Channel.objects.filter(pk=channel.pk).exists(),
    )


def lesson_dismiss(team, member):
    from postmortems.models import LearningProposal, LearningProposalStatus
    from postmortems.services.learnings import learning_proposals_create
    from tests.postmortems.follow_ups.conftest import make_postmortem

    postmortem = make_postmortem(IncidentFactory(team=team, status="resolved"), lessons="- Rehearse rollbacks.")
    (proposal,) = learning_proposals_create(postmortem=postmortem)
    return Case(
        page=reverse("postmortems:learning-proposals"),
        action=reverse("postmortems:learning-proposal-dismiss", args=[proposal.pk]),
        data={},
        question="Dismiss this lesson?",
        still_there=lambda: LearningProposal.objects.filter(
            pk=proposal.pk, status=LearningProposalStatus.PROPOSED
        ).exists(),
    )


CASES = [
    unlink_deployment,
    unlink_model_version,
    unrelate,
    template_section_remove,
    template_archive,
    reviewer_remove,
    autosave_discard,
    secret_rotate,
    member_remove,
    channel_delete,
    lesson_dismiss,
]


@pytest.fixture
def lead_of_team(team):
    """A lead of the team: allowed every one of these actions."""
    return MembershipFactory(team=team, role=Membership.Role.LEAD, user=UserFactory(username="lucia")).user


@pytest.mark.parametrize("make", CASES, ids=[make.__name__ for make in CASES])
def test_the_button_asks_in_a_dialog(client, team, lead_of_team, make):
    case = make(team, lead_of_team)
    client.force_login(lead_of_team)
    page = client.get(case.page).content.decode()
    assert f'action="{case.action}"' in page
    form = page[page.rindex("<form", 0, page.index(f'action="{case.action}"')) :]
    form = form[: form.index(">")]
    assert "data-confirm=" in form
    assert "js/confirm.js" in page


@pytest.mark.parametrize("make", CASES, ids=[make.__name__ for make in CASES])
def test_without_confirmation_nothing_changes_and_a_page_asks(client, team, lead_of_team, make):
    case = make(team, lead_of_team)
    client.force_login(lead_of_team)
    response = client.post(case.action, case.data)
    assert response.status_code == 200
    assert case.still_there()
    page = response.content.decode()
    assert case.question in page.replace("&#x27;", "'")
    assert f'action="{case.action}"' in page
    assert f'name="{CONFIRM_FIELD}" value="{CONFIRM_VALUE}"' in page
    for name, value in case.data.items():
        assert f'name="{name}" value="{value}"' in page


@pytest.mark.parametrize("make", CASES, ids=[make.__name__ for make in CASES])
def test_the_confirmed_post_does_it(client, team, lead_of_team, make):
    case = make(team, lead_of_team)
    client.force_login(lead_of_team)
    response = client.post(case.action, {**case.data, CONFIRM_FIELD: CONFIRM_VALUE})
    assert response.status_code == 302
    assert not case.still_there()
