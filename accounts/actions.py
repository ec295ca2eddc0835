"""Every write of the accounts app. `check_*` validate untrusted input and call
`do_*`; both take the tenant explicitly and run in one transaction, so a
refused request stores nothing."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from accounts.errors import AccountError
from accounts.models import (
    AccountState,
    AuthFailure,
    EmailConfirmation,
    Identity,
    Invite,
    KeyBackup,
    Role,
    RootEnrolment,
    SignupPolicy,
    Tenant,
    User,
)
from accounts.selectors import invite_by_token_hash, recent_failures, user_by_username
from protocol import (
    IdentityBundle,
    ProtocolError,
    b64u_decode,
    b64u_encode,
    parse_identity_bundle,
)
from protocol.accounts import (
    DEFAULT_MEM,
    DEFAULT_OPS,
    KDF_ALG,
    invite_token_hash,
    parse_kdf_params,
    parse_wrapped_keys,
)
from protocol.chain import (
    MAX_PGP_FINGERPRINTS,
    MAX_ROOTS,
    PGP_FINGERPRINT_PATTERN,
    Link,
    LinkType,
    parse_link,
)
from protocol.identity import TENANT_SLUG_PATTERN, USERNAME_PATTERN
from rooms.actions import (
    attest_domain_admission,
    awaiting_genesis,
    claim_root_seat,
    do_take_root_seat,
    record_approval_in_chain,
    record_invite_in_chain,
    record_rotation_in_chain,
    record_signup_in_chain,
)

CONFIRMATION_LIFETIME = timedelta(hours=24)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_INVITE_LIFETIME = timedelta(days=90)


# --- Parsing untrusted fields -------------------------------------------------


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise AccountError("invalid_request", f"'{name}' is missing or not a {kind.__name__}")
    return value


def _key_field(data: dict[str, Any], name: str) -> bytes:
    text = _field(data, name, str)
    try:
        key = b64u_decode(text)
    except ProtocolError:
        raise AccountError("invalid_request", f"'{name}' must be base64url") from None
    if len(key) != 32:
        raise AccountError("invalid_request", f"'{name}' must be 32 bytes")
    return key


def _username(data: dict[str, Any]) -> str:
    username = _field(data, "username", str)
    if USERNAME_PATTERN.fullmatch(username) is None:
        raise AccountError(
            "invalid_username",
            "A username is 1-64 characters of a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or digit.",
        )
    return str(username)


def _email(data: dict[str, Any], *, required: bool) -> str:
    email = data.get("email") or ""
    if not isinstance(email, str):
        raise AccountError("invalid_email", "The email address is not valid.")
    email = email.strip()
    if not email:
        if required:
            raise AccountError("invalid_email", "This workspace needs your email address.")
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise AccountError("invalid_email", "The email address is not valid.") from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _kdf(value: object) -> dict[str, Any]:
    try:
        return parse_kdf_params(value).to_json()
    except ProtocolError as error:
        raise AccountError("invalid_kdf", error.message) from None


def _wrapped_keys(value: object) -> dict[str, Any]:
    try:
        return parse_wrapped_keys(value).to_json()
    except ProtocolError as error:
        raise AccountError("malformed_wrapped_keys", error.message) from None


def client_address(meta: dict[str, Any]) -> str | None:
    address = meta.get("REMOTE_ADDR")
    return str(address) if address else None


# --- Tenants ------------------------------------------------------------------


def check_create_tenant(
    *,
    slug: str,
    name: str,
    policy: str,
    allowed_domains: list[str] | None = None,
    serves_bare_domain: bool = False,
    first_user_becomes_owner: bool = False,
    genesis_enrolment_hash: bytes = b"",
    root_enrolment_hashes: Sequence[bytes] = (),
    genesis_pgp: Sequence[str] = (),
) -> Tenant:
    if TENANT_SLUG_PATTERN.fullmatch(slug) is None:
        raise AccountError("invalid_slug", "A slug is a-z, 0-9 and '-', at most 63 characters.")
    if policy not in SignupPolicy.values:
        raise AccountError("invalid_policy", f"Policy must be one of {SignupPolicy.values}.")
    domains = sorted({domain.strip().lower().lstrip("@") for domain in allowed_domains or []})
    if policy == SignupPolicy.DOMAIN and not domains:
        raise AccountError("invalid_policy", "The domain policy needs at least one domain.")
    if not name.strip():
        raise AccountError("invalid_request", "A tenant needs a name.")
    pgp = [fingerprint.strip().lower().replace(" ", "") for fingerprint in genesis_pgp]
    if len(pgp) > MAX_PGP_FINGERPRINTS or len(set(pgp)) != len(pgp):
        raise AccountError(
            "invalid_request", f"At most {MAX_PGP_FINGERPRINTS} distinct PGP fingerprints."
        )
    if any(PGP_FINGERPRINT_PATTERN.fullmatch(fingerprint) is None for fingerprint in pgp):
        raise AccountError(
            "invalid_request", "A PGP fingerprint is 40 or 64 hex digits (gpg --fingerprint)."
        )
    if len(root_enrolment_hashes) > MAX_ROOTS:
        raise AccountError("invalid_request", f"A genesis has at most {MAX_ROOTS} root admins.")
    if root_enrolment_hashes and (genesis_enrolment_hash or first_user_becomes_owner):
        raise AccountError(
            "invalid_request", "Root seats replace the single enrolment and first-user founding."
        )
    return do_create_tenant(
        slug=slug,
        name=name.strip(),
        policy=policy,
        allowed_domains=domains,
        serves_bare_domain=serves_bare_domain,
        first_user_becomes_owner=first_user_becomes_owner,
        genesis_enrolment_hash=genesis_enrolment_hash,
        root_enrolment_hashes=root_enrolment_hashes,
        genesis_pgp=pgp,
    )


@transaction.atomic
def do_create_tenant(
    *,
    slug: str,
    name: str,
    policy: str,
    allowed_domains: list[str],
    serves_bare_domain: bool,
    first_user_becomes_owner: bool,
    genesis_enrolment_hash: bytes = b"",
    root_enrolment_hashes: Sequence[bytes] = (),
    genesis_pgp: Sequence[str] = (),
) -> Tenant:
    if Tenant.objects.filter(slug=slug).exists():
        raise AccountError("slug_taken", f"A tenant '{slug}' already exists.")
    tenant = Tenant.objects.create(
        slug=slug,
        name=name,
        signup_policy=policy,
        allowed_domains=allowed_domains,
        serves_bare_domain=serves_bare_domain,
        first_user_becomes_owner=first_user_becomes_owner,
        server_sign_seed=secrets.token_bytes(32),
        genesis_enrolment_hash=genesis_enrolment_hash,
        genesis_pgp=list(genesis_pgp),
    )
    RootEnrolment.objects.bulk_create(
        RootEnrolment(tenant=tenant, position=position, token_hash=token_hash)
        for position, token_hash in enumerate(root_enrolment_hashes)
    )
    return tenant


# --- Invites ------------------------------------------------------------------


@transaction.atomic
def do_create_invite(
    tenant: Tenant,
    *,
    created_by: User | None,
    token_hash: bytes,
    role: str,
    expires_at: Any,
    email: str = "",
) -> Invite:
    return Invite.objects.create(
        tenant=tenant,
        token_hash=token_hash,
        role=role,
        expires_at=expires_at,
        created_by=created_by,
        email=email,
    )


def check_create_invite(actor: User, tenant: Tenant, data: dict[str, Any]) -> Invite:
    if actor.tenant_id != tenant.pk or not actor.is_tenant_admin:
        raise AccountError("forbidden", "Only the workspace's admins can invite.", status=403)
    token_hash = _key_field(data, "token_hash")
    role = _field(data, "role", str)
    if role not in {Role.MEMBER, Role.ADMIN} or (
        role == Role.ADMIN and actor.role not in {Role.OWNER, Role.ADMIN}
    ):
        raise AccountError("invalid_role", "An invite's role is 'member' or 'admin'.")
    expires_ms = _field(data, "expires_at", int)
    now = timezone.now()
    expires_at = datetime.fromtimestamp(expires_ms / 1000, tz=UTC)
    if not now < expires_at <= now + MAX_INVITE_LIFETIME:
        raise AccountError("invalid_expiry", "An invite expires within 90 days from now.")
    email = _email(data, required=False)
    invite_link = None
    if data.get("invite_link") is not None:
        try:
            invite_link = parse_link(data["invite_link"])
        except ProtocolError as error:
            raise AccountError(error.code, f"Invite link refused: {error.message}") from None
    try:
        with transaction.atomic():
            invite = do_create_invite(
                tenant,
                created_by=actor,
                token_hash=token_hash,
                role=role,
                expires_at=expires_at,
                email=email,
            )
            record_invite_in_chain(
                tenant,
                invite_link=invite_link,
                token_hash=token_hash,
                role=role,
                expires_ms=expires_ms,
            )
            return invite
    except IntegrityError:
        raise AccountError("invalid_request", "This invite token is already in use.") from None


def _redeem_invite(tenant: Tenant, token: bytes) -> Invite:
    """The live invite for `token` in this tenant, locked for this transaction."""
    invite = invite_by_token_hash(tenant, invite_token_hash(token))
    if invite is None:
        raise AccountError("invite_invalid", "This invite link is not valid for this workspace.")
    invite = Invite.objects.select_for_update().get(pk=invite.pk)
    if invite.used_at is not None:
        raise AccountError("invite_used", "This invite has already been used.")
    if invite.expires_at <= timezone.now():
        raise AccountError("invite_expired", "This invite has expired.")
    return invite


# --- Signup -------------------------------------------------------------------


@dataclass(frozen=True)
class SignupResult:
    user: User
    state: str


def _emails_domain_allowed(tenant: Tenant, email: str) -> bool:
    domain = email.rpartition("@")[2]
    return domain in tenant.allowed_domains


def check_signup(tenant: Tenant, data: dict[str, Any], *, base_url: str) -> SignupResult:
    """Validate a signup completely before anything is written."""
    username = _username(data)
    invite_text = data.get("invite_token")
    invite_token: bytes | None = None
    if invite_text is not None:
        invite_token = _key_field(data, "invite_token")
    email_required = (
        invite_token is None and data.get("enrolment_token") is None
    ) and tenant.signup_policy in {
        SignupPolicy.APPROVAL,
        SignupPolicy.DOMAIN,
    }
    email = _email(data, required=email_required)
    kdf = _kdf(data.get("kdf"))
    auth_key = _key_field(data, "auth_key")
    try:
        bundle = parse_identity_bundle(data.get("identity_bundle"))
    except ProtocolError as error:
        raise AccountError(error.code, f"Identity bundle refused: {error.message}") from None
    if bundle.tenant != tenant.slug or bundle.user != username:
        raise AccountError(
            "bundle_mismatch", "The identity bundle names another tenant or username."
        )
    wrapped_keys = _wrapped_keys(data.get("wrapped_keys"))
    recovery = data.get("recovery")
    if not isinstance(recovery, dict):
        raise AccountError("invalid_request", "'recovery' is missing")
    recovery_auth_key = _key_field(recovery, "auth_key")
    recovery_wrapped_keys = _wrapped_keys(recovery.get("wrapped_keys"))
    chain_link = None
    if data.get("chain_link") is not None:
        try:
            chain_link = parse_link(data["chain_link"])
        except ProtocolError as error:
            raise AccountError(error.code, f"Chain link refused: {error.message}") from None
    enrolment_token = data.get("enrolment_token")
    if enrolment_token is not None and not isinstance(enrolment_token, str):
        raise AccountError("invalid_request", "'enrolment_token' must be a string")
    founding = (
        chain_link is not None and chain_link.type == LinkType.GENESIS
    ) or enrolment_token is not None
    if invite_token is None and not founding:
        if tenant.signup_policy == SignupPolicy.INVITE:
            raise AccountError("invite_required", "This workspace is by invitation only.")
        if tenant.signup_policy == SignupPolicy.DOMAIN and not _emails_domain_allowed(
            tenant, email
        ):
            allowed = ", ".join(tenant.allowed_domains)
            raise AccountError(
                "domain_not_allowed", f"Only addresses at {allowed} can join this workspace."
            )
    return do_signup(
        tenant,
        username=username,
        email=email,
        kdf=kdf,
        auth_key=auth_key,
        bundle=bundle,
        wrapped_keys=wrapped_keys,
        recovery_auth_key=recovery_auth_key,
        recovery_wrapped_keys=recovery_wrapped_keys,
        invite_token=invite_token,
        base_url=base_url,
        chain_link=chain_link,
        enrolment_token=enrolment_token,
    )


@transaction.atomic
def do_signup(
    tenant: Tenant,
    *,
    username: str,
    email: str,
    kdf: dict[str, Any],
    auth_key: bytes,
    bundle: IdentityBundle,
    wrapped_keys: dict[str, Any],
    recovery_auth_key: bytes,
    recovery_wrapped_keys: dict[str, Any],
    invite_token: bytes | None,
    base_url: str,
    chain_link: Link | None = None,
    enrolment_token: str | None = None,
) -> SignupResult:
    # Serialise signups per tenant: the "first user becomes owner" decision
    # and invite redemption must not race.
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    founding = chain_link is not None and chain_link.type == LinkType.GENESIS
    # A root seat of a multi-root genesis: enrolled now, signs the draft later.
    root_seat = (
        claim_root_seat(tenant, enrolment_token)
        if not founding and enrolment_token is not None
        else None
    )
    if not founding and root_seat is None and awaiting_genesis(tenant):
        raise AccountError(
            "genesis_required",
            "This workspace is not set up yet: its root admins have not founded it.",
        )
    invite = _redeem_invite(tenant, invite_token) if invite_token is not None else None
    role: str = Role.MEMBER
    if founding or root_seat is not None:
        # The root admins who sign the genesis (§6.2) own the tenant.
        state, role = AccountState.ACTIVE, Role.OWNER
    elif invite is not None:
        state, role = AccountState.ACTIVE, invite.role
    elif tenant.signup_policy == SignupPolicy.OPEN:
        state = AccountState.ACTIVE
    elif tenant.signup_policy == SignupPolicy.APPROVAL:
        state = AccountState.PENDING_APPROVAL
    else:
        state = AccountState.PENDING_EMAIL
    if (
        tenant.first_user_becomes_owner
        and state == AccountState.ACTIVE
        and not User.objects.filter(tenant=tenant, role=Role.OWNER).exists()
    ):
        role = Role.OWNER
    if User.objects.filter(tenant=tenant, username=username).exists():
        raise AccountError("username_taken", "This username is taken.")
    user = User(tenant=tenant, username=username, email=email, role=role, state=state, kdf=kdf)
    user.set_password(b64u_encode(auth_key))
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise AccountError("username_taken", "This username is taken.") from None
    Identity.objects.create(
        tenant=tenant,
        user=user,
        bundle=bundle.to_json(),
        sign_pub=bundle.sign_pub,
        box_pub=bundle.box_pub,
        fingerprint=bundle.fingerprint.hex(),
    )
    KeyBackup.objects.create(
        tenant=tenant,
        user=user,
        wrapped_keys=wrapped_keys,
        recovery_wrapped_keys=recovery_wrapped_keys,
        recovery_auth_hash=make_password(b64u_encode(recovery_auth_key)),
    )
    if invite is not None:
        invite.used_by = user
        invite.used_at = timezone.now()
        invite.save(update_fields=["used_by", "used_at"])
    if root_seat is not None:
        do_take_root_seat(tenant, root_seat, user)
        return SignupResult(user=user, state=state)
    record_signup_in_chain(
        tenant,
        chain_link=chain_link,
        enrolment_token=enrolment_token,
        bundle_json=bundle.to_json(),
        how=None
        if state != AccountState.ACTIVE or founding
        else ("invite" if invite is not None else "open"),
        role=role,
    )
    if state == AccountState.PENDING_EMAIL:
        do_send_email_confirmation(tenant, user, base_url=base_url)
    return SignupResult(user=user, state=state)


# --- Email confirmation -------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@transaction.atomic
def do_send_email_confirmation(tenant: Tenant, user: User, *, base_url: str) -> None:
    """A fresh single-use link; older unused links of this user stop working."""
    now = timezone.now()
    EmailConfirmation.objects.filter(tenant=tenant, user=user, used_at__isnull=True).update(
        used_at=now
    )
    token = secrets.token_urlsafe(32)
    EmailConfirmation.objects.create(
        tenant=tenant,
        user=user,
        token_hash=_token_digest(token),
        expires_at=now + CONFIRMATION_LIFETIME,
    )
    link = f"{base_url}/confirm#c={token}"
    transaction.on_commit(lambda: emails.send_confirmation(user, tenant, link))


def check_confirm_email(tenant: Tenant, data: dict[str, Any]) -> User:
    token = _field(data, "token", str)
    if not 20 <= len(token) <= 100 or not token.isascii():
        raise AccountError("invalid_token", "This confirmation link is not valid.")
    return do_confirm_email(tenant, token_hash=_token_digest(token))


@transaction.atomic
def do_confirm_email(tenant: Tenant, *, token_hash: str) -> User:
    confirmation = (
        EmailConfirmation.objects.select_for_update()
        .select_related("user")
        .filter(tenant=tenant, token_hash=token_hash)
        .first()
    )
    if confirmation is None or confirmation.used_at is not None:
        raise AccountError("invalid_token", "This confirmation link is not valid any more.")
    if confirmation.expires_at <= timezone.now():
        raise AccountError("token_expired", "This confirmation link has expired.")
    confirmation.used_at = timezone.now()
    confirmation.save(update_fields=["used_at"])
    user = confirmation.user
    if user.state == AccountState.PENDING_EMAIL:
        user.state = AccountState.ACTIVE
        user.save(update_fields=["state"])
        attest_domain_admission(tenant, bundle_json=user.identity.bundle)
    return user


def check_resend_confirmation(tenant: Tenant, data: dict[str, Any], *, base_url: str) -> None:
    """Answers the same whether or not the username exists (no enumeration)."""
    username = data.get("username")
    if not isinstance(username, str):
        return
    user = user_by_username(tenant, username)
    if user is not None and user.state == AccountState.PENDING_EMAIL:
        do_send_email_confirmation(tenant, user, base_url=base_url)


# --- Approval -----------------------------------------------------------------


@transaction.atomic
def do_decide_signup(
    admin: User,
    user: User,
    *,
    approve: bool,
    login_url: str,
    admit_link: Link | None = None,
) -> None:
    """Approve or reject a signup request. On a tenant with a trust chain an
    approval is only as good as the admin's signed admit link (§6.2)."""
    if admin.tenant_id != user.tenant_id or not admin.is_tenant_admin:
        raise AccountError("forbidden", "Only this workspace's admins decide.", status=403)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state != AccountState.PENDING_APPROVAL:
        return
    if approve:
        record_approval_in_chain(
            user.tenant, admit_link=admit_link, bundle_json=user.identity.bundle
        )
    user.state = AccountState.ACTIVE if approve else AccountState.REJECTED
    user.decided_by = admin
    user.decided_at = timezone.now()
    user.save(update_fields=["state", "decided_by", "decided_at"])
    tenant = user.tenant
    if approve:
        transaction.on_commit(lambda: emails.send_approved(user, tenant, login_url))
    else:
        transaction.on_commit(lambda: emails.send_rejected(user, tenant))


