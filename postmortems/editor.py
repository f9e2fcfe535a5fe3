"""The editor's form: reading sections out of a POST, laying them out with previews, merging conflicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from postmortems.coach import Coach
from postmortems.document import (
    MAX_WHY_STEPS,
    MIN_WHY_STEPS,
    ContentError,
    empty_value,
    is_filled,
    normalise_value,
    section_text,
    texts_to_check,
)
from postmortems.models import SectionKind
from postmortems.rendering import render_with_findings
from postmortems.services.postmortems import FactorInput

SHOWN_FIELD = "shown"
FACTORS_PREFIX = "factors"


def text_field(key: str) -> str:
    return f"section-{key}"


def step_field(key: str, index: int, part: str) -> str:
    return f"section-{key}-{index}-{part}"


def rows_field(key: str) -> str:
    return f"section-{key}-rows"


def shown_keys(data: Mapping, sections: Sequence[dict]) -> list[str]:
    """Return the keys of the sections the submitted form showed (all of them when unsaid)."""
    known = [section["key"] for section in sections]
    raw = data.get(SHOWN_FIELD)
    if raw is None:
        return known
    wanted = {key.strip() for key in str(raw).split(",")}
    return [key for key in known if key in wanted]


def parse_sections(data: Mapping, sections: Sequence[dict], keys: Sequence[str]) -> tuple[dict, dict[str, str]]:
    """Return the content of the given sections read from form data, and errors by section key."""
    content: dict = {}
    errors: dict[str, str] = {}
    for section in sections:
        key = section["key"]
        if key not in keys:
            continue
        if section["kind"] == SectionKind.WHY_CHAIN:
            try:
                rows = min(int(data.get(rows_field(key), 0)), MAX_WHY_STEPS + 5)
            except (TypeError, ValueError):
                rows = 0
            rows = max(rows, 0)
            raw = [
                {
                    "why": data.get(step_field(key, index, "why"), ""),
                    "because": data.get(step_field(key, index, "because"), ""),
                }
                for index in range(rows)
            ]
        else:
            raw = data.get(text_field(key), "")
        try:
            content[key] = normalise_value(section, raw)
        except ContentError as error:
            errors[key] = str(error)
    return content, errors


def factor_inputs(formset) -> list[FactorInput]:
    """Return the contributing factors of a valid factor formset."""
    inputs = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data:
            continue
        inputs.append(
            FactorInput(
                id=data.get("id"),
                category=data.get("category") or "",
                description=data.get("description") or "",
                model_version_id=data.get("model_version"),
                deployment_id=data.get("deployment"),
                delete=bool(data.get("DELETE")),
            )
        )
    return inputs


@dataclass
class SectionBlock:
    """One section as the editor and the reading page show it."""

    section: dict
    value: object
    html: str = ""
    findings: list = field(default_factory=list)
    error: str = ""
    steps: list[dict] = field(default_factory=list)
    filled: bool = False

    @property
    def key(self) -> str:
        return self.section["key"]

    @property
    def text(self) -> str:
        return self.value if isinstance(self.value, str) else ""


def build_blocks(
    *,
    sections: Sequence[dict],
    content: Mapping,
    coach: Coach,
    factor_count: int = 0,
    keys: Sequence[str] | None = None,
    errors: Mapping[str, str] | None = None,
    blank_steps: bool = True,
) -> list[SectionBlock]:
    """Return the sections with their values, highlighted preview and findings (only ``keys`` when given)."""
    errors = errors or {}
    blocks = []
    for section in sections:
        if keys is not None and section["key"] not in keys:
            continue
        value = content.get(section["key"], empty_value(section))
        block = SectionBlock(section=section, value=value, error=errors.get(section["key"], ""))
        block.filled = is_filled(section, value, factor_count=factor_count)
        if section["kind"] == SectionKind.WHY_CHAIN:
            steps = [dict(step) for step in value or []]
            for step in steps:
                step["why_html"] = render_with_findings(step.get("why", ""), coach.check(step.get("why", "")))
                step["because_html"] = render_with_findings(
                    step.get("because", ""), coach.check(step.get("because", ""))
                )
            if blank_steps:
                steps += [{"why": "", "because": ""} for _ in range(max(MIN_WHY_STEPS - len(steps), 1))]
            block.steps = steps
            block.findings = [finding for _, text in texts_to_check(section, value) for finding in coach.check(text)]
            block.html = ""
        else:
            block.findings = coach.check(value or "")
            block.html = render_with_findings(value or "", block.findings)
        blocks.append(block)
    return blocks


# Merging ---------------------------------------------------------------------------

SAME = "same"
MINE = "mine"
THEIRS = "theirs"
CONFLICT = "conflict"


@dataclass
class MergeItem:
    """One section of a conflicting save: what it was, what they saved, what you wrote."""

    section: dict
    status: str
    base: object
    theirs: object
    mine: object
    merged: object

    @property
    def key(self) -> str:
        return self.section["key"]

    def text(self, which: str) -> str:
        return section_text(self.section, getattr(self, which))


def merge_sections(
    *, sections: Sequence[dict], base: Mapping, theirs: Mapping, mine: Mapping, keys: Sequence[str]
) -> list[MergeItem]:
    """Return a three-way merge of the submitted sections.

    A section only one side changed takes that side's text; a section both
    changed differently is a conflict, proposed with your text for you to edit.
    """
    items = []
    for section in sections:
        key = section["key"]
        if key not in keys:
            continue
        empty = empty_value(section)
        was, now, yours = base.get(key, empty), theirs.get(key, empty), mine.get(key, empty)
        if yours == now:
            status, merged = SAME, now
        elif now == was:
            status, merged = MINE, yours
        elif yours == was:
            status, merged = THEIRS, now
        else:
            status, merged = CONFLICT, yours
        items.append(MergeItem(section=section, status=status, base=was, theirs=now, mine=yours, merged=merged))
    return items
