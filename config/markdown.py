"""Markdown to safe HTML, one way for the whole app.

Rendered on the server with Python-Markdown, then sanitised with nh3: no
script, no event handler attribute, no ``javascript:`` URL, and no remote
image (a tracking pixel would tell a third party who read a post-mortem).
"""

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "span": {"class"},
    "code": {"class"},
    "mark": {"class", "title", "data-rule"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _keep_local_images(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        # Only images served by Kintsugi itself: relative URLs, or data: images.
        return value if value.startswith("/") and not value.startswith("//") else None
    return value


def render_markdown(text: str) -> str:
    """Return sanitised HTML for the Markdown text."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists", "nl2br"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_keep_local_images,
    )