def check_decide_signup(
    admin: User,
    tenant: Tenant,
    *,
    username: str,
    approve: bool,
    data: dict[str, Any],
    login_url: str,
) -> None:
    if admin.tenant_id != tenant.pk or not admin.is_tenant_admin:
        raise AccountError("forbidden", "Only this workspace's admins decide.", status=403)
    person = user_by_username(tenant, username)
    if person is None or person.state != AccountState.PENDING_APPROVAL:
        raise AccountError("not_found", "No such signup request.", status=404)
    admit_link = None
    if approve and data.get("admit_link") is not None:
        try:
            admit_link = parse_link(data["admit_link"])
        except ProtocolError as error:
            raise AccountError(error.code, f"Admit link refused: {error.message}") from None
    do_decide_signup(admin, person, approve=approve, login_url=login_url, admit_link=admit_link)


# --- Login, throttling, password change, recovery ------------------------------


def decoy_kdf(tenant: Tenant, username: str) -> dict[str, Any]:
    """Stable, same-shape KDF parameters for a username that has no account."""
    secret = hashlib.sha256(b"pipo/decoy-salt/v1" + settings.SECRET_KEY.encode()).digest()
    salt = hmac.new(secret, f"{tenant.slug}\x00{username}".encode(), "sha256").digest()[:16]
    return {"alg": KDF_ALG, "ops": DEFAULT_OPS, "mem": DEFAULT_MEM, "salt": b64u_encode(salt)}


