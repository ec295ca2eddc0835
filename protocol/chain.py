"""The trust chain: admin-signed membership (PROTOCOL.md §6, ARCHITECTURE.md §5).

Each tenant has one append-only chain of signed links. Applying the links in
order gives a :class:`ChainState`: who is a member, with which keys and
roles, the signup policy, the invites and who is in which room. The server
applies each link before storing it and every client applies the chain
again, with these very rules (``frontend/src/protocol/chain.ts`` mirrors
them and both pass ``tests/vectors/chain/``).

:func:`parse_link` checks a link on its own (shape, body schema, size, its
signatures); :meth:`ChainState.apply` judges it against the state before it
(order, time, authorization). Every refusal is a :class:`ChainError` with a
stable code.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from protocol.encoding import MAX_SAFE_INTEGER, b64u_decode_exact, b64u_encode, canonical_json
from protocol.errors import BundleError, CanonicalJsonError, EncodingError
from protocol.errors import ChainError as ChainError  # re-exported for callers of this module
from protocol.errors import SignatureError as _SignatureError
from protocol.identity import TENANT_SLUG_PATTERN, USERNAME_PATTERN, IdentityBundle
from protocol.identity import parse_identity_bundle as _parse_identity_bundle
from protocol.signing import SignatureTag, sign, sign_public_key, verify

LINK_VERSION = 1
MAX_LINK_BYTES = 16 * 1024
MAX_ROOTS = 8
MAX_DOMAINS = 64
MAX_PGP_FINGERPRINTS = MAX_ROOTS
MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
HASH_BYTES = 32
DOMAIN_PATTERN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
MAX_DOMAIN_CHARS = 253
ROOM_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PGP_FINGERPRINT_PATTERN = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class LinkType(StrEnum):
    GENESIS = "genesis"
    POLICY = "policy"
    INVITE = "invite"
    ADMIT = "admit"
    SET_ROLE = "set_role"
    REMOVE = "remove"
    ROTATE_KEYS = "rotate_keys"
    ROOM_CREATE = "room_create"
    ROOM_ADD = "room_add"
    ROOM_REMOVE = "room_remove"
    ROOM_ROLE = "room_role"


class Role(StrEnum):
    """A member's tenant role. "Admin" in the rules means ``admin`` or ``owner``."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class RoomRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class AdmitHow(StrEnum):
    """How a member was admitted: shown to everyone beside their name."""

    GENESIS = "genesis"
    APPROVAL = "approval"
    INVITE = "invite"
    OPEN = "open"
    DOMAIN = "domain"


class PolicyMode(StrEnum):
    OPEN = "open"
    APPROVAL = "approval"
    DOMAIN = "domain"
    INVITE = "invite"


class RoomKind(StrEnum):
    CHANNEL = "channel"
    PRIVATE = "private"
    DM = "dm"


class RoomHistory(StrEnum):
    ALL = "all"
    JOINED = "joined"


_E = TypeVar("_E", bound=StrEnum)
_LINK_FIELDS = frozenset({"v", "tenant", "seq", "prev", "ts", "type", "body", "signer", "sig"})
_LINK_OPTIONAL = frozenset({"cosigs"})
_COSIG_FIELDS = frozenset({"signer", "sig"})
_INVITE_ROLES = frozenset({Role.MEMBER, Role.ADMIN})
_ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def _fail(code: str, message: str) -> ChainError:
    return ChainError(code, message)


def _malformed(message: str) -> ChainError:
    return ChainError("malformed_link", message)


# --- The link -----------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One link. :func:`parse_link` makes verified ones; :func:`sign_link` signs new ones.

    ``body`` is the JSON body as received. ``cosigs`` holds (signer, sig) pairs.
    """

    v: int
    tenant: str
    seq: int
    prev: bytes | None
    ts: int
    type: LinkType
    body: dict[str, Any]
    signer: bytes
    sig: bytes
    cosigs: tuple[tuple[bytes, bytes], ...] = ()
    # Set by parse_link only: the canonical bytes and the verified bundles of the body.
    _encoded: bytes = field(default=b"", compare=False, repr=False)
    _bundles: tuple[IdentityBundle, ...] | None = field(default=None, compare=False, repr=False)

    def unsigned_json(self) -> dict[str, Any]:
        """What ``sig`` and every cosig cover: the link without ``sig`` and ``cosigs``."""
        return {
            "v": self.v,
            "tenant": self.tenant,
            "seq": self.seq,
            "prev": None if self.prev is None else b64u_encode(self.prev),
            "ts": self.ts,
            "type": str(self.type),
            "body": self.body,
            "signer": b64u_encode(self.signer),
        }

    def to_json(self) -> dict[str, Any]:
        """The wire form (``cosigs`` only when there are some)."""
        document = {**self.unsigned_json(), "sig": b64u_encode(self.sig)}
        if self.cosigs:
            document["cosigs"] = [
                {"signer": b64u_encode(signer), "sig": b64u_encode(sig)}
                for signer, sig in self.cosigs
            ]
        return document

    @cached_property
    def encoded(self) -> bytes:
        """JCS of the whole link, signatures included."""
        return self._encoded or canonical_json(self.to_json())

    @cached_property
    def hash(self) -> bytes:
        """SHA-256 of :attr:`encoded`: what the next link's ``prev`` names."""
        return hashlib.sha256(self.encoded).digest()


