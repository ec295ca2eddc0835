"""`manage.py tenant_genesis export|attach <slug> ...`: PGP anchoring (§6.5).

manage.py tenant_genesis export acme > genesis.txt
gpg --clearsign genesis.txt                     # each root admin
manage.py tenant_genesis attach acme genesis.txt.asc --cert root.pub.asc
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.errors import AccountError
from accounts.selectors import tenant_for_slug
from rooms.actions import check_attach_anchor
from rooms.pgp_anchor import genesis_statement
from rooms.selectors import genesis_link


class Command(BaseCommand):
    help = "Export a tenant's genesis statement for gpg, or attach a root admin's clearsignature."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="print the line each root admin clearsigns")
        export.add_argument("slug")
        attach = sub.add_parser("attach", help="verify and keep a clearsigned genesis")
        attach.add_argument("slug")
        attach.add_argument("clearsigned", type=Path, help="the .asc file gpg --clearsign wrote")
        attach.add_argument(
            "--cert", type=Path, required=True, help="the root admin's public key (armored)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_for_slug(options["slug"])
        if tenant is None:
            raise CommandError(f"No tenant '{options['slug']}'.")
        if options["action"] == "export":
            genesis = genesis_link(tenant)
            if genesis is None:
                raise CommandError("This tenant has no genesis yet.")
            self.stdout.write(genesis_statement(tenant.slug, bytes(genesis.hash)))
            return
        try:
            anchor = check_attach_anchor(
                tenant,
                clearsigned=options["clearsigned"].read_bytes(),
                certificate=options["cert"].read_bytes(),
            )
        except AccountError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        self.stdout.write(f"Genesis of '{tenant.slug}' anchored by PGP key {anchor.fingerprint}.")
