"""Room history over HTTP (docs/PROTOCOL.md §4.4): stored envelopes and epochs.

Members of the room only; anyone else, a room that does not exist and a
room of another tenant all get the same 404.
"""

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.errors import AccountError
from accounts.models import Tenant
from config.api import TenantAPIView
from rooms.message_actions import RoomError
from rooms.message_selectors import HISTORY_PAGE_MAX, access_room, epochs_of, messages_before
from rooms.models import Room

DEFAULT_PAGE = 50


def _room(request: Request, room_id: str) -> Room:
    tenant: Tenant = request._request.tenant  # type: ignore[attr-defined]
    try:
        return access_room(tenant, request.user.get_username(), room_id)
    except RoomError:
        raise AccountError("not_found", "Not found.", status=404) from None


def _int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise AccountError("invalid_request", f"'{name}' must be an integer from {low} to {high}")
    return value


class MessagesView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request, room_id: str) -> Response:
        room = _room(request, room_id)
        before = _int(request, "before", None, 1, 2**53 - 1)
        limit = _int(request, "limit", DEFAULT_PAGE, 1, HISTORY_PAGE_MAX) or DEFAULT_PAGE
        rows, more = messages_before(room, before=before, limit=limit)
        return Response(
            {
                "messages": [{"seq": seq, "envelope": envelope} for seq, envelope in rows],
                "more": more,
            }
        )


class EpochsView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request, room_id: str) -> Response:
        room = _room(request, room_id)
        records, shares = epochs_of(room, request.user.get_username())
        return Response({"records": records, "shares": shares})
