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
from contextlib import AbstractContextManager, nullcontext

import click

from clearsight import __version__
from clearsight.cli.lazy_group import LazyGroup, command_name


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


assert isinstance(cli, LazyGroup)
# Each command is imported when it is run (see clearsight.cli.lazy_group); the help
# given here is what ``clearsight --help`` lists, and a test holds it to the command's.
cli.add_lazy_command(
    "scan",
    "clearsight.cli.scan_command:scan",
    "Fingerprint every file under PATHS into the case.",
    # The workers' fork server imports the decoders while this process imports the
    # case store: on two cores, side by side.
    prepare="clearsight.scan.worker_server:start_worker_server",
)
cli.add_lazy_command(
    "items", "clearsight.cli.items_command:items", "List every file recorded in the case."
)
cli.add_lazy_command(
    "demo",
    "clearsight.cli.demo_command:demo",
    "Scan the small benign sample images bundled with clearsight and report.",
)
cli.add_lazy_command(
    "bank",
    "clearsight.cli.bank_command:bank",
    "Hash banks: the known-material lists every case is matched against.",
)
cli.add_lazy_command(
    "match", "clearsight.cli.match_command:match", "Match every item of the case against the banks."
)
cli.add_lazy_command(
    "origin",
    "clearsight.cli.origin_command:origin",
    "Evidence of where images came from: AI generator, AI edit, or camera.",
)
cli.add_lazy_command(
    "triage",
    "clearsight.cli.triage_command:triage",
    "Stack near-duplicates, link scene-mates into series, and score every item.",
)
cli.add_lazy_command(
    "queue",
    "clearsight.cli.triage_command:queue",
    "Print the review queue: series, stacks and lone items, most urgent first.",
)
cli.add_lazy_command(
    "report",
    "clearsight.cli.report_command:report",
    "Export the case; the export is recorded in the case's audit log.",
)
cli.add_lazy_command(
    "user", "clearsight.cli.user_command:user", "Accounts that may sign in to review a case."
)
cli.add_lazy_command(
    "audit",
    "clearsight.cli.audit_command:audit",
    "The case's audit log: sign-ins, reveals, decisions, exports, account changes.",
)
cli.add_lazy_command(
    "serve",
    "clearsight.cli.serve_command:serve",
    "Serve the case to reviewers in a browser (and to API clients).",
)
cli.add_lazy_command(
    "exchange",
    "clearsight.cli.exchange_command:exchange",
    "Exchanges: keep a bank in sync with a hash-sharing feed.",
)
cli.add_lazy_command(
    "cybertip",
    "clearsight.cli.cybertip_command:cybertip",
    "File CyberTipline reports through NCMEC's reporting API (ISPWS).",
)
cli.add_lazy_command(
    "api",
    "clearsight.cli.api_command:api",
    "Serve the matching service: Hasher-Matcher-Actioner's API over the banks.",
)
cli.add_lazy_command(
    "api-key",
    "clearsight.cli.api_key_command:api_key",
    "API keys of the matching service (`clearsight api`).",
)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(argv) if argv is not None else sys.argv[1:]
    # Imported here, not at the top: the package's modules are what each command imports.
    from clearsight.cli.failure_log import note_case_folder

    note_case_folder(None)
    name = command_name(cli, arguments)
    _tell_waits(name, _say_waiting)
    try:
        # The libraries' own warnings (libtiff's on a damaged TIFF) go to the log, not
        # the terminal; the server, which runs until stopped, leaves them as they are.
        with _library_output(name):
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
        from clearsight.cli.failures import report_failure

        return report_failure(exc, name)
    finally:
        _tell_waits(name, None)
    return result if isinstance(result, int) else 0


def _tell_waits(command: str, notice: Callable[[str], None] | None) -> None:
    """Have the store say so while it waits for a lock; not for ``--help`` or
    ``--version`` (no command: ``clearsight``), which open no store."""
    if command != "clearsight":
        from clearsight.store.lock_waits import set_wait_notice

        set_wait_notice(notice)


def _library_output(command: str) -> AbstractContextManager[object]:
    """Where the libraries' own warnings go while ``command`` runs: the log, but for
    the servers (``serve``, ``api``), which run until stopped, and ``--help`` or
    ``--version``, which load no library."""
    if command in ("serve", "api", "clearsight"):
        return nullcontext()
    from clearsight.scan.library_output import library_output_to

    return library_output_to(_logger(command))


def _logger(command: str) -> Callable[[str], object]:
    from clearsight.cli.failure_log import log_library_output
    from clearsight.home import clearsight_home

    return lambda text: log_library_output(text, command, clearsight_home())


def _say_waiting(notice: str) -> None:
    click.echo(f"clearsight: {notice}", err=True)


if __name__ == "__main__":
    sys.exit(main())
