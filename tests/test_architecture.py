"""The public surface and the import boundaries that DESIGN.md sets."""

from __future__ import annotations

import ast
from pathlib import Path

import clearsight

PACKAGE = Path(clearsight.__file__).parent


def imported_modules(folder: Path) -> set[str]:
    found: set[str] = set()
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_media_and_signals_import_nothing_of_the_project() -> None:
    for layer in ("media", "signals"):
        own = {m for m in imported_modules(PACKAGE / layer) if m.startswith("clearsight")}
        assert own <= {f"clearsight.{layer}"} | {
            m for m in own if m.startswith(f"clearsight.{layer}.")
        }, (layer, own)


def test_only_the_cli_and_store_touch_sqlalchemy() -> None:
    for layer in ("media", "signals", "scan"):
        assert not any(m.startswith("sqlalchemy") for m in imported_modules(PACKAGE / layer))


def test_public_api() -> None:
    assert set(clearsight.__all__) == {
        "ClearsightError",
        "DependencyError",
        "UserError",
        "__version__",
    }
    for name in clearsight.__all__:
        assert hasattr(clearsight, name)
