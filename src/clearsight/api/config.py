"""How one matching service runs: its bank store, who may call it, what it may fetch.

The configuration travels to uvicorn's worker processes as JSON in an environment
variable (:data:`CONFIG_VARIABLE`): with ``--workers N`` uvicorn imports the app in
each worker, and this is how each learns what the command line said.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

CONFIG_VARIABLE = "CLEARSIGHT_API_CONFIG"


@dataclass(frozen=True)
class ApiConfig:
    """``allow_url``: hosts (``HOST`` or ``HOST:PORT``; ``*``: any public host) whose
    media may be fetched by URL; empty, URL input is off. ``stale_after``: seconds the
    index may lag its banks before ``/status`` says INDEX-STALE. ``fetch_every``: seconds
    between fetches of the exchanges (None: only when asked)."""

    banks_url: str | None = None
    no_auth: bool = False
    allow_url: tuple[str, ...] = field(default_factory=tuple)
    stale_after: float = 65.0
    refresh_every: float = 1.0
    max_upload_bytes: int = 64 * 1024 * 1024
    url_timeout: float = 30.0
    fetch_every: float | None = None

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ApiConfig:
        given = json.loads(os.environ.get(CONFIG_VARIABLE, "{}"))
        given["allow_url"] = tuple(given.get("allow_url", ()))
        return cls(**given)