def login_kdf(tenant: Tenant, username: object) -> dict[str, Any]:
    if not isinstance(username, str) or len(username) > 64:
        raise AccountError("invalid_request", "'username' is missing or too long")
    user = user_by_username(tenant, username)
    if user is None:
        return decoy_kdf(tenant, username)
    kdf: dict[str, Any] = user.kdf
    return kdf


def _check_throttle(tenant: Tenant, username: str, address: str | None) -> None:
    now = timezone.now()
    by_account, by_address, oldest = recent_failures(
        tenant, since=now - THROTTLE_WINDOW, username=username, address=address
    )
    if by_account >= MAX_FAILURES_PER_ACCOUNT or by_address >= MAX_FAILURES_PER_ADDRESS:
        retry = THROTTLE_WINDOW - (now - oldest) if oldest else THROTTLE_WINDOW
        seconds = max(1, int(retry.total_seconds()) + 1)
        raise AccountError(
            "throttled",
            f"Too many failed attempts. Try again in {(seconds + 59) // 60} minutes.",
            status=429,
            retry_after=seconds,
        )


def _record_failure(tenant: Tenant, username: str, address: str | None) -> None:
    AuthFailure.objects.create(tenant=tenant, username=username[:64], address=address)


INVALID_CREDENTIALS = AccountError("invalid_credentials", "Wrong username or password.")


