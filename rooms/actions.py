"""Appending to the trust chain: the one write path of rooms.

A link is parsed and its signatures verified (protocol/chain.py), then
applied to the current chain state under a row lock on the tenant's head, so
links are appended one at a time and each is judged against exactly the
state before it. The link, the new head and the materialised state are
written in one transaction; a refused link stores nothing.
"""

import hashlib
import hmac
import threading
import time
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.errors import AccountError
from accounts.models import AccountState, RootEnrolment, Tenant, User
from protocol import ProtocolError, b64u_decode, b64u_encode
from protocol.chain import (
    LINK_VERSION,
    ChainState,
    Link,
    LinkType,
    parse_link,
    sign_link,
    verify_chain,
)
from protocol.encoding import canonical_json
from protocol.signing import SignatureTag, sign_public_key, verify
from relay.publish import announce_chain_change
from rooms.models import ChainHead, ChainLink, ChainMember, GenesisAnchor, Room, RoomMember
from rooms.pgp_anchor import genesis_statement, verify_anchor
from rooms.selectors import all_chain_links, genesis_link

# Verified chain states by tenant, so an append does not re-verify the whole
# chain. Keyed by head hash: a worker that missed another worker's append
# sees a different head and rebuilds from the stored links.
_state_cache: dict[int, ChainState] = {}
_state_cache_lock = threading.Lock()


def _refuse(error: ProtocolError) -> AccountError:
    return AccountError(error.code, f"Link refused: {error.message}")


def _now_ms() -> int:
    return int(time.time() * 1000)


def chain_state(tenant: Tenant, head: ChainHead) -> ChainState:
    """The verified state at `head` (from the cache, or rebuilt from the links)."""
    with _state_cache_lock:
        cached = _state_cache.get(tenant.pk)
    if cached is not None and cached.head == (bytes(head.hash) if head.hash else None):
        return cached
    state = verify_chain(
        (row.link for row in all_chain_links(tenant).iterator()), tenant=tenant.slug
    )
    with _state_cache_lock:
        _state_cache[tenant.pk] = state
    return state


def check_append_link(
    tenant: Tenant, data: Any, *, enrolment_token: str | None = None
) -> ChainLink:
    """Validate an untrusted link completely, then append it."""
    try:
        link = parse_link(data)
    except ProtocolError as error:
        raise _refuse(error) from None
    if link.tenant != tenant.slug:
        raise AccountError("wrong_tenant", "Link refused: it belongs to another tenant.")
    if link.type == LinkType.GENESIS:
        _check_genesis_allowed(tenant, link, enrolment_token)
    now_ms = _now_ms() if settings.PIPO_CHAIN_CHECK_CLOCK else None
    return do_append_link(tenant, link, now_ms=now_ms)


def _check_genesis_allowed(tenant: Tenant, link: Link, enrolment_token: str | None) -> None:
    if link.body.get("server_key") != tenant_server_key(tenant):
        raise AccountError(
            "malformed_link", "Link refused: the genesis must name this server's key."
        )
    if tenant.first_user_becomes_owner:
        return  # trust on first use (the demo tenant): the first genesis wins
    if RootEnrolment.objects.filter(tenant=tenant).exists():
        raise AccountError(
            "enrolment_required",
            "This workspace's genesis is assembled from its root admins' signatures.",
        )
    expected = bytes(tenant.genesis_enrolment_hash)
    if not expected:
        raise AccountError("duplicate_genesis", "Link refused: this tenant has its genesis.")
    try:
        token = b64u_decode(enrolment_token or "")
    except ProtocolError:
        token = b""
    if not hmac.compare_digest(hashlib.sha256(token).digest(), expected):
        raise AccountError(
            "enrolment_required", "Only the root admins' enrolment link may found a tenant."
        )


def tenant_server_key(tenant: Tenant) -> str:
    return b64u_encode(sign_public_key(bytes(tenant.server_sign_seed)))


@transaction.atomic
def do_append_link(tenant: Tenant, link: Link, *, now_ms: int | None) -> ChainLink:
    head, _created = ChainHead.objects.select_for_update().get_or_create(tenant=tenant)
    before = chain_state(tenant, head)
    try:
        after = before.apply(link, now_ms=now_ms)
    except ProtocolError as error:
        raise _refuse(error) from None
    row = ChainLink.objects.create(
        tenant=tenant,
        seq=link.seq,
        link=link.to_json(),
        hash=link.hash,
        type=str(link.type),
        signer=link.signer,
        ts=link.ts,
    )
    head.seq = link.seq
    head.hash = link.hash
    head.save(update_fields=["seq", "hash"])
    _materialise(tenant, before, after, link.seq)
    if link.type == LinkType.GENESIS:
        tenant.genesis_enrolment_hash = b""
        tenant.save(update_fields=["genesis_enrolment_hash"])
    transaction.on_commit(lambda: _remember(tenant, after))
    # Sockets hear of it once it is committed: every member's gets a `chain`
    # frame; a removed member's sockets are closed.
    removed = sorted(before.members.keys() - after.members.keys())
    transaction.on_commit(
        lambda: announce_chain_change(tenant.pk, seq=link.seq, removed=removed), robust=True
    )
    return row


