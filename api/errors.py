"""Every error is JSON `{"error": code, "message": text, ...details}` — never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import JsonResponse

log = logging.getLogger("kefu.api")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """Every error answer: a code, a sentence, and details such as the field at fault."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a router: the error answers its routes can give."""
    return {status: {"model": ErrorBody, "description": STATUS_CODES[status].replace("_", " ")}
            for status in statuses}


# What any route behind a token can answer besides its own success (bad query, no/wrong token, another
# shop's token or too weak a role, Redis or Kafka unreachable).
AUTHORIZED_ERRORS = (400, 401, 403, 422, 503)


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, *,
                 headers: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.message = message
        self.headers = headers
        self.details = details


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **details: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **details}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JsonResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JsonResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "(request)"
        return error_response(422, "invalid", f"{field}: {first.get('msg', 'invalid')}", field=field)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JsonResponse:
        log.exception("unexpected error")
        return error_response(500, "internal", "internal error; the incident was logged")