def _verify_secret(user: User | None, secret: bytes, *, recovery: bool) -> bool:
    encoded = b64u_encode(secret)
    if user is None:
        make_password(encoded)  # same work as a real check: no timing oracle
        return False
    if recovery:
        backup = getattr(user, "key_backup", None)
        if backup is None:
            make_password(encoded)
            return False
        return check_password(encoded, backup.recovery_auth_hash)
    return user.check_password(encoded)


def _state_gate(user: User) -> None:
    if user.state == AccountState.PENDING_APPROVAL:
        raise AccountError(
            "pending_approval",
            "Your account is waiting for an administrator's approval.",
            status=403,
        )
    if user.state == AccountState.PENDING_EMAIL:
        raise AccountError(
            "pending_email", "Confirm your email address first (see your inbox).", status=403
        )
    if user.state == AccountState.REJECTED:
        raise AccountError("rejected", "Your request to join was declined.", status=403)
    if user.state == AccountState.REMOVED:
        raise AccountError("removed", "You were removed from this workspace.", status=403)


def check_login(
    tenant: Tenant, data: dict[str, Any], *, address: str | None, recovery: bool = False
) -> User:
    """The user whose auth key (or recovery key) this is; throttled on failures."""
    username = _field(data, "username", str)[:64]
    secret = _key_field(data, "recovery_auth_key" if recovery else "auth_key")
    _check_throttle(tenant, username, address)
    user = user_by_username(tenant, username)
    if not _verify_secret(user, secret, recovery=recovery):
        _record_failure(tenant, username, address)
        raise INVALID_CREDENTIALS
    assert user is not None
    AuthFailure.objects.filter(tenant=tenant, username=username).delete()
    _state_gate(user)
    return user


