"""Every form's errors reach a screen reader after a failed submit.

Each form of the app is sent invalid input, as the demo lead. The page that answers must say so in its title
("Error: …", as GOV.UK does), announce the errors in a summary (role=alert) whose links lead to fields of the
page, mark each invalid control aria-invalid="true", and describe it (aria-describedby on the control, or on
the fieldset or radio group it belongs to) by an error text of the page. Every id an aria-describedby names
must exist.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from postmortems.document import MAX_SECTION_LENGTH

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict
    parent: "Element | None"
    children: list = field(default_factory=list)
    texts: list = field(default_factory=list)

    def text(self) -> str:
        return " ".join(" ".join([*self.texts, *(child.text() for child in self.children)]).split())

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {}, None)
        self.current = self.root
        self.elements: list[Element] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.current = self.current.parent

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.texts.append(data)


def _problems(html: str) -> list[str]:
    """Return what keeps the errors of the page from a screen reader."""
    tree = _Tree()
    tree.feed(html)
    by_id = {element.attrs["id"]: element for element in tree.elements if "id" in element.attrs}
    problems = []
    title = next((element.text() for element in tree.elements if element.tag == "title"), "")
    if not title.startswith("Error: "):
        problems.append(f"the title {title!r} does not start with 'Error: '")

    summaries = [element for element in tree.elements if element.attrs.get("role") == "alert"]
    if not summaries:
        problems.append("no error summary with role=alert")
    for summary in summaries:
        for link in (element for element in tree.elements if element.tag == "a" and summary in element.ancestors()):
            target = link.attrs.get("href", "").removeprefix("#")
            if target not in by_id:
                problems.append(f"the summary links to #{target}, which is not on the page")

    for element in tree.elements:
        for target in element.attrs.get("aria-describedby", "").split():
            if target not in by_id:
                problems.append(f'aria-describedby="{target}" on <{element.tag} name={element.attrs.get("name")}>')

    invalid = [element for element in tree.elements if element.attrs.get("aria-invalid") == "true"]
    error_texts = [
        element
        for element in tree.elements
        if "errorlist" in element.attrs.get("class", "").split() and "nonfield" not in element.attrs.get("class", "")
    ]
    if error_texts and not invalid:
        problems.append(f"errors are shown ({error_texts[0].text()!r}) but no control is aria-invalid")
    for control in invalid:
        groups = (
            node for node in control.ancestors() if node.tag == "fieldset" or node.attrs.get("role") == "radiogroup"
        )
        describers = [control, *groups]
        described = [
            by_id[target]
            for node in describers
            for target in node.attrs.get("aria-describedby", "").split()
            if target in by_id
        ]
        if not any("errorlist" in element.attrs.get("class", "") and element.text() for element in described):
            problems.append(f"<{control.tag} name={control.attrs.get('name')}> is invalid but names no error text")
    for error in error_texts:
        if not any(
            error.attrs.get("id") and error.attrs["id"] in node.attrs.get("aria-describedby", "").split()
            for node in tree.elements
        ):
            problems.append(f"the error {error.text()!r} describes no control")
    return problems


def _cases() -> list[tuple[str, str, dict, str]]:
    """Return (form, path, invalid data, who sends it) for each form of the app, from the demo organisation."""
    from experiments.models import GameDay, GameDayState
    from experiments.services.experiments import experiment_start
    from experiments.services.game_days import game_day_start
    from incidents.models import Incident, RegisteredModel, Source
    from postmortems.models import ActionItem, Postmortem, PostmortemStatus
    from postmortems.services.templates import template_create
    from teams.models import Team

    team = Team.objects.order_by("pk").first()
    incident = Incident.objects.filter(postmortem__isnull=True).order_by("pk").first()
    any_incident = Incident.objects.order_by("pk").first()
    source = Source.objects.order_by("pk").first()
    template = template_create(team=team, name="Serving outage review")
    section = template.sections.order_by("pk").first()
    action = ActionItem.objects.order_by("pk").first()
    model = RegisteredModel.objects.filter(versions__isnull=False).order_by("pk").first()
    experiment = experiment_start(
        team=model.team,
        model=model,
        environment="staging-forms",
        candidate_version=model.versions.order_by("pk").last(),
        started_at=Incident.objects.order_by("started_at").first().started_at - timedelta(days=1),
    )
    # An incident of the running experiment's model, begun while it runs, may be attached to one of its arms.
    rollout_incident = next(
        item
        for item in Incident.objects.filter(team_id=experiment.team_id).order_by("pk")
        if not item.experiment_links.exists()
    )
    Incident.objects.filter(pk=rollout_incident.pk).update(model_id=experiment.model_id)
    planned = GameDay.objects.filter(state=GameDayState.PLANNED).order_by("pk").first()
    game_day = game_day_start(game_day=planned, actor=planned.facilitator)
    draft = Postmortem.objects.filter(status=PostmortemStatus.DRAFT).order_by("-version", "pk").first()
    first_key = draft.sections[0]["key"]
    too_long = "x" * (MAX_SECTION_LENGTH + 1)
    editor = {"based_on": draft.version, "shown": first_key, f"section-{first_key}": too_long, "title": draft.title}
    severity_rows = {"severity-TOTAL_FORMS": "0", "severity-INITIAL_FORMS": "0"}
    return [
        ("sign-in", "/accounts/login/", {"username": "", "password": ""}, None),
        ("sign-in refused", "/accounts/login/", {"username": "demo", "password": "not the password"}, None),
        ("team member", f"/teams/{team.slug}/members/add/", {"username": "", "role": "nobody"}, "demo"),
        ("team settings", f"/teams/{team.slug}/settings/", {"name": ""}, "demo"),
        ("digest", "/digest/preferences/", {"followed_teams": ["999999"]}, "demo"),
        ("source", "/sources/new/", {"name": "", **severity_rows}, "demo"),
        ("source options", f"/sources/{source.pk}/edit/", {"name": "", **severity_rows}, "demo"),
        ("source secret", f"/sources/{source.pk}/rotate-secret/", {"grace_hours": "-4"}, "demo"),
        ("incident", "/incidents/new/", {"title": ""}, "demo"),
        ("incident edit", f"/incidents/{any_incident.pk}/edit/", {"title": ""}, "demo"),
        ("incident severity", f"/incidents/{any_incident.pk}/severity/", {"severity": "SEV9"}, "demo"),
        ("incident owner", f"/incidents/{any_incident.pk}/owner/", {"owner": "999999"}, "demo"),
        ("incident milestones", f"/incidents/{any_incident.pk}/milestones/", {"started_at": "yesterday"}, "demo"),
        ("incident note", f"/incidents/{any_incident.pk}/notes/", {"text": ""}, "demo"),
        ("incident relation", f"/incidents/{any_incident.pk}/related/", {"reference": ""}, "demo"),
        ("incident experiment", f"/incidents/{rollout_incident.pk}/experiment/", {"experiment": "999999"}, "demo"),
        ("post-mortem start", f"/postmortems/start/{incident.pk}/", {"template": "999999"}, "demo"),
        ("post-mortem editor", f"/postmortems/{draft.pk}/edit/", {**editor, "mode": "all"}, "demo"),
        ("guided post-mortem", f"/postmortems/{draft.pk}/edit/?mode=guided", {**editor, "mode": "guided"}, "demo"),
        ("template", "/postmortems/templates/", {"name": ""}, "demo"),
        ("template edit", f"/postmortems/templates/{template.pk}/edit/", {"name": ""}, "demo"),
        ("template section", f"/postmortems/templates/{template.pk}/sections/", {"title": ""}, "demo"),
        (
            "template section edit",
            f"/postmortems/templates/{template.pk}/sections/{section.pk}/",
            {"title": ""},
            "demo",
        ),
        ("action item", "/actions/new/", {"postmortem": draft.pk, "title": ""}, "demo"),
        ("action item edit", f"/actions/{action.pk}/edit/", {"title": ""}, "demo"),
        ("action item status", f"/actions/{action.pk}/status/", {"status": "nowhere"}, "demo"),
        ("learning", "/learnings/new/", {"title": ""}, "demo"),
        ("channel", f"/teams/{team.slug}/channels/new/", {"name": "", "kind": "email"}, "demo"),
        ("experiment step", f"/experiments/{experiment.pk}/steps/", {"candidate_share": "140"}, "demo"),
        ("experiment outcome", f"/experiments/{experiment.pk}/conclude/", {"outcome": "maybe"}, "demo"),
        ("game day", "/game-days/new/", {"title": ""}, "demo"),
        ("game day edit", f"/game-days/{game_day.pk}/edit/", {"title": ""}, "demo"),
        ("game day finish", f"/game-days/{game_day.pk}/finish/", {"held": "perhaps"}, "demo"),
        ("game day abort", f"/game-days/{game_day.pk}/abort/", {"reason": ""}, "demo"),
    ]


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)


def test_every_forms_errors_reach_a_screen_reader(client, demo):
    cases = _cases()
    problems = {}
    for name, path, data, username in cases:
        client.logout()
        if username:
            client.force_login(get_user_model().objects.get(username=username))
        response = client.post(path, data)
        if response.status_code in (301, 302):
            problems[name] = [f"{path} redirected to {response['Location']}: the errors left their fields"]
            continue
        if response.status_code != 400 and response.status_code != 200:
            problems[name] = [f"{path} answered {response.status_code}"]
            continue
        found = _problems(response.content.decode())
        if found:
            problems[name] = found
    assert problems == {}, "\n".join(f"{name}: {found}" for name, found in problems.items())
