"""A genesis anchored in real gpg keys (Debian's gnupg), verified by pysequoia."""

import hashlib
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import SignupPolicy, Tenant
from protocol import IdentityKeys, b64u_encode, make_identity_bundle
from protocol.chain import sign_link
from rooms import actions
from rooms.models import GenesisAnchor
from tests.gpg import Gpg
from tests.people import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)
ENROLMENT = b"e" * 32


@pytest.fixture
def root_gpg(tmp_path: Path) -> Gpg:
    return Gpg(tmp_path / "gnupg", "Root Admin <root@acme.example>")


def found_tenant_with_pgp(fingerprint: str) -> Tenant:
    tenant = make_tenant("anchored", "Anchored", SignupPolicy.INVITE)
    Tenant.objects.filter(pk=tenant.pk).update(
        genesis_enrolment_hash=hashlib.sha256(ENROLMENT).digest()
    )
    tenant = Tenant.objects.get(pk=tenant.pk)
    keys = IdentityKeys.generate()
    now = int(time.time() * 1000)
    bundle = make_identity_bundle(keys, tenant="anchored", user="root", created=now)
    genesis = sign_link(
        tenant="anchored",
        seq=0,
        prev=None,
        ts=now,
        type="genesis",
        body={
            "roots": [bundle.to_json()],
            "policy": {"mode": "invite", "domains": []},
            "server_key": actions.tenant_server_key(tenant),
            "pgp": [fingerprint],
        },
        seed=keys.sign_seed,
    )
    actions.check_append_link(tenant, genesis.to_json(), enrolment_token=b64u_encode(ENROLMENT))
    return tenant


def test_a_genesis_clearsigned_with_gpg_is_anchored(
    root_gpg: Gpg, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found_tenant_with_pgp(root_gpg.fingerprint)
    call_command("tenant_genesis", "export", "anchored")
    statement = capsys.readouterr().out.strip()
    assert statement.startswith("pipo-genesis:anchored:")
    signed = root_gpg.clearsign(statement, tmp_path / "genesis.asc")
    cert = root_gpg.export(tmp_path / "root.pub.asc")
    call_command("tenant_genesis", "attach", "anchored", str(signed), "--cert", str(cert))
    assert f"anchored by PGP key {root_gpg.fingerprint}" in capsys.readouterr().out
    assert GenesisAnchor.objects.get().fingerprint == root_gpg.fingerprint


def test_a_genesis_signed_by_a_revoked_gpg_key_is_refused(
    root_gpg: Gpg, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found_tenant_with_pgp(root_gpg.fingerprint)
    call_command("tenant_genesis", "export", "anchored")
    statement = capsys.readouterr().out.strip()
    signed = root_gpg.clearsign(statement, tmp_path / "genesis.asc")
    root_gpg.revoke()
    cert = root_gpg.export(tmp_path / "revoked.pub.asc")
    with pytest.raises(CommandError, match="pgp_key_revoked"):
        call_command("tenant_genesis", "attach", "anchored", str(signed), "--cert", str(cert))
    assert not GenesisAnchor.objects.exists()


def test_a_clearsignature_of_something_else_or_by_an_unlisted_key_is_refused(
    root_gpg: Gpg, tmp_path: Path
) -> None:
    found_tenant_with_pgp(root_gpg.fingerprint)
    wrong_text = root_gpg.clearsign("pipo-genesis:anchored:" + "00" * 32, tmp_path / "wrong.asc")
    cert = root_gpg.export(tmp_path / "root.pub.asc")
    with pytest.raises(CommandError, match="wrong_statement"):
        call_command("tenant_genesis", "attach", "anchored", str(wrong_text), "--cert", str(cert))
    stranger = Gpg(tmp_path / "stranger", "Stranger <s@evil.example>")
    statement_file = tmp_path / "statement.txt"
    call_command("tenant_genesis", "export", "anchored", stdout=statement_file.open("w"))
    signed = stranger.clearsign(statement_file.read_text().strip(), tmp_path / "s.asc")
    with pytest.raises(CommandError, match="pgp_not_in_genesis"):
        call_command(
            "tenant_genesis",
            "attach",
            "anchored",
            str(signed),
            "--cert",
            str(stranger.export(tmp_path / "s.pub.asc")),
        )
    assert not GenesisAnchor.objects.exists()
