"""`manage.py create_tenant <slug> --name ... --policy ... [--roots N] [--pgp FPR]`

Creates a tenant and prints its address and one single-use enrolment link
per root admin. The root admins enrol in their browsers (their keys are made
there like everyone else's) and sign the genesis of the trust chain; the
tenant takes no other signup until then (docs/PROTOCOL.md §6.8).
"""

import hashlib
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.actions import check_create_tenant
from accounts.errors import AccountError
from accounts.models import SignupPolicy
from accounts.selectors import tenant_for_slug, tenant_url
from protocol import b64u_encode
from protocol.chain import MAX_ROOTS


class Command(BaseCommand):
    help = "Create a tenant (a team's workspace) and print its root admins' enrolment links."

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
            "--roots",
            type=int,
            default=1,
            help=f"how many root admins found the workspace and sign its genesis (1-{MAX_ROOTS})",
        )
        parser.add_argument(
            "--pgp",
            action="append",
            default=[],
            dest="pgp",
            help="an OpenPGP fingerprint that will anchor the genesis (repeatable, §6.5)",
        )
        parser.add_argument(
            "--bare-domain", action="store_true", help="also serve it on the bare PIPO_DOMAIN"
        )
        parser.add_argument(
            "--first-user-becomes-owner",
            action="store_true",
            help="trust on first use: the first account founds the workspace (demos only)",
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing if the tenant exists"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        existing = tenant_for_slug(options["slug"])
        if existing is not None and options["if_missing"]:
            self.stdout.write(f"Workspace '{existing.name}': {tenant_url(existing)}/")
            return
        roots = options["roots"]
        tofu = options["first_user_becomes_owner"]
        if not 1 <= roots <= MAX_ROOTS:
            raise CommandError(f"--roots must be between 1 and {MAX_ROOTS}.")
        if tofu and (roots != 1 or options["pgp"]):
            raise CommandError("--first-user-becomes-owner founds with one root and no PGP key.")
        tokens = [secrets.token_bytes(32) for _ in range(0 if tofu else roots)]
        hashes = [hashlib.sha256(token).digest() for token in tokens]
        try:
            tenant = check_create_tenant(
                slug=options["slug"],
                name=options["name"],
                policy=options["policy"],
                allowed_domains=options["domains"],
                serves_bare_domain=options["bare_domain"],
                first_user_becomes_owner=tofu,
                # One root founds the chain with their signup; several take
                # seats and sign a genesis the server drafts once all enrolled.
                genesis_enrolment_hash=hashes[0] if roots == 1 and hashes else b"",
                root_enrolment_hashes=hashes if roots > 1 else (),
                genesis_pgp=options["pgp"],
            )
        except AccountError as error:
            raise CommandError(error.message) from None
        url = tenant_url(tenant)
        self.stdout.write(f"Workspace '{tenant.name}': {url}/")
        if tofu:
            self.stdout.write("The first person to sign up founds it (trust on first use).")
            return
        for number, token in enumerate(tokens, start=1):
            self.stdout.write(
                f"Root admin {number} of {roots} enrolment (single use; signs the genesis): "
                f"{url}/signup#e={b64u_encode(token)}"
            )