def link_hash(data: object) -> bytes:
    """The hash of a link given in wire form (it is parsed and verified first)."""
    return parse_link(data).hash


def _json_str(text: str) -> bytes:
    # Only for strings checked to be plain ASCII that JSON leaves unescaped
    # (slugs, usernames, enum values, base64url).
    return b'"' + text.encode("ascii") + b'"'


def _encode_link(
    *,
    tenant: str,
    seq: int,
    prev: str | None,
    ts: int,
    type: str,
    body: bytes,
    signer: str,
    sig: str | None,
    cosigs: Sequence[tuple[str, str]],
) -> bytes:
    """JCS of a link whose fields are already validated, without re-serializing the body.

    Keys in RFC 8785 order: body, cosigs, prev, seq, sig, signer, tenant, ts, type, v.
    """
    parts = [b'{"body":', body]
    if sig is not None and cosigs:
        items = b",".join(
            b'{"sig":' + _json_str(cosig) + b',"signer":' + _json_str(key) + b"}"
            for key, cosig in cosigs
        )
        parts.append(b',"cosigs":[' + items + b"]")
    parts.append(b',"prev":' + (b"null" if prev is None else _json_str(prev)))
    parts.append(b',"seq":%d' % seq)
    if sig is not None:
        parts.append(b',"sig":' + _json_str(sig))
    parts.append(b',"signer":' + _json_str(signer))
    parts.append(b',"tenant":' + _json_str(tenant))
    parts.append(b',"ts":%d,"type":' % ts + _json_str(type))
    parts.append(b',"v":%d}' % LINK_VERSION)
    return b"".join(parts)


# --- Field checks ---------------------------------------------------------------


def _object(value: object, required: frozenset[str], optional: frozenset[str], what: str) -> None:
    if not isinstance(value, dict):
        raise _malformed(f"{what} must be a JSON object")
    keys = value.keys()
    if not (required <= keys and keys <= required | optional):
        missing = sorted(required - keys)
        extra = sorted(str(key) for key in keys - required - optional)
        raise _malformed(f"{what} fields: missing {missing}, unexpected {extra}")


