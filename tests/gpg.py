"""A throwaway gpg (Debian's gnupg) for tests that anchor a genesis in OpenPGP."""

import os
import subprocess
from pathlib import Path


class Gpg:
    """A throwaway gpg home with one Ed25519 signing key."""

    def __init__(self, home: Path, user_id: str) -> None:
        self.home = home
        home.mkdir(mode=0o700)
        self.run("--quick-gen-key", user_id, "ed25519", "sign", "1y")
        listing = self.run("--list-keys", "--with-colons").stdout
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
        ).lower()

    def run(self, *arguments: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "gpg",
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                *arguments,
            ],
            env={**os.environ, "GNUPGHOME": str(self.home)},
            capture_output=True,
            text=True,
            check=True,
            input=stdin.decode() if stdin else None,
        )

    def clearsign(self, text: str, out: Path) -> Path:
        source = out.with_suffix(".txt")
        source.write_text(text + "\n")
        self.run("--output", str(out), "--clearsign", str(source))
        return out

    def export(self, out: Path) -> Path:
        out.write_text(self.run("--armor", "--export", self.fingerprint).stdout)
        return out

    def revoke(self) -> None:
        revocation = self.home / "openpgp-revocs.d" / f"{self.fingerprint.upper()}.rev"
        text = revocation.read_text().replace(":-----BEGIN", "-----BEGIN")
        fixed = self.home / "revocation.asc"
        fixed.write_text(text)
        self.run("--import", str(fixed))