@dataclass(frozen=True)
class NewCredentials:
    """A fresh password derivation and the backup re-wrapped under it (and,
    where given, a fresh recovery code's key and backup)."""

    kdf: dict[str, Any]
    auth_key: bytes
    wrapped_keys: dict[str, Any]
    recovery_auth_key: bytes | None = None
    recovery_wrapped_keys: dict[str, Any] | None = None


def _new_credentials(data: dict[str, Any], *, with_recovery: bool) -> NewCredentials:
    kdf = _kdf(data.get("new_kdf"))
    auth_key = _key_field(data, "new_auth_key")
    wrapped = _wrapped_keys(data.get("new_wrapped_keys"))
    if not with_recovery:
        return NewCredentials(kdf, auth_key, wrapped)
    recovery = data.get("new_recovery")
    if not isinstance(recovery, dict):
        raise AccountError("invalid_request", "'new_recovery' is missing")
    return NewCredentials(
        kdf,
        auth_key,
        wrapped,
        _key_field(recovery, "auth_key"),
        _wrapped_keys(recovery.get("wrapped_keys")),
    )


def _check_current_password(user: User, current: bytes, *, address: str | None) -> None:
    _check_throttle(user.tenant, user.username, address)
    if not user.check_password(b64u_encode(current)):
        _record_failure(user.tenant, user.username, address)
        raise AccountError("invalid_credentials", "The current password is wrong.")


