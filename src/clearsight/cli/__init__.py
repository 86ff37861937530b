"""The ``clearsight`` command: a thin shell over the library.

Errors map to exit codes in one place: 2 for a user mistake, 3 for a failing
dependency, 130 for an interrupt. No traceback reaches the terminal for those.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from clearsight import __version__
from clearsight.cli.audit_command import audit
from clearsight.cli.bank_command import bank
from clearsight.cli.demo_command import demo
from clearsight.cli.items_command import items
from clearsight.cli.match_command import match
from clearsight.cli.origin_command import origin
from clearsight.cli.report_command import report
from clearsight.cli.scan_command import scan
from clearsight.cli.serve_command import serve
from clearsight.cli.triage_command import queue, triage
from clearsight.cli.user_command import user
from clearsight.errors import ClearsightError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clearsight")
def cli() -> None:
    """clearsight: offline triage of image evidence.

    A case is a folder holding a SQLite database. Scan evidence into a case, then
    list what was recorded. Media is read where it lies and never copied.

    \b
    Examples:
      clearsight scan /mnt/evidence --case ./case-0412
      clearsight items --case ./case-0412 --format csv > items.csv
      clearsight demo
    """


cli.add_command(scan)
cli.add_command(items)
cli.add_command(demo)
cli.add_command(bank)
cli.add_command(match)
cli.add_command(origin)
cli.add_command(triage)
cli.add_command(queue)
cli.add_command(report)
cli.add_command(user)
cli.add_command(audit)
cli.add_command(serve)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="clearsight",
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        # Click turns Ctrl-C into Abort. A scan has committed what it finished by now.
        click.echo(
            "\nclearsight: interrupted; what was recorded is kept, run again to resume", err=True
        )
        return 130
    except ClearsightError as exc:
        click.echo(f"clearsight: error: {exc}", err=True)
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
