"""Writes to post-mortem templates: the built-in ones, and the ones teams make."""

from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify

from incidents.models import IncidentKind
from postmortems.builtin_templates import BUILTIN_REVISION, BUILTIN_TEMPLATES
from postmortems.models import SectionKind, SectionPrefill, Template, TemplateSection

TEMPLATE_NAME_TAKEN = "Your team already has a template called {name!r}."
TEMPLATE_NAME_REQUIRED = "Give the template a name."
BUILTIN_READ_ONLY = "Built-in templates cannot be changed: copy it into your team and edit the copy."
SECTION_KEY_TAKEN = "This template already has a section with the key {key!r}."
SECTION_TITLE_REQUIRED = "Give the section a title."
SECTION_PROMPT_REQUIRED = "Give the section a prompt: the question it answers."
LAST_SECTION = "A template needs at least one section."
UNKNOWN_INCIDENT_KIND = "Unknown incident kind {kind!r}; use one of: {allowed}."
MAX_SECTIONS = 40


class TemplateError(Exception):
    """A change to a template that breaks a rule; the message is meant for people."""


def template_builtins_ensure() -> None:
    """Create the built-in templates, or bring them up to the current definitions; cheap when they are."""
    stored = dict(Template.objects.filter(builtin_key__isnull=False).values_list("builtin_key", "builtin_revision"))
    if len(stored) == len(BUILTIN_TEMPLATES) and all(rev >= BUILTIN_REVISION for rev in stored.values()):
        return
    with transaction.atomic():
        for definition in BUILTIN_TEMPLATES:
            if stored.get(definition["key"], -1) >= BUILTIN_REVISION:
                continue
            template, _ = Template.objects.select_for_update().get_or_create(
                builtin_key=definition["key"], defaults={"name": definition["name"]}
            )
            if template.builtin_revision >= BUILTIN_REVISION:
                continue
            template.name = definition["name"]
            template.description = definition["description"]
            template.incident_kinds = list(definition["incident_kinds"])
            template.builtin_revision = BUILTIN_REVISION
            template.save()
            template.sections.all().delete()
            TemplateSection.objects.bulk_create(
                TemplateSection(template=template, position=position, **section)
                for position, section in enumerate(definition["sections"])
            )


def _check_kinds(kinds) -> list[str]:
    kinds = list(dict.fromkeys(kinds or []))
    for kind in kinds:
        if kind not in IncidentKind.values:
            raise TemplateError(UNKNOWN_INCIDENT_KIND.format(kind=kind, allowed=", ".join(IncidentKind.values)))
    return kinds


