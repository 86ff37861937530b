"""Every third-party module the package imports is declared in pyproject.toml.

The review server imported ``anyio`` directly while only FastAPI brought it in, so a
FastAPI that dropped it, or a resolver that pinned differently, would break ``serve``
at import. Each import under ``src/clearsight`` (module-level or inside a function,
but not one only type checkers read) is mapped to its distribution with
``importlib.metadata.packages_distributions()`` and must be a core dependency, or in
the optional extra that the importing code belongs to.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import clearsight

PACKAGE = Path(clearsight.__file__).parent
PYPROJECT = PACKAGE.parent.parent / "pyproject.toml"
# Code that only runs with an extra installed, and that extra: a package, or a module
# whose import of the extra's library is made inside the function that needs it.
EXTRA_OF = {
    "api": "server",
    "cli/api_command.py": "server",
    "server": "server",
    "cybertip": "exchange",
    "exchanges": "exchange",
    "cli/serve_command.py": "server",
    "origin/pixel_model.py": "onnx",
    "scan/ray_batch.py": "ray",
    "scan/ray_executor.py": "ray",
}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return _normalised(match[0])


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = {
        extra: {_requirement_name(r) for r in requirements}
        for extra, requirements in project.get("optional-dependencies", {}).items()
    }
    return core, extras


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """Imports under ``if TYPE_CHECKING:``, which never run."""
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped.update(ast.walk(inner))
    return skipped


def _third_party_imports(source: Path) -> Iterator[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top not in sys.stdlib_module_names and top not in ("clearsight", "__future__"):
                yield top


def _extra_for(relative: str) -> str | None:
    package = relative.partition("/")[0]
    return EXTRA_OF.get(relative) or EXTRA_OF.get(package)


def test_every_imported_third_party_module_is_declared() -> None:
    core, extras = _declared()
    distributions = importlib.metadata.packages_distributions()
    undeclared: list[str] = []
    for source in sorted(PACKAGE.rglob("*.py")):
        relative = source.relative_to(PACKAGE).as_posix()
        extra = _extra_for(relative)
        allowed = core | (extras[extra] if extra else set())
        for module in _third_party_imports(source):
            providers = {_normalised(d) for d in distributions.get(module, [])}
            if not providers:
                undeclared.append(f"{relative}: {module} (not installed: no distribution)")
            elif not providers & allowed:
                where = f"core or [{extra}]" if extra else "core"
                undeclared.append(f"{relative}: {module} from {sorted(providers)}, not in {where}")
    assert not undeclared, "\n".join(sorted(set(undeclared)))


def test_the_check_sees_what_it_checks() -> None:
    """The walk finds the imports it must (anyio in the server, uvicorn in serve)."""
    server_imports = {
        module
        for source in (PACKAGE / "server").rglob("*.py")
        for module in _third_party_imports(source)
    }
    assert {"anyio", "fastapi", "pydantic", "starlette"} <= server_imports
    assert "uvicorn" in set(_third_party_imports(PACKAGE / "cli" / "serve_command.py"))
    assert "_typeshed" not in {
        module for source in PACKAGE.rglob("*.py") for module in _third_party_imports(source)
    }
    core, extras = _declared()
    assert "anyio" in extras["server"] and "markupsafe" in core
