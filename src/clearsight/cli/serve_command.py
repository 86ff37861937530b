"""``clearsight serve``: run the review server of one case under uvicorn.

It binds 127.0.0.1 unless told otherwise. Cookies are Secure when the server speaks
TLS itself (``--tls-cert``/``--tls-key``) or sits behind a TLS proxy
(``--behind-tls-proxy``). Only behind a proxy, and only from the proxy's own address
(``--proxy-address``), does the server believe ``X-Forwarded-For`` and
``X-Forwarded-Proto``: otherwise anyone could name any address, to escape the sign-in
brake that counts failures per address and to forge the audit log. Uvicorn's access
log is replaced by one that prints paths without query strings
(:mod:`clearsight.server.access_log`).
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from clearsight.cli.case_database import case_or_database, open_case_or_database
from clearsight.errors import DependencyError, UserError

DEFAULT_PORT = 8730


@click.command()
@case_or_database
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Serve HTTPS with this certificate (PEM); needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The private key (PEM) of --tls-cert.",
)
@click.option(
    "--behind-tls-proxy",
    is_flag=True,
    help="A TLS proxy in front serves HTTPS: mark cookies Secure, and take the client's "
    "address from the proxy's X-Forwarded-For.",
)
@click.option(
    "--proxy-address",
    "proxy_addresses",
    multiple=True,
    default=("127.0.0.1",),
    show_default=True,
    metavar="ADDRESS",
    help="With --behind-tls-proxy: the address (or network, as 10.0.0.0/24) the proxy "
    "connects from; forwarded headers from any other are ignored. Repeat for several.",
)
@click.option(
    "--banks",
    "banks_url",
    envvar="CLEARSIGHT_BANKS",
    help="Bank store URL shown to admins [banks.sqlite under CLEARSIGHT_HOME].",
)
@click.option(
    "--category-scheme",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The category scheme file (TOML) decisions use, if not the shipped one.",
)
def serve(
    case_dir: Path | None,
    database: str | None,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    behind_tls_proxy: bool,
    proxy_addresses: tuple[str, ...],
    banks_url: str | None,
    category_scheme: Path | None,
) -> int:
    """Serve the case to reviewers in a browser (and to API clients).

    Add accounts first with `clearsight user add`. Reviewers see the queue blurred
    and greyscale, reveal on purpose, and decide; every sign-in, reveal, decision,
    export and change is written to the case's audit log. The OpenAPI description is
    at /api/openapi.json (signed in); there are no /docs pages, which would need a CDN.

    \b
    Examples:
      clearsight serve --case ./case-0412
      clearsight serve --database postgresql://cs@db.lab/case_0412 --port 8443 \\
          --host 0.0.0.0 --tls-cert lab.pem --tls-key lab-key.pem
    """
    if (tls_cert is None) != (tls_key is None):
        raise UserError("give both --tls-cert and --tls-key, or neither")
    named = click.get_current_context().get_parameter_source("proxy_addresses")
    if not behind_tls_proxy and named is ParameterSource.COMMANDLINE:
        raise UserError("--proxy-address is for --behind-tls-proxy: give both, or neither")
    trusted = _proxies(proxy_addresses) if behind_tls_proxy else []
    try:
        import uvicorn

        from clearsight.server import ServerConfig, create_app
    except ModuleNotFoundError as exc:
        raise DependencyError(
            f"the review server needs {exc.name}: pip install 'clearsight[server]'"
        ) from exc
    tls = tls_cert is not None
    if not tls and not behind_tls_proxy and not _loopback(host):
        click.echo(
            f"clearsight: warning: serving {host} without TLS; passwords and pictures "
            "cross the network in the clear (use --tls-cert/--tls-key or a TLS proxy)",
            err=True,
        )
    case = open_case_or_database(
        case_dir, database, banks_url=banks_url, category_scheme=category_scheme
    )
    try:
        app = create_app(case, ServerConfig(secure_cookies=tls or behind_tls_proxy))
        _log_access_to_stderr()
        where = f"{'https' if tls else 'http'}://{_shown(host)}:{port}/"
        click.echo(f"clearsight: serving the review of this case at {where}", err=True)
        uvicorn.run(
            app,
            host=host,
            port=port,
            access_log=False,
            server_header=False,
            # Uvicorn believes forwarded headers from 127.0.0.1 unless told not to.
            proxy_headers=behind_tls_proxy,
            forwarded_allow_ips=trusted or None,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            log_level="info",
        )
    finally:
        case.close()
    return 0


def _proxies(addresses: tuple[str, ...]) -> list[str]:
    """The proxy addresses as uvicorn takes them, each checked to be one."""
    checked = []
    for address in addresses:
        try:
            checked.append(str(ipaddress.ip_network(address.strip(), strict=False)))
        except ValueError:
            raise UserError(
                f"--proxy-address {address[:80]!r}: expected an IP address or network"
            ) from None
    return checked


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _log_access_to_stderr() -> None:
    logger = logging.getLogger("clearsight.server.access")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
