"""Tenants, their people, and what the server keeps of their keys.

The server stores public keys, Django's hash of each person's `auth_key`
(never the key, never the password) and key backups it cannot open
(docs/PROTOCOL.md §5). Every tenant-owned row carries `tenant`, first in its
indexes and unique constraints.
"""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q


class SignupPolicy(models.TextChoices):
    OPEN = "open", "Anyone can join"
    APPROVAL = "approval", "An administrator approves new accounts"
    DOMAIN = "domain", "Only addresses in the allowed domains"
    INVITE = "invite", "Invitation only"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class AccountState(models.TextChoices):
    ACTIVE = "active", "Active"
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    PENDING_EMAIL = "pending_email", "Waiting for email confirmation"
    REJECTED = "rejected", "Rejected"
    REMOVED = "removed", "Removed from the workspace"


class Tenant(models.Model):
    """A team's workspace, served on `<slug>.<PIPO_DOMAIN>`."""

    slug = models.CharField(max_length=63, unique=True)
    name = models.CharField(max_length=100)
    signup_policy = models.CharField(
        max_length=16, choices=SignupPolicy.choices, default=SignupPolicy.APPROVAL
    )
    allowed_domains = models.JSONField(default=list, blank=True)
    serves_bare_domain = models.BooleanField(default=False)
    # Trust on first use, for demos: the first active account becomes owner.
    first_user_becomes_owner = models.BooleanField(default=False)
    # The server's own Ed25519 key for this tenant: it signs only
    # server-attested admissions (confirmed email domains), as the genesis
    # declares (docs/PROTOCOL.md §6.2). Never a person's key.
    server_sign_seed = models.BinaryField(max_length=32, default=bytes)
    # SHA-256 of the one-time enrolment token that lets the root admins post
    # the genesis (printed by create_tenant); empty once the genesis exists.
    genesis_enrolment_hash = models.BinaryField(max_length=32, default=bytes)
    # OpenPGP fingerprints (lower-case hex) the genesis names (§6.5), given
    # to create_tenant with --pgp.
    genesis_pgp = models.JSONField(default=list, blank=True)
    # A multi-root genesis, unsigned, once every root admin has enrolled
    # (RootEnrolment): each root signs exactly these bytes. Null otherwise.
    genesis_draft = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["serves_bare_domain"],
                condition=Q(serves_bare_domain=True),
                name="one_tenant_on_the_bare_domain",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class UserManager(BaseUserManager["User"]):
    pass


class User(AbstractBaseUser):
    """A person in one tenant. `password` holds Django's hash of their auth_key."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="users")
    username = models.CharField(max_length=64)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(
        max_length=16, choices=AccountState.choices, default=AccountState.PENDING_APPROVAL
    )
    kdf = models.JSONField(help_text="Argon2id parameters and salt (public).")
    date_joined = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "username"], name="username_per_tenant"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["tenant", "state"], name="user_tenant_state"),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.tenant_id}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.state == AccountState.ACTIVE

    @property
    def is_tenant_admin(self) -> bool:
        return self.is_active and self.role in {Role.OWNER, Role.ADMIN}

    @property
    def is_staff(self) -> bool:
        # Django's admin asks this; tenant admins manage their own tenant only.
        return self.is_tenant_admin

    @property
    def is_superuser(self) -> bool:
        return False

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_tenant_admin

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return self.is_tenant_admin

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_tenant_admin and app_label == "accounts"


class SignupRequest(User):
    """The admin panel's view of accounts waiting for approval."""

    class Meta:
        proxy = True
        verbose_name = "signup request"


class Identity(models.Model):
    """A person's public identity bundle (protocol/identity.py), as they signed it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="identity")
    bundle = models.JSONField()
    sign_pub = models.BinaryField(max_length=32)
    box_pub = models.BinaryField(max_length=32)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["tenant", "fingerprint"], name="identity_tenant_fingerprint"),
        ]

    def __str__(self) -> str:
        return f"identity of {self.user_id}"


class KeyBackup(models.Model):
    """The private keys, wrapped twice by the client; the server cannot open either."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="key_backup")
    wrapped_keys = models.JSONField()
    recovery_wrapped_keys = models.JSONField()
    recovery_auth_hash = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"key backup of {self.user_id}"


class EmailConfirmation(models.Model):
    """A single-use link that proves an address; only its SHA-256 is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_confirmations")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"email confirmation for {self.user_id}"


class Invite(models.Model):
    """An invitation; the token lives only in the link, the server keeps SHA-256(token)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="invites")
    token_hash = models.BinaryField(max_length=32)
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    email = models.EmailField(blank=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    used_by = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invite_used"
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["tenant", "token_hash"], name="invite_token_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} invite {self.pk}"


class AuthFailure(models.Model):
    """A failed login or recovery attempt, for throttling (docs/PROTOCOL.md §5.7)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    username = models.CharField(max_length=64)
    address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["tenant", "username", "created_at"], name="failure_account"),
            models.Index(fields=["tenant", "address", "created_at"], name="failure_address"),
        ]

    def __str__(self) -> str:
        return f"failure for {self.username}"


class RootEnrolment(models.Model):
    """One root admin's seat in a multi-root genesis (`create_tenant --roots N`).

    Each seat has its own single-use enrolment token (only its hash is kept).
    The person who enrols with it becomes a root; once every seat is taken,
    the server drafts the genesis (`Tenant.genesis_draft`, roots in seat
    order) and each root signs it in the browser; the last signature appends
    it (docs/PROTOCOL.md §6.8).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="root_enrolments")
    position = models.PositiveSmallIntegerField()
    token_hash = models.BinaryField(max_length=32)
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="root_enrolment"
    )
    genesis_sig = models.BinaryField(max_length=64, default=bytes)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "position"], name="root_seat_position"),
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="root_seat_token"),
        ]

    def __str__(self) -> str:
        return f"root seat {self.position + 1} of {self.tenant_id}"
