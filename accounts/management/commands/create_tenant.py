"""`manage.py create_tenant <slug> --name ... --policy ...`

Creates a tenant and prints its address and a single-use owner invite: the
first owner signs up through that link in their browser, so their keys are
made there like everyone else's.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.actions import check_create_tenant, do_create_invite
from accounts.errors import AccountError
from accounts.models import Role, SignupPolicy
from accounts.selectors import tenant_for_slug, tenant_url
from protocol import b64u_encode
from protocol.accounts import invite_token_hash

OWNER_INVITE_LIFETIME = timedelta(days=7)


class Command(BaseCommand):
    help = "Create a tenant (a team's workspace) and print an owner invite link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the subdomain: <slug>.<PIPO_DOMAIN>")
        parser.add_argument("--name", required=True, help="the workspace's display name")
        parser.add_argument(
            "--policy",
            choices=SignupPolicy.values,
            default=SignupPolicy.APPROVAL,
            help="how people join without an invite (default: approval)",
        )
        parser.add_argument(
            "--domain",
            action="append",
            default=[],
            dest="domains",
            help="an allowed email domain for --policy domain (repeatable)",
        )
        parser.add_argument(
            "--bare-domain", action="store_true", help="also serve it on the bare PIPO_DOMAIN"
        )
        parser.add_argument(
            "--first-user-becomes-owner",
            action="store_true",
            help="trust on first use: the first account becomes owner (demos only)",
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing if the tenant exists"
        )
        parser.add_argument(
            "--no-owner-invite", action="store_true", help="do not print an owner invite"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        existing = tenant_for_slug(options["slug"])
        if existing is not None and options["if_missing"]:
            self.stdout.write(f"Workspace '{existing.name}': {tenant_url(existing)}/")
            return
        enrolment_token = secrets.token_bytes(32)
        try:
            tenant = check_create_tenant(
                slug=options["slug"],
                name=options["name"],
                policy=options["policy"],
                allowed_domains=options["domains"],
                serves_bare_domain=options["bare_domain"],
                first_user_becomes_owner=options["first_user_becomes_owner"],
                genesis_enrolment_hash=b""
                if options["first_user_becomes_owner"]
                else hashlib.sha256(enrolment_token).digest(),
            )
        except AccountError as error:
            raise CommandError(error.message) from None
        url = tenant_url(tenant)
        self.stdout.write(f"Workspace '{tenant.name}': {url}/")
        if options["first_user_becomes_owner"]:
            return
        self.stdout.write(
            "Root admin enrolment (single use; signs the genesis of the trust chain): "
            f"{url}/signup#e={b64u_encode(enrolment_token)}"
        )
        if options["no_owner_invite"]:
            return
        token = secrets.token_bytes(32)
        do_create_invite(
            tenant,
            created_by=None,
            token_hash=invite_token_hash(token),
            role=Role.OWNER,
            expires_at=timezone.now() + OWNER_INVITE_LIFETIME,
        )
        self.stdout.write(
            f"Owner invite (single use, valid 7 days): {url}/signup#t={b64u_encode(token)}"
        )