def _is_int(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_SAFE_INTEGER


def _bytes(value: object, length: int, what: str) -> bytes:
    try:
        return b64u_decode_exact(value, length, what=what)
    except EncodingError as error:
        raise _malformed(error.message) from None


def _user(value: object, what: str = "user") -> str:
    if not isinstance(value, str) or USERNAME_PATTERN.fullmatch(value) is None:
        raise _malformed(f"{what} must be a username (PROTOCOL.md §3.1)")
    return value


def _choice(value: object, kind: type[_E], what: str) -> _E:
    if not isinstance(value, str) or value not in kind._value2member_map_:
        raise _malformed(f"{what} must be one of {[str(item) for item in kind]}")
    return kind(value)


def _room_id(value: object) -> str:
    if not isinstance(value, str) or ROOM_ID_PATTERN.fullmatch(value) is None:
        raise _malformed("room must be a lower-case UUID string")
    return value


def _bundle(value: object, what: str) -> IdentityBundle:
    try:
        return _parse_identity_bundle(value)
    except BundleError as error:
        raise _malformed(f"{what}: {error.message}") from None
    except _SignatureError:
        raise _fail("bad_signature", f"{what}: its self-signature does not verify") from None


def _policy(value: object, what: str) -> "Policy":
    _object(value, frozenset({"mode", "domains"}), frozenset(), what)
    assert isinstance(value, dict)
    mode = _choice(value["mode"], PolicyMode, f"{what}.mode")
    domains = value["domains"]
    if not isinstance(domains, list) or len(domains) > MAX_DOMAINS:
        raise _malformed(f"{what}.domains must be a list of at most {MAX_DOMAINS} domains")
    for domain in domains:
        if (
            not isinstance(domain, str)
            or len(domain) > MAX_DOMAIN_CHARS
            or DOMAIN_PATTERN.fullmatch(domain) is None
        ):
            raise _malformed(f"{what}.domains must be lower-case domain names")
    if len(set(domains)) != len(domains):
        raise _malformed(f"{what}.domains must be distinct")
    if mode == PolicyMode.DOMAIN and not domains:
        raise _malformed(f"{what}: the domain mode needs at least one domain")
    return Policy(mode, tuple(domains))


def _check_body(link_type: LinkType, body: dict[str, Any], ts: int) -> tuple[IdentityBundle, ...]:
    """The per-type schema (PROTOCOL.md §6.2); returns the verified bundles in the body."""
    fields, optional = _BODY_FIELDS[link_type]
    _object(body, fields, optional, f"{link_type} body")
    if link_type == LinkType.GENESIS:
        roots = body["roots"]
        if not isinstance(roots, list) or not 1 <= len(roots) <= MAX_ROOTS:
            raise _malformed(f"roots must be a list of 1 to {MAX_ROOTS} identity bundles")
        bundles = tuple(_bundle(root, f"roots[{index}]") for index, root in enumerate(roots))
        if len({bundle.user for bundle in bundles}) != len(bundles):
            raise _malformed("roots must be distinct users")
        if len({bundle.sign_pub for bundle in bundles}) != len(bundles):
            raise _malformed("roots must have distinct signing keys")
        _policy(body["policy"], "policy")
        _bytes(body["server_key"], 32, "server_key")
        if "pgp" in body:
            pgp = body["pgp"]
            if not isinstance(pgp, list) or len(pgp) > MAX_PGP_FINGERPRINTS:
                raise _malformed(f"pgp must be a list of at most {MAX_PGP_FINGERPRINTS}")
            for fingerprint in pgp:
                if not isinstance(fingerprint, str) or not PGP_FINGERPRINT_PATTERN.fullmatch(
                    fingerprint
                ):
                    raise _malformed("pgp fingerprints are 40 or 64 lower-case hex digits")
            if len(set(pgp)) != len(pgp):
                raise _malformed("pgp fingerprints must be distinct")
        return bundles
    if link_type == LinkType.POLICY:
        _policy(body, "policy body")
    elif link_type == LinkType.INVITE:
        _bytes(body["token_hash"], HASH_BYTES, "token_hash")
        if _choice(body["role"], Role, "role") not in _INVITE_ROLES:
            raise _malformed("an invite's role is member or admin")
        if not _is_int(body["expires"]) or body["expires"] <= ts:
            raise _malformed("expires must be an integer (Unix ms) after the link's ts")
    elif link_type == LinkType.ADMIT:
        how = _choice(body["how"], AdmitHow, "how")
        role = _choice(body["role"], Role, "role")
        if how == AdmitHow.GENESIS:
            raise _malformed("only the genesis admits with how 'genesis'")
        if role not in _INVITE_ROLES:
            raise _malformed("an admit's role is member or admin")
        if how in (AdmitHow.OPEN, AdmitHow.DOMAIN) and role != Role.MEMBER:
            raise _malformed(f"an admit by {how} has the role member")
        if (how == AdmitHow.INVITE) != ("token" in body):
            raise _malformed("token is present exactly when how is 'invite'")
        if how == AdmitHow.INVITE:
            _bytes(body["token"], 32, "token")
        return (_bundle(body["bundle"], "bundle"),)
    elif link_type == LinkType.SET_ROLE:
        _user(body["user"])
        _choice(body["role"], Role, "role")
    elif link_type == LinkType.REMOVE:
        _user(body["user"])
    elif link_type == LinkType.ROTATE_KEYS:
        _user(body["user"])
        return (_bundle(body["bundle"], "bundle"),)
    elif link_type == LinkType.ROOM_CREATE:
        _room_id(body["room"])
        _choice(body["kind"], RoomKind, "kind")
        _choice(body["history"], RoomHistory, "history")
    elif link_type in (LinkType.ROOM_ADD, LinkType.ROOM_ROLE):
        _room_id(body["room"])
        _user(body["user"])
        _choice(body["role"], RoomRole, "role")
    elif link_type == LinkType.ROOM_REMOVE:
        _room_id(body["room"])
        _user(body["user"])
    return ()


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


_BODY_FIELDS: dict[LinkType, tuple[frozenset[str], frozenset[str]]] = {
    LinkType.GENESIS: (_names("roots", "policy", "server_key"), _names("pgp")),
    LinkType.POLICY: (_names("mode", "domains"), _names()),
    LinkType.INVITE: (_names("token_hash", "role", "expires"), _names()),
    LinkType.ADMIT: (_names("bundle", "role", "how"), _names("token")),
    LinkType.SET_ROLE: (_names("user", "role"), _names()),
    LinkType.REMOVE: (_names("user"), _names()),
    LinkType.ROTATE_KEYS: (_names("user", "bundle"), _names()),
    LinkType.ROOM_CREATE: (_names("room", "kind", "history"), _names()),
    LinkType.ROOM_ADD: (_names("room", "user", "role"), _names()),
    LinkType.ROOM_REMOVE: (_names("room", "user"), _names()),
    LinkType.ROOM_ROLE: (_names("room", "user", "role"), _names()),
}


def parse_link(data: object) -> Link:
    """Check a link on its own: shape, types, body schema, size and every signature.

    Does not look at the chain (order, time, authorization): that is
    :meth:`ChainState.apply`. Raises :class:`ChainError` (``malformed_link``,
    or ``bad_signature`` for a signature, cosignature or embedded bundle that
    does not verify).
    """
    _object(data, _LINK_FIELDS, _LINK_OPTIONAL, "link")
    assert isinstance(data, dict)
    if type(data["v"]) is not int or data["v"] != LINK_VERSION:
        raise _malformed(f"unsupported link version {data['v']!r}")
    tenant = data["tenant"]
    if not isinstance(tenant, str) or TENANT_SLUG_PATTERN.fullmatch(tenant) is None:
        raise _malformed("tenant must be a slug")
    seq, ts = data["seq"], data["ts"]
    if not _is_int(seq):
        raise _malformed("seq must be a non-negative integer")
    if not _is_int(ts):
        raise _malformed("ts must be a non-negative integer (Unix milliseconds)")
    prev_text = data["prev"]
    prev = None if prev_text is None else _bytes(prev_text, HASH_BYTES, "prev")
    link_type = _choice(data["type"], LinkType, "type")
    body = data["body"]
    if not isinstance(body, dict):
        raise _malformed("body must be a JSON object")
    signer = _bytes(data["signer"], 32, "signer")
    sig = _bytes(data["sig"], 64, "sig")
    cosig_texts: list[tuple[str, str]] = []
    cosigs: list[tuple[bytes, bytes]] = []
    if "cosigs" in data:
        items = data["cosigs"]
        if not isinstance(items, list) or not 1 <= len(items) < MAX_ROOTS:
            raise _malformed(f"cosigs must be a list of 1 to {MAX_ROOTS - 1} (or absent)")
        for index, item in enumerate(items):
            _object(item, _COSIG_FIELDS, frozenset(), f"cosigs[{index}]")
            assert isinstance(item, dict)
            cosigs.append(
                (
                    _bytes(item["signer"], 32, f"cosigs[{index}].signer"),
                    _bytes(item["sig"], 64, f"cosigs[{index}].sig"),
                )
            )
            cosig_texts.append((item["signer"], item["sig"]))
        if link_type != LinkType.GENESIS:
            raise _malformed("cosigs appear only in the genesis")
    try:
        body_bytes = canonical_json(body)
    except CanonicalJsonError as error:
        raise _malformed(f"body: {error.message}") from None

    def encode(sig_text: str | None, cosig_pairs: Sequence[tuple[str, str]]) -> bytes:
        return _encode_link(
            tenant=tenant,
            seq=seq,
            prev=prev_text,
            ts=ts,
            type=data["type"],
            body=body_bytes,
            signer=data["signer"],
            sig=sig_text,
            cosigs=cosig_pairs,
        )

    encoded = encode(data["sig"], cosig_texts)
    if len(encoded) > MAX_LINK_BYTES:
        raise _malformed(f"a link is at most {MAX_LINK_BYTES} bytes of canonical JSON")
    bundles = _check_body(link_type, body, ts)
    message = encode(None, ())
    try:
        verify(SignatureTag.LINK, message, sig, signer)
    except _SignatureError:
        raise _fail("bad_signature", "the link's signature does not verify") from None
    for index, (cosigner, cosig) in enumerate(cosigs):
        try:
            verify(SignatureTag.LINK, message, cosig, cosigner)
        except _SignatureError:
            raise _fail("bad_signature", f"cosigs[{index}] does not verify") from None
    return Link(
        LINK_VERSION,
        tenant,
        seq,
        prev,
        ts,
        link_type,
        body,
        signer,
        sig,
        tuple(cosigs),
        _encoded=encoded,
        _bundles=bundles,
    )


def sign_link(
    *,
    tenant: str,
    seq: int,
    prev: bytes | None,
    ts: int,
    type: LinkType | str,
    body: dict[str, Any],
    seed: bytes,
    cosigner_seeds: Sequence[bytes] = (),
) -> Link:
    """Make and sign a link (cosigned by ``cosigner_seeds``: the other roots of a genesis).

    Nothing is validated here: :meth:`ChainState.apply` parses an unverified
    link before judging it, and the server and clients always parse.
    """
    draft = Link(
        LINK_VERSION, tenant, seq, prev, ts, LinkType(type), body, sign_public_key(seed), b""
    )
    message = canonical_json(draft.unsigned_json())
    cosigs = tuple(
        (sign_public_key(other), sign(SignatureTag.LINK, message, other))
        for other in cosigner_seeds
    )
    return Link(
        LINK_VERSION,
        tenant,
        seq,
        prev,
        ts,
        draft.type,
        body,
        draft.signer,
        sign(SignatureTag.LINK, message, seed),
        cosigs,
    )


# --- The derived state --------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    mode: PolicyMode
    domains: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"mode": str(self.mode), "domains": list(self.domains)}


