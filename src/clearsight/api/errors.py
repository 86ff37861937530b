"""Errors as HMA answers them: a status and ``{"message": "..."}``."""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(content: object, status: int = 200) -> Response:
    """JSON through orjson: the lookup routes answer thousands of times a second."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    response = json_response({"message": exc.message}, exc.status)
    if headers:
        response.headers.update(headers)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response({"message": exc.detail}, exc.status_code)


def require(params: object, name: str) -> str:
    value = params.get(name)  # type: ignore[attr-defined]
    if value is None:
        raise ApiError(400, f"{name} is required")
    return str(value)


def str_to_bool(text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise ApiError(400, "invalid boolean parameter - prefer true/false")
