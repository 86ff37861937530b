"""How refusals and errors reach the browser: a page for pages, JSON for the API.

Library errors are translated here, at the boundary: a :class:`UserError` is the
person's mistake (400), a preview that cannot be drawn says why (404/409/422), and
anything else is a plain 500 with no detail (the traceback goes to the server's log,
which never holds media or prompts: see :mod:`clearsight.review.preview`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearsight.errors import UserError
from clearsight.review.preview import PreviewError, PreviewProblem
from clearsight.server.access import (
    NotAllowed,
    Refusal,
    SignInRequired,
    is_api,
    signed_in_viewer,
)
from clearsight.server.pages import render

_PICTURES = ("/image", "/preview", "/thumbnail")
REFUSED_HEADER = "X-Clearsight-Refused"
_PREVIEW_STATUS = {
    PreviewProblem.NOT_IN_CASE: 404,
    PreviewProblem.STALE_FILE: 409,
    PreviewProblem.UNDECODABLE: 422,
}


async def problem(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """``message`` as JSON for the API and pictures, as the error page otherwise."""
    response: Response
    if is_api(request) or request.url.path.endswith(_PICTURES):
        response = JSONResponse({"detail": message}, status_code=status_code)
    else:
        viewer = await signed_in_viewer(request)
        response = render(request, "error.html", viewer, status_code, message=message)
    response.headers.update(headers or {})
    return response


def install_error_handlers(app: FastAPI) -> None:
    async def sign_in_required(request: Request, exc: Exception) -> Response:
        refused = {REFUSED_HEADER: Refusal.SIGN_IN.value}
        if is_api(request) or request.method != "GET":
            return JSONResponse(
                {"detail": "sign in first"},
                status_code=401,
                headers={"WWW-Authenticate": 'Cookie realm="clearsight"', **refused},
            )
        return RedirectResponse("/login", status_code=303, headers=refused)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        return await problem(request, 403, str(exc), {REFUSED_HEADER: exc.refusal.value})

    async def user_error(request: Request, exc: Exception) -> Response:
        return await problem(request, 400, str(exc))

    async def preview_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PreviewError)
        return await problem(request, _PREVIEW_STATUS[exc.problem], str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return await problem(request, exc.status_code, str(exc.detail))

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if is_api(request):
            # The field names and messages only; never the values sent.
            errors = [
                {"loc": list(error.get("loc", ())), "msg": error.get("msg", "")}
                for error in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        fields = ", ".join(str(error.get("loc", ("?",))[-1]) for error in exc.errors())
        return await problem(request, 422, f"the form is missing or has a wrong value: {fields}")

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(NotAllowed, not_allowed)
    app.add_exception_handler(UserError, user_error)
    app.add_exception_handler(PreviewError, preview_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
