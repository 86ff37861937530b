"""``--workers N``: worker processes forked from one master that loaded everything first.

gunicorn is the pre-fork server made for this. The command's process becomes its
master: the app is made there (the service's modules imported, the index's compiled
kernels loaded by the command's first search), the master's objects are frozen out of
the cyclic collector's reach (:func:`gc.freeze`, so that a worker's collections do not
write to the pages it shares with the others, and so copy them), and only then are the
workers forked. Each worker serves with uvicorn (uvicorn-worker's class) and makes its
own :class:`~clearsight.api.service.MatchingService` when its app starts: store
connections and threads do not cross a fork. The index itself is a memory-mapped file,
shared whichever way the workers start.

uvicorn's own ``--workers`` starts each worker as a fresh interpreter that imports
everything again: about 85 MiB private per worker, measured, where a forked worker
keeps about 20 MiB to itself.
"""

from __future__ import annotations

import gc
from typing import Any

from fastapi import FastAPI
from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker


class ApiWorker(UvicornWorker):  # type: ignore[misc]  # untyped
    # No access log (request lines carry signals, headers tokens) and no Server header,
    # as the single-process service.
    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",
        "http": "auto",
        "access_log": False,
        "server_header": False,
    }


class _Master(BaseApplication):  # type: ignore[misc]  # untyped
    def __init__(self, app: FastAPI, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> FastAPI:
        return self._app


def serve_forked(app: FastAPI, host: str, port: int, workers: int) -> None:
    """Serve ``app`` on ``host:port`` from ``workers`` processes forked from this one,
    until this process is told to stop (SIGTERM, SIGINT)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    master = _Master(
        app,
        {
            "bind": [bind],
            "workers": workers,
            "worker_class": f"{__name__}.ApiWorker",
            "preload_app": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "keepalive": 5,  # uvicorn's own default
            # A worker whose loop misses gunicorn's heartbeat this long is restarted:
            # generous, since a bank reloading beside the loop can hold the GIL a while.
            "timeout": 300,
            "proc_name": "clearsight-api",
        },
    )
    gc.collect()
    gc.freeze()
    master.run()
