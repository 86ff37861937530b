"""``clearsight exchange``: feeds (NCMEC, StopNCII, ThreatExchange, TAT, a file) into banks."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from clearsight.banks.exchange_book import API_NAMES, ExchangeBook, ExchangeInfo
from clearsight.banks.store import BankStore
from clearsight.cli.bank_options import banks_option, json_option
from clearsight.errors import UserError
from clearsight.exchanges.credentials import ENVIRONMENT, FORMS, CredentialStore
from clearsight.exchanges.fetch import BATCH_ENTRIES, FetchReport, fetch_exchange


@click.group()
def exchange() -> None:
    """Exchanges: keep a bank in sync with a hash-sharing feed.

    \b
    Examples:
      clearsight exchange credentials ncmec            (prompts; or --stdin)
      clearsight exchange add ncmec-industry --api ncmec --bank ncmec \\
          --config '{"environment": "Industry"}'
      clearsight exchange fetch                        (every enabled exchange)
      clearsight exchange status
    """


@exchange.command("add")
@click.argument("name")
@click.option("--api", "api", type=click.Choice(API_NAMES), required=True, help="The feed's API.")
@click.option("--bank", required=True, help="The bank it keeps in sync (made by the first fetch).")
@click.option(
    "--config",
    "config_text",
    default="{}",
    help='The API\'s settings as JSON: ncmec {"environment": "Industry", "only_esp_ids": [..]}, '
    'fb_threatexchange {"privacy_group": ID}, file {"filename": PATH}; any {"base_url": URL}.',
)
@banks_option
@json_option
def add(
    name: str, api: str, bank: str, config_text: str, banks_url: str | None, as_json: bool
) -> int:
    """Add exchange NAME, fetching API into bank BANK."""
    try:
        config = json.loads(config_text)
    except ValueError:
        raise UserError("--config is not JSON") from None
    if not isinstance(config, dict):
        raise UserError("--config is a JSON object")
    with _book(banks_url) as book:
        info = book.add(name, api, bank, config)
    click.echo(
        json.dumps(info.as_dict())
        if as_json
        else f"Added exchange {name!r} ({api}) into bank {bank!r}."
    )
    return 0


@exchange.command("credentials")
@click.argument("api", type=click.Choice(sorted(ENVIRONMENT)))
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from standard input.")
@click.option("--forget", is_flag=True, help="Remove the stored secret instead.")
def credentials(api: str, from_stdin: bool, forget: bool) -> int:
    """Store API's credentials in a file only you can read (never printed or logged).

    The form is the one python-threatexchange reads: ncmec and tat USER:PASSWORD,
    stop_ncii FETCH_FUNCTION_KEY,SUBSCRIPTION_KEY, fb_threatexchange an app token.
    The library's environment variable, where set, is used instead.
    """
    store = CredentialStore()
    if forget:
        click.echo(f"{api}: {'forgotten' if store.forget(api) else 'none were stored'}")
        return 0
    if from_stdin:
        secret = sys.stdin.readline()
    else:
        secret = click.prompt(f"{api} credentials ({FORMS[api]})", hide_input=True)
    store.set(api, secret)
    click.echo(f"{api}: credentials set in {store.path} (mode 0600)")
    return 0


@exchange.command("list")
@banks_option
@json_option
def list_(banks_url: str | None, as_json: bool) -> int:
    """List the exchanges with their bank and whether they are enabled."""
    with _book(banks_url) as book:
        infos = book.all()
    if as_json:
        click.echo(json.dumps([_public(info) for info in infos]))
    elif not infos:
        click.echo(
            "No exchanges yet. Add one with: clearsight exchange add NAME --api API --bank BANK"
        )
    for info in infos if not as_json else []:
        state = "enabled" if info.enabled else "disabled"
        click.echo(f"{info.name:<24} {info.api:<18} bank {info.bank:<20} {state}")
    return 0


@exchange.command("status")
@click.argument("names", nargs=-1)
@banks_option
@json_option
def status(names: tuple[str, ...], banks_url: str | None, as_json: bool) -> int:
    """Each exchange's fetch state, and whether its API's credentials are set."""
    store = CredentialStore()
    with _book(banks_url) as book:
        infos = [book.get(name) for name in names] if names else book.all()
    rows = []
    for info in infos:
        row = _public(info)
        if info.api != "file":
            source = store.source(info.api)
            row["credentials"] = f"set ({source.source})" if source.is_set else "not set"
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows))
        return 0
    for row in rows:
        click.echo(
            f"{row['name']}: {row['api']} into bank {row['bank']}, "
            f"{'enabled' if row['enabled'] else 'disabled'}, credentials "
            f"{row.get('credentials', 'not needed')}"
        )
        last = row["finished_at"] or "never"
        click.echo(
            f"  last fetch {last}: {'up to date' if row['up_to_date'] else 'not up to date'}, "
            f"{row['fetched']} records fetched in all, "
            f"checkpoint at {row['checkpoint_at'] or 'none'}"
        )
        if row["last_error"]:
            click.echo(f"  last error: {row['last_error']}")
    return 0


@exchange.command("enable")
@click.argument("name")
@banks_option
def enable(name: str, banks_url: str | None) -> int:
    """Fetch exchange NAME again with `exchange fetch`."""
    with _book(banks_url) as book:
        book.set_enabled(name, True)
    click.echo(f"Exchange {name!r} enabled.")
    return 0


@exchange.command("disable")
@click.argument("name")
@banks_option
def disable(name: str, banks_url: str | None) -> int:
    """Leave exchange NAME out of `exchange fetch`; its bank stays as it is."""
    with _book(banks_url) as book:
        book.set_enabled(name, False)
    click.echo(f"Exchange {name!r} disabled.")
    return 0


@exchange.command("remove")
@click.argument("name")
@banks_option
def remove(name: str, banks_url: str | None) -> int:
    """Forget exchange NAME; its bank stays (remove it with `clearsight bank remove`)."""
    with _book(banks_url) as book:
        bank = book.get(name).bank
        book.remove(name)
    click.echo(f"Exchange {name!r} removed; bank {bank!r} kept.")
    return 0


@exchange.command("fetch")
@click.argument("names", nargs=-1)
@click.option(
    "--batch",
    type=click.IntRange(1),
    default=BATCH_ENTRIES,
    show_default=True,
    help="Entries per commit: a stopped fetch resumes from the last one.",
)
@banks_option
@json_option
def fetch(names: tuple[str, ...], batch: int, banks_url: str | None, as_json: bool) -> int:
    """Fetch NAMES (default: every enabled exchange) until up to date; resumable.

    Each batch of entries is committed with the checkpoint it completes, so a fetch
    stopped at any moment (Ctrl-C, a kill, a server failure) resumes where the last
    commit left it, with nothing lost and nothing doubled. Withdrawn entries are
    removed. A refused credential or a failing server ends it with exit 3.
    """
    store = BankStore.open(banks_url)
    reports: list[FetchReport] = []
    try:
        book = ExchangeBook(store.engine)
        chosen = list(names) if names else [i.name for i in book.all() if i.enabled]
        if not chosen:
            raise UserError("no enabled exchange to fetch: add one with `clearsight exchange add`")
        for name in chosen:
            progress = None if as_json or not sys.stderr.isatty() else _say_progress
            try:
                reports.append(fetch_exchange(store, name, progress=progress, batch_entries=batch))
            finally:
                if progress is not None:
                    click.echo("", err=True)  # ends the progress line
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([report.as_dict() for report in reports]))
    else:
        for report in reports:
            click.echo(_report_line(report))
    return 0


def _say_progress(report: FetchReport) -> None:
    click.echo(f"\r{report.name}: {_counts(report)}", nl=False, err=True)


def _report_line(report: FetchReport) -> str:
    resumed = "resumed, " if report.resumed else ""
    state = "up to date" if report.up_to_date else "not up to date"
    return f"{report.name}: {resumed}{_counts(report)} in {report.seconds:.1f} s; {state}"


def _counts(report: FetchReport) -> str:
    skipped = sum(report.not_importable.values())
    return (
        f"{report.updates} records, {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.rejected} rejected, {skipped} not kept"
    )


def _public(info: ExchangeInfo) -> dict[str, Any]:
    row = info.as_dict()
    row.pop("checkpoint")  # the library's paging state: long, and of no use to a person
    return row


class _book:
    """The exchange book of the bank store at ``url``, closed after use."""

    def __init__(self, url: str | None) -> None:
        self._store = BankStore.open(url)

    def __enter__(self) -> ExchangeBook:
        return ExchangeBook(self._store.engine)

    def __exit__(self, *exc: object) -> None:
        self._store.close()
