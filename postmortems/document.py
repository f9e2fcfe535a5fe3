"""A post-mortem's content as plain data: section values, their text, and the Markdown export.

Pure functions over the ``sections`` snapshot (list of dicts) and the ``content``
mapping (section key to value) kept on Postmortem and PostmortemVersion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from postmortems.models.templates import SectionKind

MAX_SECTION_LENGTH = 50_000
MAX_WHY_STEPS = 20
MIN_WHY_STEPS = 3
MAX_FACTORS = 50

SECTION_TOO_LONG = "{title} is longer than {limit} characters."
SECTION_NOT_TEXT = "{title} must be text."
WHY_CHAIN_NOT_STEPS = '{title} must be a list of steps, each {{"why": ..., "because": ...}}.'
WHY_CHAIN_TOO_LONG = "{title} has more than {limit} steps."
UNKNOWN_SECTION = "This post-mortem has no section {key!r}."


class ContentError(ValueError):
    """Content that does not fit the post-mortem's sections; the message is meant for people."""


def section_map(sections: Sequence[dict]) -> dict[str, dict]:
    return {section["key"]: section for section in sections}


def empty_value(section: Mapping) -> str | list:
    return [] if section["kind"] == SectionKind.WHY_CHAIN else ""


def normalise_value(section: Mapping, value) -> str | list[dict]:
    """Return the value in its stored shape, or raise ContentError saying what is wrong."""
    title = section["title"]
    if section["kind"] == SectionKind.WHY_CHAIN:
        if not isinstance(value, list):
            raise ContentError(WHY_CHAIN_NOT_STEPS.format(title=title))
        steps = []
        for step in value:
            if not isinstance(step, Mapping):
                raise ContentError(WHY_CHAIN_NOT_STEPS.format(title=title))
            why, because = step.get("why", ""), step.get("because", "")
            if not isinstance(why, str) or not isinstance(because, str):
                raise ContentError(WHY_CHAIN_NOT_STEPS.format(title=title))
            why, because = why.strip(), because.strip()
            if len(why) + len(because) > MAX_SECTION_LENGTH:
                raise ContentError(SECTION_TOO_LONG.format(title=title, limit=MAX_SECTION_LENGTH))
            if why or because:
                steps.append({"why": why, "because": because})
        if len(steps) > MAX_WHY_STEPS:
            raise ContentError(WHY_CHAIN_TOO_LONG.format(title=title, limit=MAX_WHY_STEPS))
        return steps
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ContentError(SECTION_NOT_TEXT.format(title=title))
    # Line endings from browsers differ; keep one kind so versions diff cleanly.
    value = value.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if len(value) > MAX_SECTION_LENGTH:
        raise ContentError(SECTION_TOO_LONG.format(title=title, limit=MAX_SECTION_LENGTH))
    return value


def normalise_content(sections: Sequence[dict], content: Mapping) -> dict:
    """Return ``content`` checked against the sections; raise ContentError for unknown keys or bad values."""
    by_key = section_map(sections)
    result = {}
    for key, value in content.items():
        if key not in by_key:
            raise ContentError(UNKNOWN_SECTION.format(key=key))
        result[key] = normalise_value(by_key[key], value)
    return result


def section_text(section: Mapping, value) -> str:
    """Return the section's value as Markdown (a chain of whys becomes a numbered list)."""
    if section["kind"] == SectionKind.WHY_CHAIN:
        lines = []
        for number, step in enumerate(value or [], start=1):
            lines.append(f"{number}. **Why?** {step.get('why', '')}")
            lines.append(f"   **Because** {step.get('because', '')}")
        return "\n".join(lines)
    return value or ""


def texts_to_check(section: Mapping, value) -> list[tuple[str, str]]:
    """Return (part, text) pairs the coach reads in a section; parts keep a why chain's fields apart."""
    if section["kind"] == SectionKind.WHY_CHAIN:
        parts = []
        for index, step in enumerate(value or []):
            parts.append((f"{index}.why", step.get("why", "")))
            parts.append((f"{index}.because", step.get("because", "")))
        return parts
    return [("", value or "")]


def is_filled(section: Mapping, value, *, factor_count: int = 0) -> bool:
    """Return whether a required section is answered well enough to ask for review."""
    kind = section["kind"]
    if kind == SectionKind.WHY_CHAIN:
        complete = [step for step in value or [] if step.get("why") and step.get("because")]
        return len(complete) >= MIN_WHY_STEPS
    if kind == SectionKind.CONTRIBUTING_FACTORS:
        return factor_count > 0
    return bool((value or "").strip())


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*\S)\s*$")


def lessons_from_text(text: str) -> list[str]:
    """Return the lessons in a "lessons learned" text: its list items, or else its paragraphs."""
    lines = (text or "").splitlines()
    items = [match.group(1) for line in lines if (match := _LIST_ITEM.match(line))]
    if items:
        return items
    return [paragraph.strip() for paragraph in re.split(r"\n\s*\n", text or "") if paragraph.strip()]


def factors_text(factors: Iterable[Mapping]) -> str:
    """Return contributing factors (snapshot dicts) as a Markdown list."""
    lines = []
    for factor in factors:
        links = ", ".join(link for link in (factor.get("model_version_label"), factor.get("deployment_label")) if link)
        suffix = f" _({links})_" if links else ""
        description = " ".join(str(factor.get("description", "")).split())
        lines.append(f"- **{factor.get('category_label', factor.get('category', ''))}**: {description}{suffix}")
    return "\n".join(lines)


def to_markdown(
    *,
    title: str,
    sections: Sequence[dict],
    content: Mapping,
    factors: Sequence[Mapping],
    header: Sequence[str] = (),
) -> str:
    """Return the whole post-mortem as one Markdown document."""
    parts = [f"# {title}", ""]
    if header:
        parts.extend([*header, ""])
    for section in sections:
        value = content.get(section["key"], empty_value(section))
        body = section_text(section, value).strip()
        if section["kind"] == SectionKind.CONTRIBUTING_FACTORS and factors:
            body = "\n\n".join(part for part in (factors_text(factors), body) if part)
        parts.extend([f"## {section['title']}", "", body or "_Not written._", ""])
    return "\n".join(parts).rstrip() + "\n"
