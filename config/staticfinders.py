"""Serve plotly.js from the installed plotly package, and the stylesheet plotly.js would otherwise inject.

Nothing is copied into the repository: ``runserver``, the test server and
``collectstatic`` all find ``vendor/plotly/plotly.min.js`` here, so the page
draws with exactly the plotly.js the installed package ships.

plotly.js adds its base CSS rules at load time into a ``<style>`` element it
creates, which a Content-Security-Policy without ``'unsafe-inline'`` styles
refuses. It skips that when the page already holds a stylesheet with the id
``plotly.js-style-global`` and the class ``no-inline-styles``. The rules are
read out of the same plotly.min.js (the object plotly builds its CSS from) and
written to ``vendor/plotly/plotly.css``, which the page links with that id.
The bundled map library injects its own stylesheet the same way unless an
element with its id exists: that text is written to a file of its own too, and
``plotly_stylesheets()`` names every link a page needs, with its id.
"""

import functools
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor/plotly"
SCRIPT = "plotly.min.js"
STYLESHEET = "plotly.css"
GLOBAL_STYLE_ID = "plotly.js-style-global"

# The rules object plotly.js turns into CSS: {"X,X div":'direction:ltr;…', …}, X standing for the plot's
# root selector and Y for the notifier's.
_RULES_START = re.compile(r"""\{"X,X div":""")
_QUOTED = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
_RULE = re.compile(r"\s*(" + _QUOTED + r"|[A-Za-z_$][\w$]*)\s*:\s*" + _QUOTED + r"\s*([,}])")
PLOT_SELECTOR = ".js-plotly-plot .plotly"
NOTIFIER_SELECTOR = ".plotly-notifier"


def plotly_package_data() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data"


def plotly_css(script: str) -> str:
    """Return the CSS rules plotly.js would inject, read from the text of plotly.min.js."""
    start = _RULES_START.search(script)
    if start is None:
        raise ImproperlyConfigured("plotly.min.js no longer holds its CSS rules object; check vendor/plotly.css.")
    position, rules = start.start() + 1, []
    while True:
        match = _RULE.match(script, position)
        if match is None:
            raise ImproperlyConfigured("plotly.min.js holds a CSS rule this reader does not understand.")
        selector, body = (_unquote(text) for text in match.group(1, 3))
        selector = selector.replace("X", PLOT_SELECTOR).replace("Y", NOTIFIER_SELECTOR)
        rules.append(f"{selector}{{{body}}}")
        position = match.end()
        if match.group(4) == "}":
            return "\n".join(rules) + "\n"


def _unquote(text: str) -> str:
    if text[0] in "\"'":
        return text[1:-1].replace("\\'", "'").replace('\\"', '"')
    return text


# A library bundled in plotly.min.js that adds a <style> with a fixed id unless the page has one.
_INJECTED_STYLE = re.compile(
    r"""if\(!document\.getElementById\("([0-9a-f]{16,})"\)\)\{var (\w+)=document\.createElement\("style"\);"""
    r"""\2\.id="\1",\2\.textContent=`([^`]*)`"""
)


def injected_stylesheets(script: str) -> list[tuple[str, str]]:
    """Return (element id, CSS) of each stylesheet plotly.min.js's bundled libraries inject by themselves."""
    return [(match.group(1), match.group(3)) for match in _INJECTED_STYLE.finditer(script)]


@functools.cache
def _generated() -> tuple[Path, tuple[tuple[str, str], ...]]:
    """Write the stylesheets plotly.js would inject; return their folder and (element id, file name) of each."""
    script = (plotly_package_data() / SCRIPT).read_text(encoding="utf-8")
    target = Path(settings.VAR_DIR) / "generated-static" / "plotly"
    target.mkdir(parents=True, exist_ok=True)
    sheets = [(GLOBAL_STYLE_ID, STYLESHEET, plotly_css(script))]
    sheets += [(element_id, f"plotly-{element_id[:12]}.css", css) for element_id, css in injected_stylesheets(script)]
    for _, name, css in sheets:
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != css:
            path.write_text(css, encoding="utf-8")
    return target, tuple((element_id, name) for element_id, name, _ in sheets)


def plotly_stylesheets() -> list[tuple[str, str]]:
    """Return (element id, static path) of every stylesheet to link before plotly.min.js loads."""
    return [(element_id, f"{PREFIX}/{name}") for element_id, name in _generated()[1]]


def _storage(location: Path) -> FileSystemStorage:
    storage = FileSystemStorage(location=str(location))
    storage.prefix = PREFIX
    return storage


class PlotlyFinder(BaseFinder):
    """Find ``vendor/plotly/plotly.min.js`` in the plotly package and the stylesheets generated beside it."""

    def _files(self) -> dict[str, Path]:
        folder, sheets = _generated()
        return {f"{PREFIX}/{SCRIPT}": plotly_package_data() / SCRIPT} | {
            f"{PREFIX}/{name}": folder / name for _, name in sheets
        }

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        found = self._files().get(path)
        if found is None:
            return [] if find_all else None
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns):
        yield SCRIPT, _storage(plotly_package_data())
        folder, sheets = _generated()
        for _, name in sheets:
            yield name, _storage(folder)
