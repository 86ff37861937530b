"""The composition root of the matching service: a service in, a FastAPI app out.

The routes are plain Starlette routes on the FastAPI app: each reads HMA's parameters
itself, to answer HMA's messages and status codes exactly, and so that the lookup
routes, called thousands of times a second, pay for no validation layer. There are no
``/docs`` pages (they load from a CDN) and no OpenAPI description.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from clearsight import __version__
from clearsight.api.config import ApiConfig
from clearsight.api.errors import ApiError, api_error, http_error
from clearsight.api.fast_lookups import FastLookups
from clearsight.api.routes import curation, exchanges, hashing, matching, status
from clearsight.api.service import MatchingService
from clearsight.case import CaseBanks

ROUTES = (
    *status.ROUTES,
    *hashing.ROUTES,
    *matching.ROUTES,
    *curation.ROUTES,
    *exchanges.ROUTES,
)


def create_app(service: MatchingService) -> FastAPI:
    """The service's app; the service starts and stops with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="clearsight matching service",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.router.routes.extend(ROUTES)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    # Outermost: the lookups skip every layer inside it (see fast_lookups).
    app.add_middleware(FastLookups, service=service)
    return app


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker, configured by the ``clearsight api`` command
    through the environment (uvicorn's factory for ``--workers N``)."""
    config = ApiConfig.from_environment()
    return create_app(MatchingService(CaseBanks(config.banks_url), config))