@dataclass(frozen=True)
class Member:
    """A current member: their keys (from the bundle the chain admitted), role and origin."""

    user: str
    sign_pub: bytes
    box_pub: bytes
    role: Role
    how: AdmitHow
    admitted_seq: int
    bundle: dict[str, Any]

    @property
    def is_admin(self) -> bool:
        """True for a tenant ``admin`` or ``owner``."""
        return self.role in _ADMIN_ROLES


@dataclass(frozen=True)
class Invite:
    token_hash: bytes
    role: Role
    expires: int
    used: bool


@dataclass(frozen=True)
class Room:
    """A room; ``members`` maps usernames to room roles (never mutated once in a state)."""

    room: str
    kind: RoomKind
    history: RoomHistory
    members: Mapping[str, RoomRole]


@dataclass(frozen=True)
class ChainState:
    """The state after the links applied so far. Immutable: :meth:`apply` returns a new one.

    ``seq`` is -1 and ``head`` None before the genesis. Do not mutate the mappings.
    """

    tenant: str
    seq: int = -1
    head: bytes | None = None
    ts: int = 0
    fingerprint: bytes | None = None
    server_key: bytes | None = None
    policy: Policy = Policy(PolicyMode.INVITE, ())
    members: Mapping[str, Member] = field(default_factory=dict)
    invites: Mapping[bytes, Invite] = field(default_factory=dict)
    rooms: Mapping[str, Room] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()
    _by_key: Mapping[bytes, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def empty(cls, tenant: str) -> "ChainState":
        """The state before the genesis of ``tenant``."""
        if not isinstance(tenant, str) or TENANT_SLUG_PATTERN.fullmatch(tenant) is None:
            raise ValueError("tenant must be a slug")
        return cls(tenant)

    def apply(self, link: Link, *, now_ms: int | None = None) -> "ChainState":
        """The state after ``link``, or :class:`ChainError` if it may not come next.

        The server passes ``now_ms`` (its clock) and so refuses a ``ts`` more
        than 5 minutes away from it; clients pass nothing.
        """
        work = _Work(self)
        work.apply(link, now_ms)
        return work.freeze()

    def member_by_key(self, sign_pub: bytes) -> Member | None:
        """The current member whose signing key is ``sign_pub``, if any."""
        user = self._by_key.get(sign_pub)
        return None if user is None else self.members[user]

    def summary(self) -> dict[str, Any]:
        """The state as JSON (what the vectors' ``expect`` holds)."""
        return {
            "seq": self.seq,
            "head": None if self.head is None else self.head.hex(),
            "fingerprint": None if self.fingerprint is None else self.fingerprint.hex(),
            "policy": self.policy.to_json(),
            "members": {
                user: {
                    "role": str(member.role),
                    "how": str(member.how),
                    "sign_pub": b64u_encode(member.sign_pub),
                    "box_pub": b64u_encode(member.box_pub),
                    "admitted_seq": member.admitted_seq,
                }
                for user, member in sorted(self.members.items())
            },
            "invites": {
                b64u_encode(token_hash): {
                    "role": str(invite.role),
                    "expires": invite.expires,
                    "used": invite.used,
                }
                for token_hash, invite in sorted(self.invites.items())
            },
            "rooms": {
                room_id: {
                    "kind": str(room.kind),
                    "history": str(room.history),
                    "members": {user: str(role) for user, role in sorted(room.members.items())},
                }
                for room_id, room in sorted(self.rooms.items())
            },
            "removed": sorted(self.removed),
        }


def verify_chain(
    links: Iterable[object], *, tenant: str, state: ChainState | None = None
) -> ChainState:
    """Parse and apply ``links`` in order, from the genesis or from ``state``.

    Raises :class:`ChainError` with ``at`` set to the failing link's index in
    ``links``. Links are applied in place to one private copy of the state.
    """
    start = ChainState.empty(tenant) if state is None else state
    if start.tenant != tenant:
        raise _fail("wrong_tenant", f"the state is of tenant {start.tenant!r}, not {tenant!r}")
    work = _Work(start)
    for index, data in enumerate(links):
        try:
            work.apply(parse_link(data), None)
        except ChainError as error:
            error.at = index
            raise
    return work.freeze()


class _Work:
    """A private, mutable copy of a state; links are applied to it in place."""

    def __init__(self, state: ChainState) -> None:
        self.tenant = state.tenant
        self.seq = state.seq
        self.head = state.head
        self.ts = state.ts
        self.fingerprint = state.fingerprint
        self.server_key = state.server_key
        self.policy = state.policy
        self.members = dict(state.members)
        self.by_key = dict(state._by_key)
        self.invites = dict(state.invites)
        self.rooms = dict(state.rooms)
        self.removed = set(state.removed)
        # Rooms whose member dict this copy made (and so may change in place).
        self.own_rooms: set[str] = set()

    def freeze(self) -> ChainState:
        return ChainState(
            tenant=self.tenant,
            seq=self.seq,
            head=self.head,
            ts=self.ts,
            fingerprint=self.fingerprint,
            server_key=self.server_key,
            policy=self.policy,
            members=self.members,
            invites=self.invites,
            rooms=self.rooms,
            removed=frozenset(self.removed),
            _by_key=self.by_key,
        )

    # --- helpers

    def actor(self, link: Link) -> Member | None:
        user = self.by_key.get(link.signer)
        return None if user is None else self.members[user]

    def admin(self, link: Link) -> Member:
        actor = self.actor(link)
        if actor is None or not actor.is_admin:
            raise _fail("unauthorized", f"a {link.type} link must be signed by a tenant admin")
        return actor

    def member(self, user: str) -> Member:
        member = self.members.get(user)
        if member is None:
            raise _fail("not_member", f"{user!r} is not a member")
        return member

    def owners(self) -> int:
        return sum(1 for member in self.members.values() if member.role == Role.OWNER)

    def key_free(self, sign_pub: bytes) -> None:
        if sign_pub in self.by_key or sign_pub == self.server_key:
            raise _fail("key_in_use", "this signing key is already a member's or the server's")

    def room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            raise _fail("room_unknown", f"no room {room_id}")
        return room

    def room_members(self, room_id: str) -> dict[str, RoomRole]:
        """The room's member dict, copied first if another state shares it."""
        room = self.rooms[room_id]
        if room_id not in self.own_rooms:
            room = Room(room.room, room.kind, room.history, dict(room.members))
            self.rooms[room_id] = room
            self.own_rooms.add(room_id)
        members = room.members
        assert isinstance(members, dict)
        return members

    def set_member(self, member: Member) -> None:
        self.members[member.user] = member
        self.by_key[member.sign_pub] = member.user

    def admit(self, bundle: IdentityBundle, role: Role, how: AdmitHow, seq: int) -> None:
        self.set_member(
            Member(bundle.user, bundle.sign_pub, bundle.box_pub, role, how, seq, bundle.to_json())
        )

    # --- the rules (PROTOCOL.md §6.2)

    def apply(self, link: Link, now_ms: int | None) -> None:
        if link._bundles is None:
            link = parse_link(link.to_json())  # made by sign_link: verify it first
        if link.tenant != self.tenant:
            raise _fail("wrong_tenant", f"a link of tenant {link.tenant!r} in {self.tenant!r}")
        if self.seq < 0 and link.type != LinkType.GENESIS:
            raise _fail("genesis_required", "a chain starts with its genesis")
        if self.seq >= 0 and link.type == LinkType.GENESIS:
            raise _fail("duplicate_genesis", "a chain has one genesis")
        if link.seq != self.seq + 1:
            raise _fail("seq_gap", f"expected seq {self.seq + 1}, got {link.seq}")
        if link.prev != self.head:
            raise _fail("wrong_prev", "prev is not the hash of the previous link")
        if self.seq >= 0 and link.ts < self.ts:
            raise _fail("ts_backwards", "ts is before the previous link's")
        if now_ms is not None and abs(link.ts - now_ms) > MAX_CLOCK_SKEW_MS:
            raise _fail("clock_skew", "ts is more than 5 minutes from the server's clock")
        _RULES[link.type](self, link)
        self.seq = link.seq
        self.head = link.hash
        self.ts = link.ts

    def genesis(self, link: Link) -> None:
        roots = link._bundles or ()
        for bundle in roots:
            if bundle.tenant != link.tenant:
                raise _fail("bundle_mismatch", f"root {bundle.user!r} is of another tenant")
        keys = [bundle.sign_pub for bundle in roots]
        expected = [key for key in keys if key != link.signer]
        cosigners = [cosigner for cosigner, _sig in link.cosigs]
        if link.signer not in keys or sorted(cosigners) != sorted(expected):
            raise _fail("unauthorized", "the genesis is signed by exactly its roots, each once")
        if cosigners != expected:
            raise _malformed("cosigs follow the order of the roots")
        server_key = _bytes(link.body["server_key"], 32, "server_key")
        if server_key in keys:
            raise _fail("key_in_use", "the server key is not a root's key")
        self.server_key = server_key
        self.policy = _policy(link.body["policy"], "policy")
        self.fingerprint = link.hash
        for bundle in roots:
            self.admit(bundle, Role.OWNER, AdmitHow.GENESIS, link.seq)

    def policy_link(self, link: Link) -> None:
        self.admin(link)
        self.policy = _policy(link.body, "policy body")

    def invite(self, link: Link) -> None:
        self.admin(link)
        token_hash = _bytes(link.body["token_hash"], HASH_BYTES, "token_hash")
        if token_hash in self.invites:
            raise _fail("invite_used", "an earlier invite has this token hash")
        self.invites[token_hash] = Invite(
            token_hash, Role(link.body["role"]), link.body["expires"], used=False
        )

    def admit_link(self, link: Link) -> None:
        (bundle,) = link._bundles or ()
        body = link.body
        how, role = AdmitHow(body["how"]), Role(body["role"])
        if bundle.tenant != link.tenant:
            raise _fail("bundle_mismatch", "the bundle is of another tenant")
        if bundle.user in self.members:
            raise _fail("already_member", f"{bundle.user!r} is already a member")
        self.key_free(bundle.sign_pub)
        if how == AdmitHow.APPROVAL:
            self.admin(link)
        elif how == AdmitHow.INVITE:
            if link.signer != bundle.sign_pub:
                raise _fail("unauthorized", "an invite admit is signed by the newcomer's key")
            token_hash = hashlib.sha256(_bytes(body["token"], 32, "token")).digest()
            invite = self.invites.get(token_hash)
            if invite is None:
                raise _fail("invite_invalid", "no invite has this token")
            if invite.used:
                raise _fail("invite_used", "this invite has been used")
            if invite.expires <= link.ts:
                raise _fail("invite_expired", "this invite had expired")
            if invite.role != role:
                raise _fail("invite_invalid", f"this invite is for the role {invite.role}")
            self.invites[token_hash] = Invite(token_hash, invite.role, invite.expires, used=True)
        elif how == AdmitHow.OPEN:
            if link.signer != bundle.sign_pub:
                raise _fail("unauthorized", "an open admit is signed by the newcomer's key")
            if self.policy.mode != PolicyMode.OPEN:
                raise _fail("policy_forbids", "the signup policy is not open")
        else:  # domain
            if link.signer != self.server_key:
                raise _fail("unauthorized", "a domain admit is signed by the server key")
            if self.policy.mode != PolicyMode.DOMAIN:
                raise _fail("policy_forbids", "the signup policy is not domain")
        self.admit(bundle, role, how, link.seq)

    def set_role(self, link: Link) -> None:
        actor = self.admin(link)
        target = self.member(link.body["user"])
        role = Role(link.body["role"])
        if Role.OWNER in (target.role, role) and actor.role != Role.OWNER:
            raise _fail("unauthorized", "only an owner makes or unmakes an owner")
        if target.role == Role.OWNER and role != Role.OWNER and self.owners() == 1:
            raise _fail("last_owner", "the last owner keeps the role")
        self.members[target.user] = Member(
            target.user,
            target.sign_pub,
            target.box_pub,
            role,
            target.how,
            target.admitted_seq,
            target.bundle,
        )

    def remove(self, link: Link) -> None:
        actor = self.actor(link)
        if actor is None:
            raise _fail("unauthorized", "the signer is not a member")
        target = self.member(link.body["user"])
        if actor.user != target.user:
            if not actor.is_admin:
                raise _fail("unauthorized", "only an admin removes someone else")
            if target.role == Role.OWNER and actor.role != Role.OWNER:
                raise _fail("unauthorized", "only an owner removes an owner")
        if target.role == Role.OWNER and self.owners() == 1:
            raise _fail("last_owner", "the last owner cannot be removed")
        del self.members[target.user]
        del self.by_key[target.sign_pub]
        self.removed.add(target.user)
        for room_id in [key for key, room in self.rooms.items() if target.user in room.members]:
            del self.room_members(room_id)[target.user]

    def rotate_keys(self, link: Link) -> None:
        target = self.member(link.body["user"])
        if link.signer != target.sign_pub:
            raise _fail(
                "rotation_not_signed_by_old_key", "a rotation is signed by the member's current key"
            )
        (bundle,) = link._bundles or ()
        if bundle.tenant != link.tenant or bundle.user != target.user:
            raise _fail("bundle_mismatch", "the new bundle is of another tenant or user")
        self.key_free(bundle.sign_pub)
        del self.by_key[target.sign_pub]
        self.set_member(
            Member(
                target.user,
                bundle.sign_pub,
                bundle.box_pub,
                target.role,
                target.how,
                target.admitted_seq,
                bundle.to_json(),
            )
        )

    def room_actor(self, link: Link) -> Member:
        actor = self.actor(link)
        if actor is None:
            raise _fail("unauthorized", "room links are signed by a member")
        return actor

    def room_create(self, link: Link) -> None:
        actor = self.room_actor(link)
        room_id = link.body["room"]
        if room_id in self.rooms:
            raise _fail("room_exists", f"room {room_id} exists")
        kind, history = RoomKind(link.body["kind"]), RoomHistory(link.body["history"])
        self.rooms[room_id] = Room(room_id, kind, history, {actor.user: RoomRole.OWNER})
        self.own_rooms.add(room_id)

    def room_add(self, link: Link) -> None:
        actor = self.room_actor(link)
        room = self.room(link.body["room"])
        user, role = link.body["user"], RoomRole(link.body["role"])
        self.member(user)
        if user in room.members:
            raise _fail("already_in_room", f"{user!r} is in the room")
        mine = room.members.get(actor.user)
        manages = mine == RoomRole.OWNER or (mine == RoomRole.ADMIN and role != RoomRole.OWNER)
        joins = room.kind == RoomKind.CHANNEL and role == RoomRole.MEMBER and user == actor.user
        if not (actor.is_admin or manages or joins):
            raise _fail("unauthorized", "the signer may not add to this room")
        self.room_members(room.room)[user] = role

    def room_remove(self, link: Link) -> None:
        actor = self.room_actor(link)
        room = self.room(link.body["room"])
        user = link.body["user"]
        theirs = room.members.get(user)
        if theirs is None:
            raise _fail("not_in_room", f"{user!r} is not in the room")
        mine = room.members.get(actor.user)
        if not (
            user == actor.user
            or actor.is_admin
            or mine == RoomRole.OWNER
            or (mine == RoomRole.ADMIN and theirs != RoomRole.OWNER)
        ):
            raise _fail("unauthorized", "the signer may not remove from this room")
        del self.room_members(room.room)[user]

    def room_role(self, link: Link) -> None:
        actor = self.room_actor(link)
        room = self.room(link.body["room"])
        user = link.body["user"]
        if user not in room.members:
            raise _fail("not_in_room", f"{user!r} is not in the room")
        if not (actor.is_admin or room.members.get(actor.user) == RoomRole.OWNER):
            raise _fail("unauthorized", "room roles are set by a room owner or a tenant admin")
        self.room_members(room.room)[user] = RoomRole(link.body["role"])


_RULES = {
    LinkType.GENESIS: _Work.genesis,
    LinkType.POLICY: _Work.policy_link,
    LinkType.INVITE: _Work.invite,
    LinkType.ADMIT: _Work.admit_link,
    LinkType.SET_ROLE: _Work.set_role,
    LinkType.REMOVE: _Work.remove,
    LinkType.ROTATE_KEYS: _Work.rotate_keys,
    LinkType.ROOM_CREATE: _Work.room_create,
    LinkType.ROOM_ADD: _Work.room_add,
    LinkType.ROOM_REMOVE: _Work.room_remove,
    LinkType.ROOM_ROLE: _Work.room_role,
}