def check_change_password(user: User, data: dict[str, Any], *, address: str | None) -> None:
    current = _key_field(data, "auth_key")
    new = _new_credentials(data, with_recovery=False)
    _check_current_password(user, current, address=address)
    do_set_password(user, kdf=new.kdf, auth_key=new.auth_key, wrapped_keys=new.wrapped_keys)


def check_rotate_keys(user: User, data: dict[str, Any], *, address: str | None) -> None:
    """Replace a person's keys: the chain's rotate_keys link (signed by the old
    key), the new bundle, and both backups re-wrapped around the new keys."""
    current = _key_field(data, "auth_key")
    new = _new_credentials(data, with_recovery=True)
    try:
        link = parse_link(data.get("rotate_link"))
    except ProtocolError as error:
        raise AccountError(error.code, f"Rotation link refused: {error.message}") from None
    if link.type != LinkType.ROTATE_KEYS or link.body.get("user") != user.username:
        raise AccountError("bundle_mismatch", "The rotation link is not for this account.")
    try:
        bundle = parse_identity_bundle(link.body.get("bundle"))
    except ProtocolError as error:
        raise AccountError(error.code, error.message) from None
    _check_current_password(user, current, address=address)
    do_rotate_keys(user, link=link, bundle=bundle, new=new)


