"""A click group that imports each command only when it is run or asked for.

Importing every command means importing what every command uses (the case store,
OpenCV, the report templates, the exchanges' clients): over a second before
``clearsight --help`` prints a line, and before a scan reads its first file. So the
group holds, for each command, where it lives and its one-line help, and imports the
command's module when click asks for the command itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``package.module:name``) and its one-line help."""

    import_path: str
    short_help: str
    # ``package.module:function`` called before the command's module is imported, to
    # start work that can overlap with that import (the scan's worker processes).
    prepare: str | None = None

    def short_help_str(self, limit: int) -> str:
        """The help cut to ``limit`` characters as click cuts a command's."""
        return click.Command(None, help=self.short_help).get_short_help_str(limit)

    def load(self) -> click.Command:
        if self.prepare is not None:
            _imported(self.prepare)()
        command = _imported(self.import_path)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.import_path} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group of commands imported on first use (see the module's docstring)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands: dict[str, LazyCommand] = {}

    def add_lazy_command(
        self, name: str, import_path: str, short_help: str, *, prepare: str | None = None
    ) -> None:
        """Register the command ``name``, found at ``import_path`` when first needed;
        ``short_help`` is what ``--help`` lists for it meanwhile. ``prepare`` names a
        function to call just before the command is imported."""
        self.lazy_commands[name] = LazyCommand(import_path, short_help, prepare)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(self.lazy_commands[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, from the registered help of those not yet imported."""
        rows: list[tuple[str, str]] = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        for name in names:
            command = self.commands.get(name)
            if command is not None:
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, self.lazy_commands[name].short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _imported(path: str) -> Any:
    """The object that ``package.module:name`` names."""
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def command_name(group: click.Group, argv: Sequence[str]) -> str:
    """The command's name as typed (``bank import``), without its arguments."""
    names: list[str] = []
    current: click.Command = group
    for argument in argv:
        if not isinstance(current, click.Group):
            break
        found = current.get_command(click.Context(current), argument)
        if found is None:
            break
        names.append(argument)
        current = found
    return " ".join(names) or "clearsight"
