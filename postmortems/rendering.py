"""Markdown with the coach's findings highlighted inline, as safe HTML.

The findings' spans are positions in the Markdown source, not in the HTML. So
markers (private-use characters nobody types) go into the source around each
finding, the source is rendered and sanitised as usual, the markers are taken
out of every attribute value, and the ones left in text become ``<mark>``
elements. A last sanitising pass repairs any nesting a marker pair crossed
(a finding that spans ``**bold**`` text, say).
"""

import re
from collections.abc import Sequence

import nh3
from django.utils.html import escape

from config.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, _keep_local_images, render_markdown
from postmortems.coach import Finding

OPEN = "\ue000"
CLOSE = "\ue001"
# The n-th finding's opening marker is OPEN followed by the character FIRST_INDEX + n.
FIRST_INDEX = 0xE100
MAX_MARKED = 0xF8FF - FIRST_INDEX
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def strip_markers(text: str) -> str:
    """Return the text without private-use characters: markers, or anything posing as one."""
    return _PRIVATE_USE.sub("", text)


def _without_markers(element: str, attribute: str, value: str) -> str | None:
    return _keep_local_images(element, attribute, strip_markers(value))


def _clean(html: str, attribute_filter=_keep_local_images) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=attribute_filter,
    )


def render_with_findings(text: str, findings: Sequence[Finding]) -> str:
    """Return the Markdown ``text`` as sanitised HTML with each finding wrapped in ``<mark class="coach">``.

    The n-th finding's mark carries ``data-rule`` and a ``title`` with its rule's
    title and reframing question.
    """
    text = strip_markers(text or "")
    if not findings:
        return render_markdown(text)
    pieces = []
    cursor = 0
    for index, finding in enumerate(findings[:MAX_MARKED]):
        if finding.start < cursor or finding.end > len(text):
            continue
        pieces.append(text[cursor : finding.start])
        pieces.append(f"{OPEN}{chr(FIRST_INDEX + index)}{text[finding.start : finding.end]}{CLOSE}")
        cursor = finding.end
    pieces.append(text[cursor:])
    html = _clean(render_markdown("".join(pieces)), attribute_filter=_without_markers)
    result = []
    position = 0
    while True:
        start = html.find(OPEN, position)
        close = html.find(CLOSE, start + 2) if start != -1 else -1
        if start == -1 or close == -1 or start + 1 >= len(html):
            break
        index = ord(html[start + 1]) - FIRST_INDEX
        if not 0 <= index < len(findings):
            break
        finding = findings[index]
        result.append(html[position:start])
        result.append(
            f'<mark class="coach coach-{escape(finding.rule_id)}" data-rule="{escape(finding.rule_id)}" '
            f'title="{escape(finding.title)}: {escape(finding.reframing)}">'
        )
        result.append(html[start + 2 : close])
        result.append("</mark>")
        position = close + 1
    result.append(html[position:])
    return _clean(strip_markers("".join(result)))
