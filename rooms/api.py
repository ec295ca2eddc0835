"""The trust chain over HTTP (docs/PROTOCOL.md §6): read it, append to it.

Appending needs no session: a link is valid by its signatures and the chain
rules, whoever carries it (a newcomer's self-signed admit, say). Reading the
whole chain needs a member's session; the genesis is public, so that a
newcomer can compare the tenant fingerprint with the one in their invite.
"""

from typing import Any

from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.errors import AccountError
from accounts.models import Tenant, User
from config.api import TenantAPIView
from protocol import b64u_encode
from rooms import actions
from rooms.selectors import (
    CHAIN_PAGE,
    chain_head,
    chain_links_after,
    genesis_anchors,
    genesis_link,
    root_seats,
)


def _tenant(request: Request) -> Tenant:
    tenant: Tenant = request._request.tenant  # type: ignore[attr-defined]
    return tenant


class ChainView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        tenant = _tenant(request)
        after_text = request.query_params.get("after", "-1")
        try:
            after = int(after_text)
        except ValueError:
            raise AccountError("invalid_request", "'after' must be an integer") from None
        links = chain_links_after(tenant, after, limit=CHAIN_PAGE + 1)
        head = chain_head(tenant)
        body: dict[str, Any] = {
            "links": [row.link for row in links[:CHAIN_PAGE]],
            "more": len(links) > CHAIN_PAGE,
            "head": {
                "seq": head.seq if head else -1,
                "hash": b64u_encode(bytes(head.hash)) if head and head.hash else None,
            },
        }
        return Response(body)


class HeadView(TenantAPIView):
    """Public: what a newcomer's admit link must extend (seq and prev)."""

    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        head = chain_head(_tenant(request))
        return Response(
            {
                "seq": head.seq if head else -1,
                "hash": b64u_encode(bytes(head.hash)) if head and head.hash else None,
            }
        )


class GenesisView(TenantAPIView):
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        tenant = _tenant(request)
        row = genesis_link(tenant)
        anchors = [
            {
                "fingerprint": anchor.fingerprint,
                "certificate": anchor.certificate,
                "clearsigned": anchor.clearsigned,
            }
            for anchor in genesis_anchors(tenant)
        ]
        return Response({"link": row.link if row else None, "anchors": anchors})


class LinksView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        body = self.body(request)
        token = body.get("enrolment_token")
        row = actions.check_append_link(
            _tenant(request),
            body.get("link"),
            enrolment_token=token if isinstance(token, str) else None,
        )
        return Response(
            {"seq": row.seq, "hash": b64u_encode(bytes(row.hash))},
            status=status.HTTP_201_CREATED,
        )


class GenesisDraftView(TenantAPIView):
    """A multi-root genesis in the making (§6.8), for its root admins only."""

    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        tenant = _tenant(request)
        seats = root_seats(tenant)
        if not any(seat.user_id == request.user.pk for seat in seats):
            raise AccountError("not_found", "Not found.", status=404)
        tenant.refresh_from_db(fields=["genesis_draft"])
        return Response(
            {
                "roots_total": len(seats),
                "enrolled": [seat.user.username for seat in seats if seat.user is not None],
                "signed": [
                    seat.user.username
                    for seat in seats
                    if seat.user is not None and seat.genesis_sig
                ],
                "draft": tenant.genesis_draft,
                "founded": genesis_link(tenant) is not None,
            }
        )


class GenesisSignatureView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def post(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        founded = actions.check_sign_genesis(_tenant(request), user, self.body(request).get("sig"))
        return Response({"founded": founded})
