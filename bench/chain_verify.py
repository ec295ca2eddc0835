"""What verifying a trust chain costs, beside the bare Ed25519 verifies it needs.

Builds a deterministic 10,000-link chain (a genesis, then members joining by
invite, rooms being created and joined), writes it as JSON to a temporary
file (for measuring ``verifyChain`` in a browser), and prints:

- the cold verify in Python (every link parsed, every signature checked),
- the incremental verify of one more link on top of the verified state,
- the bare cost of as many PyNaCl verifies as the chain has signatures, and
  the ratio.

Goals (ARCHITECTURE.md §5): 10,000 links in at most 1 s in Chromium, +1 link
in at most 20 ms.
"""

import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nacl.bindings

from protocol import IdentityKeys, invite_token_hash, make_identity_bundle, parse_identity_bundle
from protocol.chain import Link, parse_link, sign_link, verify_chain
from protocol.encoding import b64u_encode, canonical_json
from protocol.signing import SignatureTag, sign_public_key, signing_input

LINKS = 10_000
TENANT = "bench"
T0 = 1_700_000_000_000
ROUNDS = 3


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"pipo bench chain: {label}".encode()).digest()


def _room_id(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012x}"


class _Chain:
    def __init__(self) -> None:
        self.links: list[Link] = []

    def add(self, link_type: str, body: dict[str, Any], seed: bytes) -> None:
        previous = self.links[-1] if self.links else None
        self.links.append(
            sign_link(
                tenant=TENANT,
                seq=len(self.links),
                prev=None if previous is None else previous.hash,
                ts=T0 + len(self.links),
                type=link_type,
                body=body,
                seed=seed,
            )
        )


def build_chain(count: int = LINKS) -> list[dict[str, Any]]:
    """A valid chain of ``count`` links, the same on every run (wire form)."""
    owner = IdentityKeys.from_secrets(_seed("owner sign"), _seed("owner box"))
    chain = _Chain()
    chain.add(
        "genesis",
        {
            "roots": [
                make_identity_bundle(owner, tenant=TENANT, user="owner", created=T0).to_json()
            ],
            "policy": {"mode": "invite", "domains": []},
            "server_key": b64u_encode(sign_public_key(_seed("server"))),
        },
        owner.sign_seed,
    )
    members: list[tuple[str, bytes]] = [("owner", owner.sign_seed)]
    rooms = 0
    while len(chain.links) < count:
        # One round: a room now and then, an invite and its admit (the most
        # expensive pair: two Ed25519 verifies), and the newcomer joins two channels.
        if len(members) % 10 == 1:
            creator_seed = members[len(members) // 2][1]
            body = {"room": _room_id(rooms), "kind": "channel", "history": "all"}
            chain.add("room_create", body, creator_seed)
            rooms += 1
        user = f"user{len(members)}"
        keys = IdentityKeys.from_secrets(_seed(f"{user} sign"), _seed(f"{user} box"))
        token = _seed(f"{user} invite")
        invite = {
            "token_hash": b64u_encode(invite_token_hash(token)),
            "role": "member",
            "expires": T0 + 10 * count,
        }
        chain.add("invite", invite, owner.sign_seed)
        bundle = make_identity_bundle(keys, tenant=TENANT, user=user, created=T0).to_json()
        admit = {"bundle": bundle, "role": "member", "how": "invite", "token": b64u_encode(token)}
        chain.add("admit", admit, keys.sign_seed)
        members.append((user, keys.sign_seed))
        for offset in range(min(2, rooms)):
            room = _room_id((len(members) + offset) % rooms)
            chain.add("room_add", {"room": room, "user": user, "role": "member"}, keys.sign_seed)
    del chain.links[count:]
    return [link.to_json() for link in chain.links]


def _median_seconds(action: Any, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _signed_inputs(links: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """(signature + signing input, public key) for every Ed25519 verify the chain needs."""
    inputs = []
    for document in links:
        link = parse_link(document)
        message = signing_input(SignatureTag.LINK, canonical_json(link.unsigned_json()))
        inputs.append((link.sig + message, link.signer))
        if "bundle" in link.body:
            bundle = parse_identity_bundle(link.body["bundle"])
            framed = signing_input(SignatureTag.IDENTITY, canonical_json(bundle.unsigned_json()))
            inputs.append((bundle.sig + framed, bundle.sign_pub))
    return inputs


def main() -> None:
    started = time.perf_counter()
    links = build_chain()
    built = time.perf_counter() - started
    path = Path(tempfile.gettempdir()) / "pipo-chain-10k.json"
    path.write_text(json.dumps({"tenant": TENANT, "links": links}), encoding="utf-8")
    print(f"chain: {len(links):,} links built in {built:.1f} s, written to {path}")

    cold = _median_seconds(lambda: verify_chain(links, tenant=TENANT))
    state = verify_chain(links[:-1], tenant=TENANT)
    last = links[-1]
    incremental = _median_seconds(lambda: state.apply(parse_link(last)), rounds=21)
    inputs = _signed_inputs(links)
    bare = _median_seconds(
        lambda: [nacl.bindings.crypto_sign_open(framed, key) for framed, key in inputs[:LINKS]]
    )
    bare_all = _median_seconds(
        lambda: [nacl.bindings.crypto_sign_open(framed, key) for framed, key in inputs]
    )
    final = verify_chain(links, tenant=TENANT)
    print(
        f"state: {len(final.members):,} members, {len(final.rooms):,} rooms, "
        f"{len(final.invites):,} invites; {len(inputs):,} Ed25519 verifies in all"
    )
    print(f"chain verify python cold: {cold * 1000:.0f} ms ({cold / bare:.2f}x bare ed25519)")
    print(f"chain verify python +1 link: {incremental * 1000:.2f} ms")
    print(
        f"bare ed25519 (PyNaCl): {LINKS:,} verifies {bare * 1000:.0f} ms; "
        f"all {len(inputs):,} the chain needs {bare_all * 1000:.0f} ms "
        f"(cold/all: {cold / bare_all:.2f}x)"
    )


if __name__ == "__main__":
    main()
