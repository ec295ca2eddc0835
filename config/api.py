"""What every API view shares: one error shape, CSRF always, tenant required.

Errors are `{"error": <stable code>, "message": <sentence>}`; no stack trace
or exception text from inside the server reaches a client.
"""

import logging
from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import AccountError
from config.api_authentication import CsrfSessionAuthentication

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024


def error_response(
    code: str, message: str, status_code: int, *, retry_after: int | None = None
) -> Response:
    body: dict[str, Any] = {"error": code, "message": message}
    response = Response(body, status=status_code)
    if retry_after is not None:
        body["retry_after"] = retry_after
        response["Retry-After"] = str(retry_after)
    return response


_DRF_CODES: dict[type[exceptions.APIException], tuple[str, int]] = {
    exceptions.NotAuthenticated: ("not_authenticated", status.HTTP_401_UNAUTHORIZED),
    exceptions.AuthenticationFailed: ("not_authenticated", status.HTTP_401_UNAUTHORIZED),
    exceptions.PermissionDenied: ("forbidden", status.HTTP_403_FORBIDDEN),
    exceptions.ParseError: ("invalid_request", status.HTTP_400_BAD_REQUEST),
    exceptions.UnsupportedMediaType: ("invalid_request", status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    exceptions.MethodNotAllowed: ("method_not_allowed", status.HTTP_405_METHOD_NOT_ALLOWED),
    exceptions.NotFound: ("not_found", status.HTTP_404_NOT_FOUND),
    exceptions.Throttled: ("throttled", status.HTTP_429_TOO_MANY_REQUESTS),
}


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(error, AccountError):
        return error_response(
            error.code, error.message, error.status, retry_after=error.retry_after
        )
    if isinstance(error, Http404):
        return error_response("not_found", "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(error, exceptions.PermissionDenied) and "CSRF" in str(error.detail):
        return error_response(
            "csrf_failed", "Reload the page and try again (CSRF check failed).", 403
        )
    for kind, (code, status_code) in _DRF_CODES.items():
        if isinstance(error, kind):
            return error_response(code, str(error.detail), status_code)
    if isinstance(error, exceptions.APIException):
        return error_response("invalid_request", str(error.detail), error.status_code)
    logger.exception("api: unexpected error in %s", type(context.get("view")).__name__)
    return error_response("internal_error", "The server could not handle this request.", 500)


class TenantAPIView(APIView):
    """An API view that exists only on a tenant's host and takes JSON bodies."""

    authentication_classes = (CsrfSessionAuthentication,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if getattr(request._request, "tenant", None) is None:
            raise Http404
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise AccountError(
                "too_large", f"Request bodies are limited to {MAX_BODY_BYTES} bytes.", status=413
            )
        super().initial(request, *args, **kwargs)

    def body(self, request: Request) -> dict[str, Any]:
        data = request.data
        if not isinstance(data, dict):
            raise AccountError("invalid_request", "The body must be a JSON object.")
        return dict(data)
