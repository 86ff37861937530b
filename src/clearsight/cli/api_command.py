"""``clearsight api``: serve the matching service (HMA's API) under uvicorn.

Before any worker starts, each bank's index is loaded or built once and saved to the
index cache, and searched once (the compiled kernels loaded); the workers then map the
same files. With ``--workers N`` this process becomes the master the workers are forked
from (:mod:`clearsight.api.prefork`), so that they share what it loaded; on Windows,
where nothing forks, uvicorn spawns them and the configuration reaches them in an
environment variable. No access log: request lines carry signals in their query
strings, and tokens in their headers.
"""

from __future__ import annotations

import ipaddress
import os
import sys

import click

from clearsight.cli.bank_options import banks_option
from clearsight.errors import DependencyError, UserError

DEFAULT_PORT = 5000


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@banks_option
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes serving requests; they share one memory-mapped copy of each index.",
)
@click.option(
    "--allow-url",
    "allow_url",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Let callers give media by URL from this host (repeat for several; '*' for any "
    "public host). Off by default; private and loopback addresses only when listed.",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Take requests without API keys: only on a loopback address, behind a gateway "
    "that authenticates.",
)
@click.option(
    "--stale-after",
    type=click.FloatRange(1, 86400),
    default=65.0,
    show_default=True,
    help="Seconds the index may lag its banks before /status answers INDEX-STALE.",
)
@click.option(
    "--fetch-every",
    type=click.FloatRange(1, 7 * 86400),
    default=None,
    metavar="SECONDS",
    help="Fetch every enabled exchange this often, in the background (first at start); "
    "lookups never wait for a fetch, and the index catches up after each one. Off by "
    "default: fetch with `clearsight exchange fetch` or POST /c/exchange/NAME/fetch.",
)
def api(
    host: str,
    port: int,
    banks_url: str | None,
    workers: int,
    allow_url: tuple[str, ...],
    no_auth: bool,
    stale_after: float,
    fetch_every: float | None,
) -> int:
    """Serve the matching service: Hasher-Matcher-Actioner's API over the banks.

    Platforms call it on every upload. Clients written for HMA 2.x work unchanged,
    adding `Authorization: Bearer <token>`; make keys with `clearsight api-key add`.
    /status, /status/live and /site-map need no key.

    \b
    Examples:
      clearsight api-key add uploads --role matcher,hasher
      clearsight api --port 5000 --workers 2
      clearsight api --fetch-every 300      # keep the exchanges' banks in sync
      curl -H "Authorization: Bearer $TOKEN" \\
          "http://127.0.0.1:5000/m/lookup?signal_type=pdq&signal=…"
    """
    if no_auth and not _loopback(host):
        raise UserError("--no-auth serves only a loopback address (127.0.0.1 or ::1)")
    try:
        import numpy as np
        import uvicorn

        from clearsight.api import ApiConfig
        from clearsight.api.app import create_app, service_maker
        from clearsight.api.config import CONFIG_VARIABLE
    except ModuleNotFoundError as exc:
        raise DependencyError(
            f"the matching service needs {exc.name}: pip install 'clearsight[server]'"
        ) from exc
    from clearsight.case import CaseBanks

    config = ApiConfig(
        banks_url=banks_url,
        no_auth=no_auth,
        allow_url=allow_url,
        stale_after=stale_after,
        fetch_every=fetch_every,
    )
    banks = CaseBanks(banks_url)
    try:
        banks.store()  # made and migrated here, once, not by each worker
        click.echo("clearsight: loading the banks' indexes…", err=True)
        index = banks.live_index()
        index.refresh()  # builds and saves what the workers will map
        # Loads the compiled kernels here, where forked workers share them.
        index.search_pdq(np.zeros((1, 4), dtype=np.uint64), enabled_only=False)
        del index
        keys = banks.access_keys().active_by_digest()
    finally:
        banks.close()
    if not _loopback(host):
        click.echo(
            f"clearsight: warning: serving {host} over plain HTTP; API keys cross the "
            "network in the clear (put a TLS proxy in front)",
            err=True,
        )
    if no_auth:
        click.echo(
            "clearsight: WARNING: --no-auth: every request is served without an API key; "
            "only a gateway that authenticates may stand in front of this service",
            err=True,
        )
    elif not keys:
        click.echo(
            "clearsight: no API keys yet: every request but /status will be refused; "
            "add one with `clearsight api-key add NAME --role matcher`",
            err=True,
        )
    where = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    click.echo(f"clearsight: matching service at {where} ({workers} worker(s))", err=True)
    app = create_app(service_maker(config))
    if workers > 1 and sys.platform != "win32":
        try:
            from clearsight.api.prefork import serve_forked
        except ModuleNotFoundError as exc:
            raise DependencyError(
                f"--workers needs {exc.name}: pip install 'clearsight[server]'"
            ) from exc
        serve_forked(app, host, port, workers)
        return 0
    if workers == 1:
        uvicorn.run(
            app,
            host=host,
            port=port,
            access_log=False,
            server_header=False,
            log_level="warning",
        )
        return 0
    # Several workers on Windows: this process becomes uvicorn's supervisor, a fresh
    # interpreter that imports only uvicorn, and uvicorn spawns the workers.
    os.environ[CONFIG_VARIABLE] = config.to_environment()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(
        sys.executable,
        [
            sys.executable, "-m", "uvicorn", "clearsight.api.app:app_from_environment",
            "--factory", "--workers", str(workers), "--host", host, "--port", str(port),
            "--no-access-log", "--no-server-header", "--log-level", "warning",
        ],
    )  # fmt: skip
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
