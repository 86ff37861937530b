"""Signing in and out, from a form or from the API.

The answer to a failed sign-in is the same whether the name exists, the password is
wrong or the account is disabled (and takes as long: see
:mod:`clearsight.review.accounts`). Too many failures answer 429 with Retry-After.
Only a few sign-ins check a password at once, the others queue: each Argon2 check
holds 64 MiB, and a crowd of sign-ins must not take the server's memory with it.
The login form has no session yet, so it carries a CSRF token of its own, checked
against a cookie set with the form (double submit): no other site can sign a browser
in to an account of its choosing.
"""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearsight.review.login_sessions import IssuedSession, LoginOutcome, LoginResult
from clearsight.server.access import (
    PUBLIC,
    SIGNED_IN,
    NotAllowed,
    Refusal,
    Viewer,
    cookie_name,
    secure_request,
    signed_in_viewer,
)
from clearsight.server.pages import render
from clearsight.server.services import services_of

router = APIRouter()
REFUSED = "That name and password did not sign in."
LOGIN_FIELD = "login_token"


def _login_cookie(request: Request) -> str:
    return "__Host-clearsight-login" if secure_request(request) else "clearsight-login"


class Credentials(BaseModel):
    name: str = Field(max_length=200)
    password: str = Field(max_length=2048)


class SignedIn(BaseModel):
    name: str
    role: str
    csrf_token: str


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, _: Annotated[None, Depends(PUBLIC)]) -> Response:
    if await signed_in_viewer(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _form(request)


@router.post("/login", include_in_schema=False)
async def login_form(
    request: Request,
    _: Annotated[None, Depends(PUBLIC)],
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=2048)],
    login_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    expected = request.cookies.get(_login_cookie(request), "")
    if not expected or not hmac.compare_digest(expected.encode(), login_token.encode()):
        raise NotAllowed(
            "the sign-in form is out of date: reload the page and try again", Refusal.CSRF
        )
    result = await _login(request, name, password)
    if result.outcome is LoginOutcome.SIGNED_IN and result.issued is not None:
        signed_in = RedirectResponse("/", status_code=303)
        _set_session(request, signed_in, result.issued)
        signed_in.delete_cookie(_login_cookie(request), path="/")
        return signed_in
    if result.outcome is LoginOutcome.THROTTLED:
        wait = _retry_after(result)
        response = _form(request, f"Too many failed sign-ins. Try again in {wait} seconds.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    return _form(request, REFUSED, 401)


@router.post("/api/login", response_model=SignedIn, tags=["session"])
async def login_api(
    request: Request, _: Annotated[None, Depends(PUBLIC)], credentials: Credentials
) -> Response:
    """Sign in; the session cookie comes with the answer, and ``csrf_token`` must be
    sent as ``X-CSRF-Token`` with every state-changing call. JSON only, so that no
    other site's form can post here."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"detail": "send JSON"}, status_code=415)
    result = await _login(request, credentials.name, credentials.password)
    if result.outcome is LoginOutcome.THROTTLED:
        wait = _retry_after(result)
        return JSONResponse(
            {"detail": "too many failed sign-ins"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    if result.issued is None:
        return JSONResponse({"detail": REFUSED}, status_code=401)
    issued = result.issued
    response = JSONResponse(
        SignedIn(
            name=issued.account.name, role=issued.account.role.value, csrf_token=issued.csrf_token
        ).model_dump()
    )
    _set_session(request, response, issued)
    return response


@router.post("/logout", include_in_schema=False)
async def logout_form(request: Request, viewer: Annotated[Viewer, Depends(SIGNED_IN)]) -> Response:
    await _logout(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(cookie_name(request), path="/")
    return response


@router.post("/api/logout", status_code=204, tags=["session"])
async def logout_api(request: Request, viewer: Annotated[Viewer, Depends(SIGNED_IN)]) -> Response:
    """End this session."""
    await _logout(request)
    response = Response(status_code=204)
    response.delete_cookie(cookie_name(request), path="/")
    return response


async def _login(request: Request, name: str, password: str) -> LoginResult:
    address = request.client.host if request.client else "unknown"
    sessions = services_of(request).sessions
    # A few password checks at a time (see ServerConfig.password_checks).
    checks: CapacityLimiter = request.app.state.password_checks
    return await to_thread.run_sync(sessions.login, name, password, address, limiter=checks)


async def _logout(request: Request) -> None:
    token = request.cookies.get(cookie_name(request), "")
    await run_in_threadpool(services_of(request).sessions.revoke, token)


def _set_session(request: Request, response: Response, issued: IssuedSession) -> None:
    response.set_cookie(
        cookie_name(request),
        issued.token,
        httponly=True,
        samesite="strict",
        secure=secure_request(request),
        path="/",
    )


def _form(request: Request, message: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    case_name = services_of(request).store.case_record().name
    response = render(
        request,
        "login.html",
        None,
        status_code,
        message=message,
        login_token=token,
        title=f"Sign in to {case_name}",
    )
    response.set_cookie(
        _login_cookie(request),
        token,
        httponly=True,
        samesite="strict",
        secure=secure_request(request),
        path="/",
    )
    return response


def _retry_after(result: LoginResult) -> int:
    seconds = result.retry_after.total_seconds() if result.retry_after else 60.0
    return max(1, math.ceil(seconds))