def _remember(tenant: Tenant, state: ChainState) -> None:
    with _state_cache_lock:
        _state_cache[tenant.pk] = state


def forget_cached_state(tenant: Tenant) -> None:
    with _state_cache_lock:
        _state_cache.pop(tenant.pk, None)


def _materialise(tenant: Tenant, before: ChainState, after: ChainState, seq: int) -> None:
    """Bring ChainMember, Room and RoomMember in line with `after` (a diff)."""
    for username in before.members.keys() - after.members.keys():
        ChainMember.objects.filter(tenant=tenant, username=username).delete()
        # Removed by the chain: the account can no longer log in, and its
        # sessions end (TenantBackend only loads active accounts).
        User.objects.filter(tenant=tenant, username=username).update(state=AccountState.REMOVED)
    for username, member in after.members.items():
        if before.members.get(username) == member:
            continue
        User.objects.filter(tenant=tenant, username=username).exclude(role=member.role).update(
            role=str(member.role)
        )
        ChainMember.objects.update_or_create(
            tenant=tenant,
            username=username,
            defaults={
                "sign_pub": member.sign_pub,
                "box_pub": member.box_pub,
                "role": str(member.role),
                "how": str(member.how),
                "admitted_seq": member.admitted_seq,
            },
        )
    for room_id in before.rooms.keys() - after.rooms.keys():
        Room.objects.filter(tenant=tenant, room_id=room_id).delete()
    for room_id, room in after.rooms.items():
        previous = before.rooms.get(room_id)
        if previous == room:
            continue
        row, _ = Room.objects.update_or_create(
            tenant=tenant,
            room_id=room_id,
            defaults={"kind": str(room.kind), "history": str(room.history), "created_seq": seq}
            if previous is None
            else {"kind": str(room.kind), "history": str(room.history)},
        )
        # update_or_create locked the room's row: message and epoch writes
        # (rooms.message_actions) wait for this membership change to commit.
        old_members = previous.members if previous is not None else {}
        left = old_members.keys() - room.members.keys()
        for username in left:
            RoomMember.objects.filter(tenant=tenant, room=row, username=username).delete()
        if left:
            # Whoever left must not read what comes next (PROTOCOL.md §7.5).
            row.rekey_required = True
            row.save(update_fields=["rekey_required"])
        for username, role in room.members.items():
            if old_members.get(username) != role:
                RoomMember.objects.update_or_create(
                    tenant=tenant,
                    room=row,
                    username=username,
                    defaults={"role": str(role)},
                    create_defaults={"role": str(role), "joined_epoch": max(row.epoch, 0)},
                )
    if after.policy != before.policy:
        tenant.signup_policy = str(after.policy.mode)
        tenant.allowed_domains = list(after.policy.domains)
        tenant.save(update_fields=["signup_policy", "allowed_domains"])


def check_attach_anchor(tenant: Tenant, *, clearsigned: bytes, certificate: bytes) -> GenesisAnchor:
    """Verify a root admin's PGP clearsignature of the genesis and keep it."""
    genesis = genesis_link(tenant)
    if genesis is None:
        raise AccountError("genesis_required", "This tenant has no genesis yet.")
    statement = genesis_statement(tenant.slug, bytes(genesis.hash))
    try:
        anchor = verify_anchor(
            statement=statement,
            clearsigned=clearsigned,
            certificate=certificate,
            allowed_fingerprints=list(genesis.link["body"].get("pgp", [])),
        )
    except ProtocolError as error:
        raise AccountError(error.code, error.message) from None
    row, _ = GenesisAnchor.objects.update_or_create(
        tenant=tenant,
        fingerprint=anchor.fingerprint,
        defaults={"certificate": anchor.certificate, "clearsigned": anchor.clearsigned},
    )
    return row


# --- Admissions from the signup paths ----------------------------------------


def chain_has_genesis(tenant: Tenant) -> bool:
    head = ChainHead.objects.filter(tenant=tenant).first()
    return head is not None and head.seq >= 0


