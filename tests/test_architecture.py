"""Which app may import which (docs/architecture.md): each app sits below the apps built on it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def modules_of(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path


@pytest.mark.parametrize(
    ("app", "above"),
    [
        ("incidents", {"postmortems", "search", "insights", "demo"}),
        ("postmortems", {"search", "insights", "demo"}),
        ("search", {"insights", "demo"}),
        ("insights", {"demo"}),
        ("teams", {"insights", "demo"}),
    ],
)
def test_an_app_imports_nothing_from_the_apps_built_on_it(app, above):
    wrong = [
        f"{relative} imports {module}"
        for relative, path in modules_of(app)
        for module in imported_modules(path)
        if module.split(".")[0] in above
    ]
    assert not wrong, "\n".join(wrong)
