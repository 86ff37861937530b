"""Options that commands outside ``clearsight bank`` share with it.

Apart from :mod:`clearsight.cli.bank_command` so that a command taking ``--banks`` (a
scan) does not import the bank store, its file formats and its originals' decoders
just to declare an option.
"""

from __future__ import annotations

import click

banks_option = click.option(
    "--banks",
    "banks_url",
    envvar="CLEARSIGHT_BANKS",
    help="Bank store URL (e.g. postgresql+psycopg://…) [banks.sqlite under CLEARSIGHT_HOME].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