def record_signup_in_chain(
    tenant: Tenant,
    *,
    chain_link: Link | None,
    enrolment_token: str | None,
    bundle_json: dict[str, Any],
    how: str | None,
    role: str,
) -> None:
    """Append the link a signup carries, inside the signup's transaction.

    A founding signup carries the genesis naming the new account as root. On
    a tenant with a genesis, an account that is active at once (open policy,
    invite) carries its own signed admit; approval and domain admissions are
    signed later (by an admin, by the server). A tenant without a genesis
    predates the chain and takes no links from signups.
    """
    if chain_link is not None and chain_link.type == LinkType.GENESIS:
        roots = chain_link.body.get("roots", [])
        if roots != [bundle_json]:
            raise AccountError(
                "bundle_mismatch", "A founding signup's genesis names exactly its own bundle."
            )
        _check_genesis_allowed(tenant, chain_link, enrolment_token)
        do_append_link(tenant, chain_link, now_ms=_clock())
        return
    if not chain_has_genesis(tenant):
        if chain_link is not None:
            raise AccountError("genesis_required", "This tenant has no trust chain yet.")
        return
    if how is None:
        if chain_link is not None:
            raise AccountError(
                "unauthorized", "This signup waits for an admin or the server to admit it."
            )
        return
    if chain_link is None:
        raise AccountError("admit_required", "Joining needs your signed admission link.")
    body = chain_link.body
    if (
        chain_link.type != LinkType.ADMIT
        or body.get("bundle") != bundle_json
        or body.get("how") != how
        or body.get("role") != role
    ):
        raise AccountError(
            "bundle_mismatch", "The admission link does not admit this signup as it is."
        )
    do_append_link(tenant, chain_link, now_ms=_clock())


def _clock() -> int | None:
    return _now_ms() if settings.PIPO_CHAIN_CHECK_CLOCK else None


def attest_domain_admission(tenant: Tenant, *, bundle_json: dict[str, Any]) -> None:
    """The server's signed admit for a confirmed email domain (how: domain)."""
    head = ChainHead.objects.select_for_update().filter(tenant=tenant).first()
    if head is None or head.seq < 0:
        return
    link = sign_link(
        tenant=tenant.slug,
        seq=head.seq + 1,
        prev=bytes(head.hash) if head.hash else None,
        ts=max(_now_ms(), chain_state(tenant, head).ts),
        type=LinkType.ADMIT,
        body={"bundle": bundle_json, "role": "member", "how": "domain"},
        seed=bytes(tenant.server_sign_seed),
    )
    do_append_link(tenant, link, now_ms=_clock())


def record_approval_in_chain(
    tenant: Tenant, *, admit_link: Link | None, bundle_json: dict[str, Any]
) -> None:
    """On a chained tenant, append the approving admin's signed admit, or refuse."""
    if not chain_has_genesis(tenant):
        return
    if admit_link is None:
        raise AccountError(
            "admit_required",
            "On this workspace an approval must be signed by an admin's key in the browser "
            "(in the app, or on the admin panel's “Approve (sign in browser)” page).",
        )
    body = admit_link.body
    if (
        admit_link.type != LinkType.ADMIT
        or body.get("bundle") != bundle_json
        or body.get("how") != "approval"
    ):
        raise AccountError("bundle_mismatch", "The admit link does not admit this request.")
    do_append_link(tenant, admit_link, now_ms=_clock())


def record_invite_in_chain(
    tenant: Tenant,
    *,
    invite_link: Link | None,
    token_hash: bytes,
    role: str,
    expires_ms: int,
) -> None:
    """On a chained tenant an invite exists only as the admin's signed invite link."""
    if not chain_has_genesis(tenant):
        if invite_link is not None:
            raise AccountError("genesis_required", "This tenant has no trust chain yet.")
        return
    if invite_link is None:
        raise AccountError(
            "invite_link_required", "On this workspace an invite must be signed in the app."
        )
    body = invite_link.body
    if (
        invite_link.type != LinkType.INVITE
        or body.get("token_hash") != b64u_encode(token_hash)
        or body.get("role") != role
        or body.get("expires") != expires_ms
    ):
        raise AccountError("bundle_mismatch", "The invite link does not match this invite.")
    do_append_link(tenant, invite_link, now_ms=_clock())


def record_rotation_in_chain(tenant: Tenant, link: Link) -> None:
    """A key rotation is only ever a chain link (signed by the old key)."""
    if not chain_has_genesis(tenant):
        raise AccountError("genesis_required", "This tenant has no trust chain yet.")
    do_append_link(tenant, link, now_ms=_clock())


