"""The public surface and the import boundaries that DESIGN.md sets.

Every package of clearsight has a row in :data:`ALLOWED`: the project's packages (or
single modules) it may import. A package without a row, or an import outside its row,
fails the test, so a new dependency is a decision written down here, not an accident.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import pytest

import clearsight
from clearsight.store.sql import SqlCaseStore

PACKAGE = Path(clearsight.__file__).parent

# Leaf modules that import nothing of the project: any package but media and signals
# may use them.
COMMON = frozenset({"errors", "file_paths", "text_safety", "cores", "home"})

# What each package may import of the project, besides itself. An entry names a
# package ("store") or one module ("categories").
ALLOWED: Mapping[str, Set[str]] = {
    # Reading bytes safely, and the hash algorithms: nothing of the project.
    "media": frozenset(),
    "signals": frozenset(),
    # The case store owns every SQL statement. It speaks the media and signal types,
    # and checks decisions against the category vocabulary (a leaf module), never review.
    "store": COMMON | {"categories", "media", "signals"},
    # The stages: media, signals and the store interface.
    "banks": COMMON | {"index", "media", "signals", "store"},
    "index": COMMON | {"media", "signals", "store"},
    "origin": COMMON | {"media", "signals", "store"},
    "match": COMMON | {"banks", "index", "media", "signals", "store"},
    "series": COMMON | {"index", "match", "media", "signals", "store"},
    "scan": COMMON | {"media", "origin", "signals", "store"},
    "triage": COMMON | {"series", "signals", "store", "match.explain"},
    # The human step and the exports: typed records from the store, never its tables.
    "review": COMMON | {"media", "store"},
    # match.explain: the one wording of how a match was made (a leaf over the store's
    # records), which the queue, the report and the review screen all show.
    "report": COMMON | {"banks", "categories", "review", "signals", "store", "match.explain"},
    # Feeds that keep a bank in sync: the bank store's records, batches and exchange
    # book (every SQL statement stays in banks).
    "exchanges": COMMON | {"banks"},
    # The one core object: it opens the store and puts the stages together.
    "case": COMMON
    | {"banks", "exchanges", "index", "match", "media", "origin", "report", "review", "scan"}
    | {"categories", "series", "store", "triage"},
    # Filing a CyberTipline report: a Case's rows, the report's wording and the audit.
    "cybertip": COMMON | {"case", "report", "review"},
    # Shells: they build a Case.
    "server": COMMON
    | {"banks", "case", "categories", "origin", "report", "review", "store"}
    | {"match.explain", "triage.unreadable"},
    # The matching service: a shell over the banks (CaseBanks), their live index, the
    # signals it hashes with, and the exchanges it drives.
    "api": COMMON | {"banks", "case", "exchanges", "match", "media", "signals"},
    "cli": COMMON
    | {
        "api",
        "banks",
        "case",
        "cybertip",
        "exchanges",
        "index",
        "match",
        "media",
        "origin",
        "report",
        "review",
        "scan",
        "series",
        "server",
        "signals",
        "store",
        "triage",
    },
    # Generated landscapes and edits for tests and benchmarks.
    "robustness": COMMON | {"signals"},
    "demo": COMMON,
    # The top-level modules.
    "__init__": frozenset({"case", "errors"}),  # Case, imported on first use
    "__main__": frozenset({"cli"}),
    "errors": frozenset(),
    "categories": frozenset({"errors"}),  # the category scheme: store, exports, case, server
    "file_paths": frozenset(),
    "text_safety": frozenset(),
    "cores": frozenset(),
    "home": frozenset(),
}

# Only these packages talk to a database library: the case store, the bank store
# (a database of its own), the case, which parses a case's database URL to pick its
# store, and the CLI, which names a failing database in its messages.
DATABASE_LIBRARIES = ("sqlalchemy", "alembic")
DATABASE_USERS = frozenset({"store", "banks", "case", "cli"})

# The store's tables and its engine: no package outside the store reaches them.
STORE_INTERNALS = ("clearsight.store.models", "clearsight.store.review_models")
ENGINE_ACCESS = "engine_of"


def imports_of(source: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each module ``source`` imports, with the names it takes from it."""
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()


def package_of(source: Path, root: Path) -> str:
    parts = source.relative_to(root).parts
    return parts[0] if len(parts) > 1 else source.stem


def _within(module: str, entry: str) -> bool:
    return module == entry or module.startswith(entry + ".")


