"""What the protocol layer costs on top of bare libsodium, measured in one run.

Prints operations per second for PiPo's domain-separated signing, signature
verification and identity-bundle verification (schema + canonical JSON +
Ed25519), each beside the bare PyNaCl primitive it wraps, and the ratio.
"""

import statistics
import time
from collections.abc import Callable

import nacl.bindings

from protocol import (
    IdentityKeys,
    SignatureTag,
    make_identity_bundle,
    parse_identity_bundle,
    sign,
    verify,
)
from protocol.signing import signing_input

ROUNDS = 5
DURATION_SECONDS = 0.3


def operations_per_second(operation: Callable[[], object]) -> float:
    """Median over ROUNDS of how many calls fit in DURATION_SECONDS."""
    rates = []
    for _ in range(ROUNDS):
        count = 0
        started = time.perf_counter()
        deadline = started + DURATION_SECONDS
        while time.perf_counter() < deadline:
            for _ in range(50):
                operation()
            count += 50
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


def report(name: str, ours: Callable[[], object], baseline: Callable[[], object]) -> None:
    ours_rate = operations_per_second(ours)
    baseline_rate = operations_per_second(baseline)
    print(
        f"{name:<28} pipo {ours_rate:>10,.0f}/s   bare libsodium {baseline_rate:>10,.0f}/s   "
        f"pipo/bare: {ours_rate / baseline_rate:.2f}"
    )


def main() -> None:
    keys = IdentityKeys.generate()
    _public, secret = nacl.bindings.crypto_sign_seed_keypair(keys.sign_seed)
    message = b"x" * 1024
    signature = sign(SignatureTag.TEST, message, keys.sign_seed)
    framed = signing_input(SignatureTag.TEST, message)
    bundle = make_identity_bundle(keys, tenant="acme", user="alice", created=1).to_json()

    print("protocol (Python, PyNaCl), 1 KiB messages; median of 5 rounds")
    report(
        "sign",
        lambda: sign(SignatureTag.TEST, message, keys.sign_seed),
        lambda: nacl.bindings.crypto_sign(framed, secret),
    )
    report(
        "verify",
        lambda: verify(SignatureTag.TEST, message, signature, keys.sign_pub),
        lambda: nacl.bindings.crypto_sign_open(signature + framed, keys.sign_pub),
    )
    report(
        "identity bundle verify",
        lambda: parse_identity_bundle(bundle),
        lambda: nacl.bindings.crypto_sign_open(signature + framed, keys.sign_pub),
    )