def _check_name(*, team, name: str, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise TemplateError(TEMPLATE_NAME_REQUIRED)
    taken = Template.objects.filter(team=team, name__iexact=name).exclude(pk=exclude_pk)
    if taken.exists():
        raise TemplateError(TEMPLATE_NAME_TAKEN.format(name=name))
    return name


@transaction.atomic
def template_create(
    *,
    team,
    name: str,
    description: str = "",
    incident_kinds: list[str] | None = None,
    copy_from: Template | None = None,
    actor=None,
) -> Template:
    """Create a team template: a copy of ``copy_from``'s sections, or one summary section to start with."""
    template = Template.objects.create(
        team=team,
        name=_check_name(team=team, name=name),
        description=description.strip(),
        incident_kinds=_check_kinds(incident_kinds),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if copy_from is not None:
        TemplateSection.objects.bulk_create(
            TemplateSection(
                template=template,
                key=section.key,
                title=section.title,
                prompt=section.prompt,
                help_text=section.help_text,
                kind=section.kind,
                required=section.required,
                prefill=section.prefill,
                position=position,
            )
            for position, section in enumerate(copy_from.sections.all())
        )
    else:
        TemplateSection.objects.create(
            template=template,
            key="summary",
            title="Summary",
            prompt="What happened, in two or three sentences?",
            kind=SectionKind.MARKDOWN,
            required=True,
            prefill=SectionPrefill.SUMMARY,
            position=0,
        )
    return template


def _lock_template(template: Template) -> None:
    """Lock the template's row: changes to its sections are then applied one after the other."""
    list(Template.objects.select_for_update().filter(pk=template.pk).order_by().values_list("pk", flat=True))


def _editable(template: Template) -> None:
    if template.is_builtin:
        raise TemplateError(BUILTIN_READ_ONLY)


def template_update(
    *, template: Template, name: str, description: str = "", incident_kinds: list[str] | None = None
) -> Template:
    """Rename or describe a team template, and set which incident kinds it is the default for."""
    _editable(template)
    template.name = _check_name(team=template.team, name=name, exclude_pk=template.pk)
    template.description = description.strip()
    template.incident_kinds = _check_kinds(incident_kinds)
    template.save()
    return template


def template_archive(*, template: Template, active: bool = False) -> Template:
    """Hide a team template from new post-mortems (or bring it back); written ones keep their copy."""
    _editable(template)
    template.is_active = active
    template.save(update_fields=["is_active", "updated_at"])
    return template


def _section_fields(*, title: str, prompt: str, kind: str, prefill: str) -> None:
    if not (title or "").strip():
        raise TemplateError(SECTION_TITLE_REQUIRED)
    if not (prompt or "").strip():
        raise TemplateError(SECTION_PROMPT_REQUIRED)
    if kind not in SectionKind.values:
        raise TemplateError(f"Unknown section kind {kind!r}.")
    if prefill not in SectionPrefill.values:
        raise TemplateError(f"Unknown pre-fill {prefill!r}.")


def _free_key(template: Template, title: str) -> str:
    base = slugify(title)[:50] or "section"
    taken = set(template.sections.values_list("key", flat=True))
    key, number = base, 2
    while key in taken:
        key = f"{base}-{number}"
        number += 1
    return key


@transaction.atomic
def template_section_add(
    *,
    template: Template,
    title: str,
    prompt: str,
    key: str = "",
    help_text: str = "",
    kind: str = SectionKind.MARKDOWN,
    required: bool = False,
    prefill: str = SectionPrefill.NONE,
) -> TemplateSection:
    """Append a section to a team template; the key defaults to one made from the title."""
    _editable(template)
    _lock_template(template)
    _section_fields(title=title, prompt=prompt, kind=kind, prefill=prefill)
    if template.sections.count() >= MAX_SECTIONS:
        raise TemplateError(f"A template has at most {MAX_SECTIONS} sections.")
    if key:
        if template.sections.filter(key=key).exists():
            raise TemplateError(SECTION_KEY_TAKEN.format(key=key))
    else:
        key = _free_key(template, title)
    last = template.sections.aggregate(last=Max("position"))["last"]
    return TemplateSection.objects.create(
        template=template,
        key=key,
        title=title.strip(),
        prompt=prompt.strip(),
        help_text=help_text.strip(),
        kind=kind,
        required=required,
        prefill=prefill,
        position=0 if last is None else last + 1,
    )


def template_section_update(
    *,
    section: TemplateSection,
    title: str,
    prompt: str,
    help_text: str = "",
    kind: str = SectionKind.MARKDOWN,
    required: bool = False,
    prefill: str = SectionPrefill.NONE,
) -> TemplateSection:
    """Change a section of a team template; post-mortems written from it keep their copy."""
    _editable(section.template)
    _section_fields(title=title, prompt=prompt, kind=kind, prefill=prefill)
    section.title = title.strip()
    section.prompt = prompt.strip()
    section.help_text = help_text.strip()
    section.kind = kind
    section.required = required
    section.prefill = prefill
    section.save()
    return section


@transaction.atomic
def template_section_move(*, section: TemplateSection, offset: int) -> None:
    """Move a section up (negative offset) or down among its template's sections."""
    _editable(section.template)
    _lock_template(section.template)
    ordered = list(TemplateSection.objects.filter(template_id=section.template_id).order_by("position", "id"))
    index = next(i for i, item in enumerate(ordered) if item.pk == section.pk)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    for position, item in enumerate(ordered):
        item.position = position
    TemplateSection.objects.bulk_update(ordered, ["position"])


@transaction.atomic
def template_section_delete(*, section: TemplateSection) -> None:
    """Remove a section from a team template, keeping at least one."""
    _editable(section.template)
    _lock_template(section.template)
    if TemplateSection.objects.filter(template_id=section.template_id).count() <= 1:
        raise TemplateError(LAST_SECTION)
    section.delete()


@transaction.atomic
def template_sections_replace(*, template: Template, sections: list[dict]) -> list[TemplateSection]:
    """Replace a team template's sections with the given ones (dicts of section fields), in order."""
    _editable(template)
    if not sections:
        raise TemplateError(LAST_SECTION)
    if len(sections) > MAX_SECTIONS:
        raise TemplateError(f"A template has at most {MAX_SECTIONS} sections.")
    rows, keys = [], set()
    for position, section in enumerate(sections):
        title, prompt = section.get("title", ""), section.get("prompt", "")
        kind, prefill = section.get("kind", SectionKind.MARKDOWN), section.get("prefill", SectionPrefill.NONE)
        _section_fields(title=title, prompt=prompt, kind=kind, prefill=prefill)
        key = section.get("key") or slugify(title)[:50] or "section"
        if key in keys:
            if section.get("key"):
                raise TemplateError(SECTION_KEY_TAKEN.format(key=key))
            base, number = key, 2
            while key in keys:
                key, number = f"{base}-{number}", number + 1
        keys.add(key)
        rows.append(
            TemplateSection(
                template=template,
                key=key,
                title=title.strip(),
                prompt=prompt.strip(),
                help_text=(section.get("help_text") or "").strip(),
                kind=kind,
                required=bool(section.get("required")),
                prefill=prefill,
                position=position,
            )
        )
    template.sections.all().delete()
    return TemplateSection.objects.bulk_create(rows)
