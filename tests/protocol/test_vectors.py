"""The shared vectors in tests/vectors, as the Python implementation sees them.

frontend/src/protocol/*.test.ts reads the very same files.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from protocol import (
    IdentityKeys,
    ProtocolError,
    SignatureError,
    b64u_decode,
    b64u_encode,
    canonical_json,
    make_identity_bundle,
    parse_identity_bundle,
    safety_code,
    sign,
    verify,
)
from protocol.signing import sign_public_key

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return document


def cases(name: str, kind: str) -> list[Any]:
    found: list[Any] = load(name)[kind]
    assert found, f"{name} has no {kind} cases"
    return found


@pytest.mark.parametrize("case", cases("base64url.json", "valid"))
def test_base64url_valid(case: dict[str, str]) -> None:
    data = bytes.fromhex(case["hex"])
    assert b64u_encode(data) == case["text"]
    assert b64u_decode(case["text"]) == data


@pytest.mark.parametrize("case", cases("base64url.json", "invalid"), ids=lambda c: c["why"])
def test_base64url_invalid(case: dict[str, str]) -> None:
    with pytest.raises(ProtocolError) as raised:
        b64u_decode(case["text"])
    assert raised.value.code == "bad_base64url"


@pytest.mark.parametrize("case", cases("canonical_json.json", "valid"))
def test_canonical_json_valid(case: dict[str, Any]) -> None:
    assert canonical_json(case["input"]) == case["canonical"].encode("utf-8")


@pytest.mark.parametrize("case", cases("canonical_json.json", "invalid"), ids=lambda c: c["why"])
def test_canonical_json_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as raised:
        canonical_json(case["input"])
    assert raised.value.code == "non_canonical_json_value"


@pytest.mark.parametrize("case", cases("signatures.json", "valid"))
def test_signature_valid(case: dict[str, str]) -> None:
    seed = b64u_decode(case["seed"])
    message = b64u_decode(case["message"])
    public_key = b64u_decode(case["public_key"])
    signature = b64u_decode(case["signature"])
    assert sign_public_key(seed) == public_key
    assert sign(case["tag"], message, seed) == signature  # Ed25519 is deterministic
    verify(case["tag"], message, signature, public_key)


@pytest.mark.parametrize("case", cases("signatures.json", "invalid"), ids=lambda c: c["why"])
def test_signature_invalid(case: dict[str, str]) -> None:
    with pytest.raises(ProtocolError) as raised:
        verify(
            case["tag"],
            b64u_decode(case["message"]),
            b64u_decode(case["signature"]),
            b64u_decode(case["public_key"]),
        )
    assert raised.value.code == case["error"]


@pytest.mark.parametrize("case", cases("identity.json", "valid"))
def test_identity_valid(case: dict[str, Any]) -> None:
    expected = case["bundle"]
    keys = IdentityKeys.from_secrets(
        b64u_decode(case["sign_seed"]), b64u_decode(case["box_secret"])
    )
    made = make_identity_bundle(
        keys, tenant=expected["tenant"], user=expected["user"], created=expected["created"]
    )
    assert made.to_json() == expected
    parsed = parse_identity_bundle(expected)
    assert parsed == made
    assert canonical_json(parsed.unsigned_json()) == b64u_decode(case["signed_bytes"])
    assert parsed.fingerprint.hex() == case["fingerprint_hex"]
    symbols = safety_code(parsed.fingerprint)
    assert [symbol.emoji for symbol in symbols] == case["safety_code"]["emoji"]
    assert [symbol.name for symbol in symbols] == case["safety_code"]["names"]


@pytest.mark.parametrize("case", cases("identity.json", "invalid"), ids=lambda c: c["why"])
def test_identity_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_identity_bundle(case["bundle"])
    assert raised.value.code == case["error"]


def test_a_tampered_valid_vector_fails() -> None:
    case = cases("signatures.json", "valid")[1]
    signature = bytearray(b64u_decode(case["signature"]))
    signature[7] ^= 0x80
    with pytest.raises(SignatureError):
        verify(
            case["tag"],
            b64u_decode(case["message"]),
            bytes(signature),
            b64u_decode(case["public_key"]),
        )


def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(VECTORS / "generate.py"), "--out", str(tmp_path)], check=True
    )
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.json"))
    committed = sorted(str(path.relative_to(VECTORS)) for path in VECTORS.rglob("*.json"))
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name
