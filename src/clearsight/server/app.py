"""The composition root of the review server: one case in, one FastAPI app out.

FastAPI's interactive docs (/docs, /redoc) load Swagger UI from a CDN; the tool is
offline and its CSP forbids it, so they are off, and the OpenAPI description is
served only to signed-in people at ``/api/openapi.json``.
"""

from __future__ import annotations

from importlib import resources

from anyio import CapacityLimiter
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from clearsight import __version__
from clearsight.case import Case
from clearsight.server.access_log import AccessLog
from clearsight.server.body_limit import BodyLimit
from clearsight.server.config import ServerConfig
from clearsight.server.errors import install_error_handlers
from clearsight.server.headers import SecurityHeaders
from clearsight.server.routes import (
    account,
    admin,
    audit,
    decisions,
    exports,
    home,
    items,
    login,
    media,
    queue,
    reveals,
    supervision,
)
from clearsight.server.services import ReviewServices

ROUTERS = (
    login.router,
    home.router,
    queue.router,
    items.router,
    media.router,
    reveals.router,
    decisions.router,
    supervision.router,
    exports.router,
    admin.router,
    audit.router,
    account.router,
)


def create_app(case: Case, config: ServerConfig | None = None) -> FastAPI:
    """The review server of ``case``. The caller keeps and closes the case."""
    config = config or ServerConfig()
    app = FastAPI(
        title="clearsight review server",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = ReviewServices.build(case, config)
    app.state.password_checks = CapacityLimiter(config.password_checks)
    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("clearsight.server").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    install_error_handlers(app)
    # Inside the headers, so that a 413 carries them too.
    app.add_middleware(
        BodyLimit, anonymous=config.anonymous_body_bytes, signed_in=config.body_bytes
    )
    # Added after the handlers and the body limit, so outside them: the headers go on
    # every answer, errors included.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    return app