def violations(
    root: Path,
    allowed: Mapping[str, Set[str]],
    database_users: Set[str] = DATABASE_USERS,
) -> list[str]:
    """Every import under ``root`` (the ``clearsight`` folder) that breaks a rule."""
    found: list[str] = []
    for source in sorted(root.rglob("*.py")):
        package = package_of(source, root)
        where = source.relative_to(root)
        if package not in allowed:
            found.append(f"{where}: package {package!r} has no row in the table")
            continue
        for module, names in imports_of(source):
            top = module.split(".")[0]
            if top in DATABASE_LIBRARIES and package not in database_users:
                found.append(f"{where}: imports {module}")
            if top != "clearsight" or module == "clearsight":
                continue
            own = module.removeprefix("clearsight.")
            if package != "store" and any(_within(module, m) for m in STORE_INTERNALS):
                found.append(f"{where}: imports the store's tables ({module})")
            if package != "store" and ENGINE_ACCESS in names:
                found.append(f"{where}: reaches the store's engine ({module}.{ENGINE_ACCESS})")
            if _within(own, package):
                continue
            if not any(_within(own, entry) for entry in allowed[package]):
                found.append(f"{where}: {package} may not import {module}")
    return found


def test_every_package_keeps_to_its_imports() -> None:
    assert violations(PACKAGE, ALLOWED) == []


def test_media_and_signals_import_nothing_of_the_project() -> None:
    assert ALLOWED["media"] == ALLOWED["signals"] == frozenset()


def test_the_case_store_engine_is_not_public() -> None:
    assert not hasattr(SqlCaseStore, "engine")
    assert not [name for name in vars(SqlCaseStore) if "engine" in name and name[0] != "_"]


def test_the_store_interface_loads_no_database_library() -> None:
    """Scan workers build records from the interface; they never load SQLAlchemy, even
    though the interface names the review services (for type checking only)."""
    probe = "import sys, clearsight.store.interface, clearsight.scan.fingerprint; "
    probe += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def _write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "text", "problem"),
    [
        ("media/decode.py", "from clearsight.store import interface\n", "media may not"),
        ("signals/pdq.py", "import clearsight.errors\n", "signals may not"),
        ("review/queue.py", "from sqlalchemy import select\n", "imports sqlalchemy"),
        ("report/rows.py", "import alembic.command\n", "imports alembic"),
        ("report/rows.py", "from clearsight.store.models import Item\n", "store's tables"),
        ("server/app.py", "from clearsight.store.review_models import X\n", "store's tables"),
        ("server/app.py", "from clearsight.store.sql import engine_of\n", "store's engine"),
        ("store/sql.py", "from clearsight.review.audit import AuditLog\n", "store may not"),
        ("newpackage/thing.py", "import json\n", "no row in the table"),
    ],
)
def test_the_checker_finds_a_broken_rule(
    tmp_path: Path, path: str, text: str, problem: str
) -> None:
    root = tmp_path / "clearsight"
    _write(root, "store/interface.py", "from clearsight.media.sniff import MediaKind\n")
    _write(root, "store/models.py", "from sqlalchemy.orm import DeclarativeBase\n")
    _write(root, "categories.py", "from clearsight.errors import UserError\n")
    _write(root, "report/export.py", "from clearsight.categories import X\n")
    assert violations(root, ALLOWED) == []  # a tree that keeps the rules passes
    _write(root, path, text)
    found = violations(root, ALLOWED)
    assert len(found) == 1 and problem in found[0], found


def test_public_api() -> None:
    assert set(clearsight.__all__) == {
        "Case",
        "ClearsightError",
        "DependencyError",
        "IngestReport",
        "UserError",
        "__version__",
    }
    for name in clearsight.__all__:
        assert hasattr(clearsight, name)


def store_openers(folder: Path) -> dict[str, set[str]]:
    """Which files call ``SqlCaseStore.open_folder``/``open_url`` or ``BankStore.open*``."""
    found: dict[str, set[str]] = {}
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("SqlCaseStore", "BankStore")
                and node.attr.startswith("open")
            ):
                name = str(source.relative_to(PACKAGE))
                found.setdefault(name, set()).add(f"{node.value.id}.{node.attr}")
    return found


def test_only_the_case_picks_the_case_store() -> None:
    # DESIGN.md: only Case.open (and the bank store's own opener) picks the concrete
    # store. The bank and exchange commands administer the machine's banks, with no case.
    assert store_openers(PACKAGE) == {
        "case/opening.py": {"SqlCaseStore.open_folder", "SqlCaseStore.open_url"},
        "case/banks.py": {"BankStore.open", "BankStore.open_if_present"},
        "cli/bank_command.py": {"BankStore.open"},
        "cli/exchange_command.py": {"BankStore.open"},
    }
