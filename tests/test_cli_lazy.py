"""The command imports each subcommand only when it is used: ``--help`` lists them all
from registered one-line helps, which must say what the commands themselves say."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from clearsight.cli import cli
from clearsight.cli.lazy_group import LazyGroup, command_name

# What ``clearsight --help`` and ``--version`` must not import: the case store, the
# decoders, OpenCV, the report and server stacks, the exchanges' clients.
HEAVY = ("sqlalchemy", "numpy", "PIL", "cv2", "c2pa", "jinja2", "fastapi", "httpx", "numba")

IMPORTED_BY = """
import json, sys
from clearsight.cli import main
try:
    main(sys.argv[1:])
finally:
    heavy = [name for name in {heavy!r} if name in sys.modules]
    print(json.dumps(heavy), file=sys.stderr)
"""


def _heavy_imports(*arguments: str) -> list[str]:
    program = IMPORTED_BY.format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", program, *arguments], capture_output=True, text=True, check=True
    )
    found: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize("arguments", [["--help"], ["--version"], []])
def test_help_and_version_import_no_library(arguments: list[str]) -> None:
    assert _heavy_imports(*arguments) == []


def test_a_command_imports_what_it_needs() -> None:
    assert "sqlalchemy" in _heavy_imports("items", "--help")


def test_registered_help_is_the_commands_own() -> None:
    assert isinstance(cli, LazyGroup)
    context = click.Context(cli)
    assert set(cli.lazy_commands) <= set(cli.list_commands(context))
    for name, lazy in cli.lazy_commands.items():
        command = lazy.load()
        for limit in (45, 66, 200):
            assert lazy.short_help_str(limit) == command.get_short_help_str(limit), name


def test_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "clearsight", "--help"], capture_output=True, text=True, check=True
    )
    listed = done.stdout.split("Commands:", 1)[1]
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert names == set(cli.list_commands(click.Context(cli)))


def test_command_name_walks_lazy_groups() -> None:
    assert command_name(cli, ["bank", "list", "--case", "x"]) == "bank list"
    assert command_name(cli, ["--help"]) == "clearsight"
    assert command_name(cli, ["no-such-command"]) == "clearsight"


def test_an_unknown_command_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "clearsight", "no-such-command"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "No such command" in done.stderr