@transaction.atomic
def do_rotate_keys(user: User, *, link: Link, bundle: IdentityBundle, new: NewCredentials) -> None:
    record_rotation_in_chain(user.tenant, link)
    Identity.objects.filter(tenant=user.tenant, user=user).update(
        bundle=bundle.to_json(),
        sign_pub=bundle.sign_pub,
        box_pub=bundle.box_pub,
        fingerprint=bundle.fingerprint.hex(),
    )
    do_reset_with_recovery(user, new=new)


@transaction.atomic
def do_set_password(
    user: User, *, kdf: dict[str, Any], auth_key: bytes, wrapped_keys: dict[str, Any]
) -> None:
    """Replace the KDF parameters, the auth key and the password backup together."""
    user.kdf = kdf
    user.set_password(b64u_encode(auth_key))
    user.save(update_fields=["kdf", "password"])
    KeyBackup.objects.filter(tenant=user.tenant, user=user).update(wrapped_keys=wrapped_keys)


def check_recovery_reset(tenant: Tenant, data: dict[str, Any], *, address: str | None) -> User:
    new = _new_credentials(data, with_recovery=True)
    user = check_login(tenant, data, address=address, recovery=True)
    do_reset_with_recovery(user, new=new)
    return user


@transaction.atomic
def do_reset_with_recovery(user: User, *, new: NewCredentials) -> None:
    """New password credentials and a new recovery code, together."""
    if new.recovery_auth_key is None or new.recovery_wrapped_keys is None:
        raise ValueError("a reset replaces the recovery code too")
    do_set_password(user, kdf=new.kdf, auth_key=new.auth_key, wrapped_keys=new.wrapped_keys)
    KeyBackup.objects.filter(tenant=user.tenant, user=user).update(
        recovery_wrapped_keys=new.recovery_wrapped_keys,
        recovery_auth_hash=make_password(b64u_encode(new.recovery_auth_key)),
    )
