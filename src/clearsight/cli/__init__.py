"""The ``clearsight`` command: a thin shell over the library.

Errors map to exit codes in one place: 2 for a user mistake, 3 for a failing
dependency (a store's error, a locked database, a full disk, a permission denied, a
lost connection), 1 for a fault of clearsight's own, 130 for an interrupt. No
traceback ever reaches the terminal: the person gets one line, and the details go to
``clearsight.log`` in the case folder or under CLEARSIGHT_HOME (see
:mod:`clearsight.cli.failures`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext

import click

from clearsight import __version__
from clearsight.cli.api_command import api
from clearsight.cli.api_key_command import api_key
from clearsight.cli.audit_command import audit
from clearsight.cli.bank_command import bank
from clearsight.cli.cybertip_command import cybertip
from clearsight.cli.demo_command import demo
from clearsight.cli.exchange_command import exchange
from clearsight.cli.failure_log import log_library_output, note_case_folder
from clearsight.cli.failures import command_name, report_failure
from clearsight.cli.items_command import items
from clearsight.cli.match_command import match
from clearsight.cli.origin_command import origin
from clearsight.cli.report_command import report
from clearsight.cli.scan_command import scan
from clearsight.cli.serve_command import serve
from clearsight.cli.triage_command import queue, triage
from clearsight.cli.user_command import user
from clearsight.home import clearsight_home
from clearsight.scan.library_output import library_output_to
from clearsight.store.lock_waits import set_wait_notice


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
cli.add_command(exchange)
cli.add_command(cybertip)
cli.add_command(api)
cli.add_command(api_key)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(argv) if argv is not None else sys.argv[1:]
    note_case_folder(None)
    set_wait_notice(_say_waiting)
    name = command_name(cli, arguments)
    try:
        # The libraries' own warnings (libtiff's on a damaged TIFF) go to the log, not
        # the terminal; the server, which runs until stopped, leaves them as they are.
        with nullcontext() if name in ("serve", "api") else library_output_to(_logger(name)):
            result = cli.main(
                args=arguments,
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
    except Exception as exc:  # the one place every failure becomes a line and a status
        return report_failure(exc, name)
    finally:
        set_wait_notice(None)
    return result if isinstance(result, int) else 0


def _logger(command: str) -> Callable[[str], object]:
    return lambda text: log_library_output(text, command, clearsight_home())


def _say_waiting(notice: str) -> None:
    click.echo(f"clearsight: {notice}", err=True)


if __name__ == "__main__":
    sys.exit(main())
