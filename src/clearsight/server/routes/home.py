"""Where a signed-in person lands, who they are, and the API's own description."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from clearsight import __version__
from clearsight.review.accounts import Role
from clearsight.server.access import SIGNED_IN, Viewer
from clearsight.server.pages import wellness_of
from clearsight.server.services import services_of

router = APIRouter()
_HOME = {
    Role.ADMIN: "/admin/users",
    Role.AUDITOR: "/audit",
    Role.SUPERVISOR: "/queue",
    Role.REVIEWER: "/queue",
}


class Me(BaseModel):
    name: str
    role: str
    seconds_today: float
    allowance_s: float
    break_due: bool


@router.get("/", include_in_schema=False)
def home(viewer: Annotated[Viewer, Depends(SIGNED_IN)]) -> Response:
    return RedirectResponse(_HOME[viewer.role], status_code=303)


@router.get("/api/me", response_model=Me, tags=["session"])
def me(request: Request, viewer: Annotated[Viewer, Depends(SIGNED_IN)]) -> Me:
    """The signed-in account and its exposure meter for today."""
    wellness = wellness_of(services_of(request), viewer)
    return Me(
        name=viewer.account.name,
        role=viewer.role.value,
        seconds_today=wellness.seconds_today,
        allowance_s=wellness.allowance_s,
        break_due=wellness.break_due,
    )


@router.get("/api/openapi.json", tags=["session"])
async def openapi(request: Request, _: Annotated[Viewer, Depends(SIGNED_IN)]) -> dict[str, Any]:
    """This API's OpenAPI description (the interactive docs are not served: they load
    their code from a CDN, which an offline tool and its CSP do not allow)."""
    app = request.app
    if app.openapi_schema is None:
        app.openapi_schema = await run_in_threadpool(
            get_openapi,
            title="clearsight review server",
            version=__version__,
            description="Review a case: the queue, items, reveals, decisions, "
            "supervision, administration and the audit log. Sign in with "
            "POST /api/login; send the csrf_token it returns as X-CSRF-Token.",
            routes=app.routes,
        )
    schema: dict[str, Any] = app.openapi_schema
    return schema
