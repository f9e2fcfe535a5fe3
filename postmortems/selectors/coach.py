"""The coach as the organisation configured it, and its findings on post-mortems."""

from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth import get_user_model

from postmortems import coach as coach_module
from postmortems.coach import Coach, Finding, Rule, builtin_rules, fingerprints, merge_rules
from postmortems.document import texts_to_check
from postmortems.models import CoachAcknowledgement, CoachRule, CoachRuleKind, Postmortem

User = get_user_model()

TITLE_KEY = "title"
FACTOR_KEY_PREFIX = "factor-"


@dataclass(frozen=True)
class SectionFinding:
    """A finding of the coach in one part of a post-mortem."""

    section_key: str
    section_title: str
    finding: Finding
    fingerprint: str
    acknowledged: bool = False

    @property
    def anchor(self) -> str:
        """Return the id of the page element that holds the finding."""
        if self.section_key.startswith(FACTOR_KEY_PREFIX):
            return "factors"
        if self.section_key == TITLE_KEY:
            return "title"
        return f"section-{self.section_key.split('.')[0]}"

    def as_dict(self) -> dict:
        return {
            "section": self.section_key,
            "anchor": self.anchor,
            "section_title": self.section_title,
            "fingerprint": self.fingerprint,
            "acknowledged": self.acknowledged,
            **self.finding.as_dict(),
        }


def organisation_names() -> tuple[str, ...]:
    """Return the first, last, full and user names of the organisation's active people."""
    names: set[str] = set()
    for first, last, username in User.objects.filter(is_active=True).values_list("first_name", "last_name", "username"):
        names.update(part for part in (first, last, username, f"{first} {last}".strip()) if part)
    return tuple(sorted(names))


def coach_rules() -> list[Rule]:
    """Return the built-in rules with the organisation's additions, replacements and switched-off rules."""
    extra, disabled = [], []
    for row in CoachRule.objects.all():
        if not row.is_active:
            disabled.append(row.rule_id)
            continue
        item = {
            "id": row.rule_id,
            "title": row.title,
            "kind": row.kind,
            "explanation": row.explanation,
            "reframing": row.reframing,
        }
        if row.kind == CoachRuleKind.PATTERN:
            item["pattern"] = row.pattern
        else:
            item["terms"] = row.terms.splitlines()
        try:
            extra.extend(coach_module.rules_from_data([item]))
        except coach_module.RuleError:
            # A rule saved before validation existed must not take the coach down.
            continue
    return merge_rules(builtin_rules(), extra, disabled)


@lru_cache(maxsize=8)
def _compiled(rules: tuple[Rule, ...], names: tuple[str, ...]) -> Coach:
    return Coach(rules, names=names)


def organisation_coach() -> Coach:
    """Return the coach with the organisation's rules and people's names, compiled once per configuration."""
    return _compiled(tuple(coach_rules()), organisation_names())


def text_findings(*, text: str) -> list[Finding]:
    """Return the organisation coach's findings in a piece of text."""
    return organisation_coach().check(text)


def document_findings(
    *,
    sections: list[dict],
    content: dict,
    title: str = "",
    factors: list[dict] = (),
    acknowledged: set[str] = frozenset(),
    coach: Coach | None = None,
) -> list[SectionFinding]:
    """Return the findings in a post-mortem's title, sections and contributing factors, in reading order.

    ``factors`` are dicts with a ``key`` (stable per factor) and a ``description``.
    """
    coach = coach or organisation_coach()
    results: list[SectionFinding] = []

    def add(key: str, label: str, text: str) -> None:
        found = coach.check(text)
        for finding, fingerprint in zip(found, fingerprints(key, found), strict=True):
            results.append(SectionFinding(key, label, finding, fingerprint, fingerprint in acknowledged))

    if title:
        add(TITLE_KEY, "Title", title)
    for section in sections:
        value = content.get(section["key"])
        for part, text in texts_to_check(section, value):
            add(f"{section['key']}.{part}" if part else section["key"], section["title"], text)
        if section["kind"] == "contributing_factors":
            for factor in factors:
                add(f"{FACTOR_KEY_PREFIX}{factor['key']}", f"{section['title']}: factor", factor["description"])
    return results


def postmortem_findings(*, postmortem: Postmortem, coach: Coach | None = None) -> list[SectionFinding]:
    """Return the findings in the post-mortem as saved, each marked acknowledged or open."""
    acknowledged = set(CoachAcknowledgement.objects.filter(postmortem=postmortem).values_list("fingerprint", flat=True))
    factors = [{"key": factor.pk, "description": factor.description} for factor in postmortem.factors.all()]
    return document_findings(
        sections=postmortem.sections,
        content=postmortem.content,
        title=postmortem.title,
        factors=factors,
        acknowledged=acknowledged,
        coach=coach,
    )
