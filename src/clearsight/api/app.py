"""The composition root of the matching service: a service in, a FastAPI app out.

The routes are plain Starlette routes on the FastAPI app: each reads HMA's parameters
itself, to answer HMA's messages and status codes exactly, and so that the lookup
routes, called thousands of times a second, pay for no validation layer. There are no
``/docs`` pages (they load from a CDN) and no OpenAPI description.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from clearsight import __version__
from clearsight.api.config import ApiConfig
from clearsight.api.errors import ApiError, api_error, http_error
from clearsight.api.fast_lookups import FastLookups
from clearsight.api.merged_slashes import MergedSlashes
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


def create_app(make_service: Callable[[], MatchingService]) -> FastAPI:
    """The service's app. The service is made when the app starts, and stops with it:
    with ``--workers N`` the app is made once, before the workers are forked, and each
    worker makes its own service (store connections and threads do not cross a fork).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = make_service()
        app.state.service = service
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
    app.router.routes.extend(ROUTES)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    # The lookups skip every layer inside FastLookups (see fast_lookups).
    app.add_middleware(FastLookups, state=app.state)
    app.add_middleware(MergedSlashes)  # outermost: added last
    return app


def service_maker(config: ApiConfig) -> Callable[[], MatchingService]:
    return lambda: MatchingService(CaseBanks(config.banks_url), config)


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker, configured by the ``clearsight api`` command
    through the environment (uvicorn's factory for ``--workers N`` where gunicorn
    cannot fork them: Windows)."""
    return create_app(service_maker(ApiConfig.from_environment()))
