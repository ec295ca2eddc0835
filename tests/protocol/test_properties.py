"""Properties that must hold for every input, not only the vectors."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    BundleError,
    IdentityKeys,
    ProtocolError,
    SignatureError,
    SignatureTag,
    b64u_decode,
    b64u_encode,
    canonical_json,
    make_identity_bundle,
    parse_identity_bundle,
    sign,
    verify,
)
from protocol.encoding import MAX_SAFE_INTEGER

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=["Cs"])), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(st.binary(max_size=200))
def test_base64url_round_trips_and_has_one_spelling(data: bytes) -> None:
    text = b64u_encode(data)
    assert "=" not in text
    assert b64u_decode(text) == data


@given(st.text(max_size=40))
def test_base64url_decode_either_round_trips_or_refuses(text: str) -> None:
    try:
        data = b64u_decode(text)
    except ProtocolError:
        return
    assert b64u_encode(data) == text


@given(json_values)
def test_canonical_json_is_a_fixed_point(value: Any) -> None:
    encoded = canonical_json(value)
    assert canonical_json(json.loads(encoded)) == encoded


def test_canonical_json_refuses_lone_surrogates() -> None:
    with pytest.raises(ProtocolError):
        canonical_json({"text": "\ud800"})


@given(st.binary(max_size=100), st.integers(0, 511))
def test_any_flipped_signature_bit_fails(message: bytes, bit: int) -> None:
    keys = IdentityKeys.generate()
    signature = bytearray(sign(SignatureTag.TEST, message, keys.sign_seed))
    signature[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SignatureError):
        verify(SignatureTag.TEST, message, bytes(signature), keys.sign_pub)


def test_a_signature_does_not_carry_over_to_another_context() -> None:
    keys = IdentityKeys.generate()
    signature = sign(SignatureTag.IDENTITY, b"same bytes", keys.sign_seed)
    with pytest.raises(SignatureError):
        verify(SignatureTag.MESSAGE, b"same bytes", signature, keys.sign_pub)


def test_secret_keys_do_not_show_in_repr() -> None:
    keys = IdentityKeys.generate()
    shown = repr(keys)
    assert keys.sign_seed.hex() not in shown
    assert repr(keys.sign_seed) not in shown
    assert repr(keys.box_secret) not in shown


def test_made_bundles_parse_and_are_bound_to_their_fields() -> None:
    bundle = make_identity_bundle(
        IdentityKeys.generate(), tenant="acme", user="alice", created=1
    ).to_json()
    assert parse_identity_bundle(bundle).user == "alice"
    with pytest.raises(SignatureError):
        parse_identity_bundle({**bundle, "user": "alicf"})
    with pytest.raises(BundleError):
        make_identity_bundle(IdentityKeys.generate(), tenant="Acme", user="alice", created=1)
