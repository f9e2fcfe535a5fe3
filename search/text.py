"""Plain text for search, and safe highlighted snippets of it. Pure functions, no database."""

import re
from collections.abc import Iterable, Mapping, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_BODY_LENGTH = 100_000
MAX_TERMS = 8
# Markers PostgreSQL's ts_headline puts around matches; control characters never typed by people.
START_MARK = "\x02"
STOP_MARK = "\x03"

_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_PREFIX = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE)
_MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__|`+|~~)")
_SPACES = re.compile(r"[ \t]+")
_WORD = re.compile(r"\w+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop control characters (the headline markers among them) and cut at MAX_BODY_LENGTH."""
    return _CONTROL.sub("", text)[:MAX_BODY_LENGTH]


def plain_text(markdown: str) -> str:
    """Return Markdown as plain text: links keep their words, markers of lists, headings and emphasis go."""
    text = _MARKDOWN_LINK.sub(r"\1", markdown or "")
    text = _MARKDOWN_PREFIX.sub("", text)
    text = _MARKDOWN_EMPHASIS.sub("", text)
    return _SPACES.sub(" ", text).strip()


def postmortem_text(*, sections: Sequence[Mapping], content: Mapping, factors: Iterable[str] = ()) -> str:
    """Return the text of every section of a post-mortem, in order, then its contributing factors."""
    parts = []
    for section in sections:
        value = content.get(section.get("key"))
        if isinstance(value, list):
            value = "\n".join(
                f"{step.get('why', '')} {step.get('because', '')}" for step in value if isinstance(step, Mapping)
            )
        if isinstance(value, str) and value.strip():
            parts.append(f"{section.get('title', '')}\n{plain_text(value)}")
    parts.extend(factors)
    return clean_text("\n\n".join(parts))


def join_text(*parts: str) -> str:
    """Return the non-empty parts joined by blank lines, cut at MAX_BODY_LENGTH."""
    return clean_text("\n\n".join(part.strip() for part in parts if part and part.strip()))


def query_terms(query: str) -> list[str]:
    """Return the distinct words of a query, lower-cased, at most MAX_TERMS, ignoring one-letter words."""
    terms = []
    for word in _WORD.findall((query or "").lower()):
        if len(word) > 1 and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def _term_pattern(terms: Sequence[str]) -> re.Pattern | None:
    if not terms:
        return None
    return re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)), re.IGNORECASE)


def highlight(text: str, terms: Sequence[str]) -> SafeString:
    """Return the text escaped, with every occurrence of the terms wrapped in <mark>."""
    pattern = _term_pattern(terms)
    if pattern is None:
        return mark_safe(escape(text))  # noqa: S308 - escaped just here
    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(escape(text[position:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece is escaped


def snippet(text: str, terms: Sequence[str], *, width: int = 220) -> SafeString:
    """Return an escaped excerpt of ``width`` characters around the first match, matches highlighted."""
    text = " ".join((text or "").split())
    pattern = _term_pattern(terms)
    match = pattern.search(text) if pattern else None
    start = 0
    if match and match.start() > width // 3:
        start = text.rfind(" ", 0, match.start() - width // 3) + 1
    end = min(len(text), start + width)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    excerpt = text[start:end]
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(escape(prefix) + highlight(excerpt, terms) + escape(suffix))  # noqa: S308 - escaped


def render_headline(headline: str) -> SafeString:
    """Return a PostgreSQL headline (matches between START_MARK and STOP_MARK) escaped, matches in <mark>."""
    pieces = []
    for index, piece in enumerate(re.split(f"[{START_MARK}{STOP_MARK}]", " ".join((headline or "").split()))):
        pieces.append(f"<mark>{escape(piece)}</mark>" if index % 2 and piece else escape(piece))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece is escaped
