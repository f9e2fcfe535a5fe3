"""Differences between two versions of a post-mortem: line by line, changed words marked."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from postmortems.document import empty_value, factors_text, section_text
from postmortems.models import SectionKind

CONTEXT_LINES = 2
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass
class DiffLine:
    kind: str  # "same", "added", "removed" or "gap"
    html: SafeString
    old_number: int | None = None
    new_number: int | None = None


@dataclass
class SectionDiff:
    key: str
    title: str
    lines: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _words(old: str, new: str) -> tuple[str, str]:
    """Return both lines as HTML, the words only in the old one in <del>, only in the new one in <ins>.

    Changed words separated only by blanks are marked as one change, so a
    rewritten phrase reads as a phrase.
    """
    before, after = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[list] = []  # [changed, old text, new text]
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        segments.append([tag != "equal", "".join(before[i1:i2]), "".join(after[j1:j2])])
    merged: list[list] = []
    for index, segment in enumerate(segments):
        blank_between_changes = (
            not segment[0]
            and not segment[1].strip()
            and 0 < index < len(segments) - 1
            and segments[index - 1][0]
            and segments[index + 1][0]
        )
        if (segment[0] or blank_between_changes) and merged and merged[-1][0]:
            merged[-1][1] += segment[1]
            merged[-1][2] += segment[2]
        else:
            merged.append([segment[0] or blank_between_changes, segment[1], segment[2]])
    old_html, new_html = [], []
    for changed, removed, added in merged:
        if not changed:
            old_html.append(escape(removed))
            new_html.append(escape(added))
            continue
        if removed:
            old_html.append(f"<del>{escape(removed)}</del>")
        if added:
            new_html.append(f"<ins>{escape(added)}</ins>")
    return "".join(old_html), "".join(new_html)


def diff_text(old: str, new: str, *, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """Return the changed lines of ``new`` against ``old`` with a little context; empty when equal."""
    old_lines, new_lines = (old or "").splitlines(), (new or "").splitlines()
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    lines: list[DiffLine] = []
    for group_number, group in enumerate(matcher.get_grouped_opcodes(context)):
        if group_number:
            lines.append(DiffLine("gap", mark_safe("…")))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset, line in enumerate(old_lines[i1:i2]):
                    lines.append(DiffLine("same", escape(line), i1 + offset + 1, j1 + offset + 1))
                continue
            removed, added = old_lines[i1:i2], new_lines[j1:j2]
            paired = min(len(removed), len(added)) if tag == "replace" else 0
            old_html, new_html = [], []
            for index in range(paired):
                before, after = _words(removed[index], added[index])
                old_html.append(before)
                new_html.append(after)
            old_html += [f"<del>{escape(line)}</del>" if line.strip() else "" for line in removed[paired:]]
            new_html += [f"<ins>{escape(line)}</ins>" if line.strip() else "" for line in added[paired:]]
            for offset, html in enumerate(old_html):
                lines.append(DiffLine("removed", mark_safe(html), old_number=i1 + offset + 1))  # noqa: S308 - escaped above
            for offset, html in enumerate(new_html):
                lines.append(DiffLine("added", mark_safe(html), new_number=j1 + offset + 1))  # noqa: S308 - escaped above
    return lines


def _section_diff(key: str, title: str, old: str, new: str) -> SectionDiff:
    lines = diff_text(old, new)
    return SectionDiff(
        key=key,
        title=title,
        lines=lines,
        added=sum(1 for line in lines if line.kind == "added"),
        removed=sum(1 for line in lines if line.kind == "removed"),
    )


def diff_versions(
    *,
    sections: Sequence[dict],
    old_title: str,
    new_title: str,
    old_content: Mapping,
    new_content: Mapping,
    old_factors: Sequence[Mapping] = (),
    new_factors: Sequence[Mapping] = (),
) -> list[SectionDiff]:
    """Return one diff per part of the post-mortem (title, each section), in reading order."""
    diffs = [_section_diff("title", "Title", old_title, new_title)]
    for section in sections:
        key = section["key"]
        old = section_text(section, old_content.get(key, empty_value(section)))
        new = section_text(section, new_content.get(key, empty_value(section)))
        if section["kind"] == SectionKind.CONTRIBUTING_FACTORS:
            old = "\n\n".join(part for part in (factors_text(old_factors), old) if part)
            new = "\n\n".join(part for part in (factors_text(new_factors), new) if part)
        diffs.append(_section_diff(key, section["title"], old, new))
    return diffs