# --- A multi-root genesis (create_tenant --roots N, PROTOCOL.md §6.8) ---------


def awaiting_genesis(tenant: Tenant) -> bool:
    """Whether the tenant waits for its founding (an enrolment link or root seats)."""
    if chain_has_genesis(tenant):
        return False
    return (
        bool(tenant.genesis_enrolment_hash) or RootEnrolment.objects.filter(tenant=tenant).exists()
    )


def claim_root_seat(tenant: Tenant, enrolment_token: str | None) -> RootEnrolment:
    """The free root seat whose enrolment token this is, locked; or refuse."""
    try:
        token = b64u_decode(enrolment_token or "")
    except ProtocolError:
        token = b""
    seat = (
        RootEnrolment.objects.select_for_update()
        .filter(tenant=tenant, token_hash=hashlib.sha256(token).digest())
        .first()
    )
    if seat is None or chain_has_genesis(tenant):
        raise AccountError(
            "enrolment_required", "This enrolment link is not valid for this workspace."
        )
    if seat.user_id is not None:
        raise AccountError("enrolment_used", "This enrolment link has already been used.")
    return seat


def do_take_root_seat(tenant: Tenant, seat: RootEnrolment, user: User) -> None:
    """Give `seat` to `user`; when every seat is taken, draft the genesis.

    The draft is the unsigned genesis link: the roots' bundles in seat order,
    the tenant's policy, the server key and PGP fingerprints, and the first
    root as `signer` (the others cosign), so that every root signs the same
    bytes.
    """
    seat.user = user
    seat.save(update_fields=["user"])
    seats = list(RootEnrolment.objects.filter(tenant=tenant).select_related("user__identity"))
    if any(each.user is None for each in seats):
        return
    roots = [each.user.identity.bundle for each in sorted(seats, key=lambda s: s.position)]  # type: ignore[union-attr]
    body: dict[str, Any] = {
        "roots": roots,
        "policy": {"mode": tenant.signup_policy, "domains": list(tenant.allowed_domains)},
        "server_key": tenant_server_key(tenant),
    }
    if tenant.genesis_pgp:
        body["pgp"] = list(tenant.genesis_pgp)
    draft = Link(
        LINK_VERSION,
        tenant.slug,
        0,
        None,
        _now_ms(),
        LinkType.GENESIS,
        body,
        b64u_decode(roots[0]["sign_pub"]),
        b"",
    )
    tenant.genesis_draft = draft.unsigned_json()
    tenant.save(update_fields=["genesis_draft"])


@transaction.atomic
def check_sign_genesis(tenant: Tenant, user: User, sig_text: Any) -> bool:
    """Keep a root's signature over the drafted genesis; the last one appends it.

    Returns whether the genesis now exists. A signature that does not verify
    under the root's own key is refused and nothing is kept.
    """
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    seat = RootEnrolment.objects.filter(tenant=tenant, user=user).first()
    if seat is None:
        raise AccountError("not_found", "Not found.", status=404)
    if chain_has_genesis(tenant):
        return True
    draft = tenant.genesis_draft
    if draft is None:
        raise AccountError(
            "genesis_not_ready", "Not every root admin has enrolled yet; sign once they have."
        )
    if not isinstance(sig_text, str):
        raise AccountError("invalid_request", "'sig' must be a string")
    try:
        sig = b64u_decode(sig_text)
        root = draft["body"]["roots"][seat.position]
        verify(SignatureTag.LINK, canonical_json(draft), sig, b64u_decode(root["sign_pub"]))
    except ProtocolError as error:
        raise AccountError(
            "bad_signature", f"This is not your signature over the genesis: {error.message}"
        ) from None
    seat.genesis_sig = sig
    seat.save(update_fields=["genesis_sig"])
    seats = sorted(RootEnrolment.objects.filter(tenant=tenant), key=lambda s: s.position)
    if any(not each.genesis_sig for each in seats):
        return False
    roots = draft["body"]["roots"]
    link_json = {**draft, "sig": b64u_encode(bytes(seats[0].genesis_sig))}
    if len(seats) > 1:
        link_json["cosigs"] = [
            {
                "signer": roots[each.position]["sign_pub"],
                "sig": b64u_encode(bytes(each.genesis_sig)),
            }
            for each in seats[1:]
        ]
    try:
        link = parse_link(link_json)
    except ProtocolError as error:
        raise _refuse(error) from None
    # The server drafted `ts` itself, perhaps days ago: no clock window here.
    do_append_link(tenant, link, now_ms=None)
    tenant.genesis_draft = None
    tenant.save(update_fields=["genesis_draft"])
    return True
