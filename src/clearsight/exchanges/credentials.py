"""Exchange credentials: a file its owner alone may read, or the environment.

Each API's secret is one string in the form its python-threatexchange credential
class parses (NCMEC and TAT ``user:password``, StopNCII ``fetch_key,subscription_key``,
ThreatExchange an app token ``id|secret``), so a person who used the library's own
CLI or HMA recognises them, and the library's own environment variables
(``TX_NCMEC_CREDENTIALS``, ``TX_STOPNCII_KEYS``, ``TX_ACCESS_TOKEN``,
``PYTX_TAT_CREDENTIALS``) take precedence over the file, as they do there.

The file is ``exchange-credentials.json`` under CLEARSIGHT_HOME, written mode 0600
through a file made 0600 before anything is written to it, then renamed into place. A
file that others can read is refused rather than used. No secret is ever printed,
logged or put in an exception: what leaves this module is whether one is set, and
from where.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from clearsight.errors import DependencyError, UserError
from clearsight.home import clearsight_home

CREDENTIALS_FILE = "exchange-credentials.json"

# The library's variable for each API (its CredentialHelper.ENV_VARIABLE), written out
# so that `exchange status` need not import the library.
ENVIRONMENT = {
    "ncmec": "TX_NCMEC_CREDENTIALS",
    "stop_ncii": "TX_STOPNCII_KEYS",
    "fb_threatexchange": "TX_ACCESS_TOKEN",
    "tat": "PYTX_TAT_CREDENTIALS",
    # Not an exchange: NCMEC's CyberTipline reporting API (clearsight.cybertip).
    "cybertip": "CLEARSIGHT_CYBERTIP_CREDENTIALS",
}
FORMS = {
    "ncmec": "USER:PASSWORD",
    "stop_ncii": "FETCH_FUNCTION_KEY,SUBSCRIPTION_KEY",
    "fb_threatexchange": "APP_ID|APP_SECRET (an app access token)",
    "tat": "USER:PASSWORD",
    "cybertip": "USER:PASSWORD",
}


@dataclass(frozen=True)
class CredentialSource:
    """Where an API's secret was found: ``"environment"``, ``"file"`` or ``None``."""

    api: str
    source: str | None

    @property
    def is_set(self) -> bool:
        return self.source is not None


class CredentialStore:
    """The credentials file under ``home`` (CLEARSIGHT_HOME when None), and the environment."""

    def __init__(self, home: Path | None = None) -> None:
        self._path = (home or clearsight_home()) / CREDENTIALS_FILE

    @property
    def path(self) -> Path:
        return self._path

    def source(self, api: str) -> CredentialSource:
        if os.environ.get(ENVIRONMENT.get(api, ""), ""):
            return CredentialSource(api, "environment")
        return CredentialSource(api, "file" if api in self._read() else None)

    def secret(self, api: str) -> str | None:
        """The secret for ``api``: the environment's, else the file's, else None."""
        variable = ENVIRONMENT.get(api)
        if variable and os.environ.get(variable):
            return os.environ[variable]
        return self._read().get(api)

    def set(self, api: str, secret: str) -> None:
        """Keep ``secret`` for ``api`` in the file (made 0600), replacing any before."""
        if api not in ENVIRONMENT:
            raise UserError(f"exchange API {api!r} takes no credentials")
        secret = secret.strip()
        if not secret or "\n" in secret:
            raise UserError(f"credentials for {api} are one line: {FORMS[api]}")
        held = self._read()
        held[api] = secret
        self._write(held)

    def forget(self, api: str) -> bool:
        held = self._read()
        if held.pop(api, None) is None:
            return False
        self._write(held)
        return True

    def _read(self) -> dict[str, str]:
        try:
            mode = self._path.stat().st_mode
        except FileNotFoundError:
            return {}
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise DependencyError(
                f"{self._path} can be read by others (mode {stat.S_IMODE(mode):o}); "
                "run `chmod 600` on it, or set the credentials again"
            )
        try:
            held = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            # The reason only: a JSON error quotes the text around it, which is a secret.
            raise DependencyError(
                f"cannot read {self._path}: {type(exc).__name__}; set the credentials again"
            ) from None
        if not isinstance(held, dict):
            raise DependencyError(f"{self._path} is not a credentials file")
        return {str(k): str(v) for k, v in held.items()}

    def _write(self, held: dict[str, str]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(self._path.name + ".partial")
        partial.unlink(missing_ok=True)
        # O_EXCL with mode 0600: the secret never sits in a file others could open.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(held, out)
        os.replace(partial, self._path)
