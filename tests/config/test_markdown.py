import pytest

from config.markdown import render_markdown


def test_renders_markdown():
    html = render_markdown("# Title\n\n**bold** and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<td>1</td>" in html


@pytest.mark.parametrize(
    "hostile, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src="/x.png" onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "javascript"),
        ("![pixel](https://tracker.example.com/p.gif)", "tracker.example.com"),
        ('<img src="//tracker.example.com/p.gif">', "tracker.example.com"),
        ('<iframe src="https://evil.example.com"></iframe>', "<iframe"),
        ('<p style="background:url(https://t.example.com)">x</p>', "t.example.com"),
        ('<svg onload="alert(1)">', "onload"),
    ],
)
def test_hostile_input_does_not_survive(hostile, forbidden):
    assert forbidden not in render_markdown(hostile).lower()


def test_links_are_kept_and_made_safe():
    html = render_markdown("[runbook](https://wiki.example.com/runbook)")
    assert 'href="https://wiki.example.com/runbook"' in html
    assert "noopener" in html


def test_local_images_are_kept():
    assert 'src="/static/img/kintsugi.svg"' in render_markdown("![logo](/static/img/kintsugi.svg)")
