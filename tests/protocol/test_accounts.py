"""Accounts (PROTOCOL.md §5.1-5.4): the shared vectors in tests/vectors/accounts.json,
then properties that must hold for random keys and inputs.

frontend/src/protocol/accounts.test.ts reads the very same file.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    DEFAULT_MEM,
    DEFAULT_OPS,
    KDF_ALG,
    BackupPurpose,
    BundleMismatchError,
    IdentityKeys,
    KdfError,
    KeysMismatchError,
    PasswordError,
    ProtocolError,
    RecoveryCodeError,
    UnwrapError,
    WrappedKeysError,
    b64u_decode,
    b64u_encode,
    check_bundle_owner,
    check_password,
    derive_password_keys,
    format_recovery_code,
    invite_token_hash,
    make_identity_bundle,
    make_key_file,
    new_kdf_params,
    new_recovery_code,
    open_key_file,
    open_sealed,
    parse_identity_bundle,
    parse_kdf_params,
    parse_recovery_code,
    parse_wrapped_keys,
    recovery_keys,
    seal_to_box_key,
    unwrap_identity_keys,
    wrap_identity_keys,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "accounts.json").read_text(encoding="utf-8")
)


def cases(section: str, kind: str | None = None) -> list[Any]:
    found: list[Any] = VECTORS[section] if kind is None else VECTORS[section][kind]
    assert found, f"accounts.json has no {section} {kind} cases"
    return found


def why(case: dict[str, Any]) -> str:
    return str(case["why"])


def optional(value: object) -> str | None:
    return None if value is None else str(value)


# --- Vectors: 5.1 -----------------------------------------------------------


@pytest.mark.parametrize("case", cases("password"), ids=lambda c: repr(c["password"]))
def test_password_vector(case: dict[str, Any]) -> None:
    kdf = parse_kdf_params(case["kdf"])
    for spelling in [case["password"], *case["equivalents"]]:
        keys = derive_password_keys(spelling, kdf)
        assert b64u_encode(keys.auth_key) == case["auth_key"]
        assert b64u_encode(keys.wrap_key) == case["wrap_key"]


@pytest.mark.parametrize("case", cases("kdf", "valid"))
def test_kdf_valid(case: dict[str, Any]) -> None:
    assert parse_kdf_params(case).to_json() == case


@pytest.mark.parametrize("case", cases("kdf", "invalid"), ids=why)
def test_kdf_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_kdf_params(case["kdf"])
    assert raised.value.code == case["error"]


# --- Vectors: 5.2 -----------------------------------------------------------


@pytest.mark.parametrize("case", cases("wrapped_keys", "valid"), ids=lambda c: c["purpose"])
def test_wrapped_keys_valid(case: dict[str, Any]) -> None:
    keys = IdentityKeys.from_secrets(
        b64u_decode(case["sign_seed"]), b64u_decode(case["box_secret"])
    )
    wrap_key = b64u_decode(case["wrap_key"])
    purpose = BackupPurpose(case["purpose"])
    made = wrap_identity_keys(
        keys,
        wrap_key,
        purpose=purpose,
        tenant=case["tenant"],
        user=case["user"],
        nonce=b64u_decode(case["nonce"]),
    )
    assert made.to_json() == case["wrapped"]
    parsed = parse_wrapped_keys(case["wrapped"])
    assert parsed == made
    opened = unwrap_identity_keys(
        parsed,
        wrap_key,
        purpose=purpose,
        tenant=case["tenant"],
        user=case["user"],
        bundle=parse_identity_bundle(case["bundle"]),
    )
    assert opened == keys


@pytest.mark.parametrize("case", cases("wrapped_keys", "invalid_unwrap"), ids=why)
def test_wrapped_keys_unwrap_invalid(case: dict[str, Any]) -> None:
    wrapped = parse_wrapped_keys(case["wrapped"])  # well-formed: only opening fails
    with pytest.raises(ProtocolError) as raised:
        unwrap_identity_keys(
            wrapped,
            b64u_decode(case["wrap_key"]),
            purpose=BackupPurpose(case["purpose"]),
            tenant=optional(case["tenant"]),
            user=optional(case["user"]),
            bundle=parse_identity_bundle(case["bundle"]),
        )
    assert raised.value.code == case["error"]


@pytest.mark.parametrize("case", cases("wrapped_keys", "invalid"), ids=why)
def test_wrapped_keys_shape_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_wrapped_keys(case["wrapped"])
    assert raised.value.code == case["error"]


# --- Vectors: 5.3 -----------------------------------------------------------


@pytest.mark.parametrize("case", cases("recovery", "valid"), ids=lambda c: c["text"])
def test_recovery_valid(case: dict[str, Any]) -> None:
    secret = b64u_decode(case["secret"])
    assert format_recovery_code(secret) == case["text"]
    for spelling in case["spellings"]:
        assert parse_recovery_code(spelling) == secret, spelling
    keys = recovery_keys(secret)
    assert b64u_encode(keys.auth_key) == case["auth_key"]
    assert b64u_encode(keys.wrap_key) == case["wrap_key"]


@pytest.mark.parametrize("case", cases("recovery", "invalid"), ids=why)
def test_recovery_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_recovery_code(case["text"])
    assert raised.value.code == case["error"]


# --- Vectors: 5.4 and invites -----------------------------------------------


@pytest.mark.parametrize("case", cases("key_file", "valid"))
def test_key_file_valid(case: dict[str, Any]) -> None:
    keys = IdentityKeys.from_secrets(
        b64u_decode(case["sign_seed"]), b64u_decode(case["box_secret"])
    )
    made = make_key_file(
        keys,
        case["passphrase"],
        kdf=parse_kdf_params(case["kdf"]),
        nonce=b64u_decode(case["nonce"]),
    )
    assert made == case["key_file"]
    assert open_key_file(case["key_file"], case["passphrase"]) == keys


@pytest.mark.parametrize(
    "case", cases("key_file", "wrong_passphrase") + cases("key_file", "invalid"), ids=why
)
def test_key_file_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as raised:
        open_key_file(case["key_file"], case["passphrase"])
    assert raised.value.code == case["error"]


@pytest.mark.parametrize("case", cases("invite", "valid"))
def test_invite_valid(case: dict[str, str]) -> None:
    assert b64u_encode(invite_token_hash(b64u_decode(case["token"]))) == case["token_hash"]


@pytest.mark.parametrize("case", cases("invite", "invalid"), ids=why)
def test_invite_invalid(case: dict[str, str]) -> None:
    with pytest.raises(ProtocolError) as raised:
        invite_token_hash(b64u_decode(case["token"]))
    assert raised.value.code == case["error"]


# --- Properties -------------------------------------------------------------

usernames = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
tenants = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
backup_purposes = st.sampled_from([BackupPurpose.KEY_BACKUP, BackupPurpose.RECOVERY_BACKUP])


@settings(max_examples=30)
@given(st.binary(min_size=32, max_size=32), backup_purposes, tenants, usernames)
def test_wrapped_keys_round_trip(
    wrap_key: bytes, purpose: BackupPurpose, tenant: str, user: str
) -> None:
    keys = IdentityKeys.generate()
    bundle = make_identity_bundle(keys, tenant=tenant, user=user, created=0)
    wrapped = wrap_identity_keys(keys, wrap_key, purpose=purpose, tenant=tenant, user=user)
    over_the_wire = parse_wrapped_keys(json.loads(json.dumps(wrapped.to_json())))
    opened = unwrap_identity_keys(
        over_the_wire, wrap_key, purpose=purpose, tenant=tenant, user=user, bundle=bundle
    )
    assert opened == keys
    assert opened.sign_seed == keys.sign_seed
    assert opened.box_secret == keys.box_secret


@settings(max_examples=30)
@given(st.data())
def test_any_flipped_bit_of_wrapped_keys_fails(data: st.DataObject) -> None:
    keys = IdentityKeys.generate()
    wrap_key = bytes(range(32))
    wrapped = wrap_identity_keys(
        keys, wrap_key, purpose=BackupPurpose.KEY_BACKUP, tenant="acme", user="alice"
    )
    sealed = bytearray(wrapped.nonce + wrapped.ciphertext)
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    tampered = type(wrapped)(bytes(sealed[:24]), bytes(sealed[24:]))
    with pytest.raises(UnwrapError):
        unwrap_identity_keys(
            tampered, wrap_key, purpose=BackupPurpose.KEY_BACKUP, tenant="acme", user="alice"
        )


def test_backup_purposes_need_an_owner_and_key_files_refuse_one() -> None:
    keys = IdentityKeys.generate()
    with pytest.raises(ValueError, match="needs the tenant and user"):
        wrap_identity_keys(keys, bytes(32), purpose=BackupPurpose.KEY_BACKUP, tenant="acme")
    with pytest.raises(ValueError, match="not bound to a tenant"):
        wrap_identity_keys(
            keys, bytes(32), purpose=BackupPurpose.KEY_FILE, tenant="acme", user="alice"
        )


def test_unwrapping_another_identity_against_a_bundle_is_a_mismatch() -> None:
    keys = IdentityKeys.generate()
    other = make_identity_bundle(IdentityKeys.generate(), tenant="acme", user="alice", created=0)
    wrapped = wrap_identity_keys(
        keys, bytes(32), purpose=BackupPurpose.KEY_BACKUP, tenant="acme", user="alice"
    )
    with pytest.raises(KeysMismatchError):
        unwrap_identity_keys(
            wrapped,
            bytes(32),
            purpose=BackupPurpose.KEY_BACKUP,
            tenant="acme",
            user="alice",
            bundle=other,
        )


@given(st.binary(min_size=20, max_size=20))
def test_recovery_codes_round_trip(secret: bytes) -> None:
    text = format_recovery_code(secret)
    assert len(text) == 39
    assert text.count("-") == 7
    assert parse_recovery_code(text) == secret
    assert parse_recovery_code(text.lower().replace("-", " ")) == secret


@given(st.text(max_size=50))
def test_reading_a_recovery_code_refuses_or_round_trips(text: str) -> None:
    try:
        secret = parse_recovery_code(text)
    except RecoveryCodeError:
        return
    assert len(secret) == 20


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=5))
def test_junk_is_refused_with_the_right_code(junk: object) -> None:
    with pytest.raises(KdfError):
        parse_kdf_params(junk)
    with pytest.raises(WrappedKeysError):
        parse_wrapped_keys(junk)


def test_new_recovery_code_and_secrets_do_not_show_in_repr() -> None:
    code = new_recovery_code()
    assert parse_recovery_code(code.text) == code.secret
    keys = recovery_keys(code.secret)
    for shown, hidden in [(repr(code), code.text), (repr(code), code.secret.hex())]:
        assert hidden not in shown
    assert repr(code) == "RecoveryCode()"
    assert repr(keys) == "PasswordKeys()"
    assert keys.auth_key != keys.wrap_key


def test_new_kdf_params_are_the_defaults_with_a_fresh_salt() -> None:
    first, second = new_kdf_params(), new_kdf_params()
    assert (first.alg, first.ops, first.mem) == (KDF_ALG, DEFAULT_OPS, DEFAULT_MEM)
    assert first.salt != second.salt
    assert parse_kdf_params(first.to_json()) == first


def test_password_keys_wrap_and_unwrap_and_a_wrong_password_fails() -> None:
    kdf = new_kdf_params()
    keys = IdentityKeys.generate()
    right = derive_password_keys("correct horse battery staple", kdf)
    wrapped = wrap_identity_keys(
        keys, right.wrap_key, purpose=BackupPurpose.KEY_BACKUP, tenant="acme", user="alice"
    )
    wrong = derive_password_keys("correct horse battery stapl", kdf)
    assert wrong.auth_key != right.auth_key
    with pytest.raises(UnwrapError):
        unwrap_identity_keys(
            wrapped, wrong.wrap_key, purpose=BackupPurpose.KEY_BACKUP, tenant="acme", user="alice"
        )


def test_key_file_round_trip_with_random_keys() -> None:
    keys = IdentityKeys.generate()
    text = json.dumps(make_key_file(keys, "a long passphrase"))
    assert open_key_file(json.loads(text), "a long passphrase") == keys
    with pytest.raises(UnwrapError):
        open_key_file(json.loads(text), "a long passphrasf")


def test_password_rules() -> None:
    check_password("0123456789")
    check_password("\ufb01" * 5)  # NFKC: ten characters
    for refused in ["012345678", "x" * 1025, "valid length but \ud800 lone surrogate"]:
        with pytest.raises(PasswordError):
            check_password(refused)
    with pytest.raises(PasswordError):
        derive_password_keys("lone \udfff surrogate", new_kdf_params())


def test_sealed_boxes_open_only_with_the_matching_key() -> None:
    keys, other = IdentityKeys.generate(), IdentityKeys.generate()
    sealed = seal_to_box_key(keys.box_pub, "same key \U0001f511")
    assert open_sealed(keys, sealed) == "same key \U0001f511"
    with pytest.raises(UnwrapError):
        open_sealed(other, sealed)
    with pytest.raises(UnwrapError):
        open_sealed(keys, b64u_encode(b64u_decode(sealed)[:-1]))


def test_a_bundle_of_another_owner_is_a_mismatch() -> None:
    bundle = make_identity_bundle(IdentityKeys.generate(), tenant="acme", user="alice", created=0)
    check_bundle_owner(bundle, tenant="acme", user="alice")
    for tenant, user in [("lear-co", "alice"), ("acme", "bob")]:
        with pytest.raises(BundleMismatchError):
            check_bundle_owner(bundle, tenant=tenant, user=user)
