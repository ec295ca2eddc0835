/**
 * PGP anchors of a genesis (PROTOCOL.md §6.5): verifyGenesisAnchor refuses
 * with the server's codes (`rooms/pgp_anchor.py`). Keys and clearsignatures
 * are made here with OpenPGP.js.
 */

import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { PgpError } from "./errors";
import { type GenesisAnchor, genesisStatement, verifyGenesisAnchor } from "./pgp";

const SLOW = 60_000;
const TENANT = "acme";
const GENESIS_HASH = Uint8Array.from({ length: 32 }, (_, index) => index * 7);
const STATEMENT = genesisStatement(TENANT, GENESIS_HASH);

interface TestKey {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

async function makeKey(
  options: { date?: Date; keyExpirationTime?: number; type?: "ecc" | "curve25519" } = {},
): Promise<TestKey> {
  const { type = "ecc", ...rest } = options;
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...(type === "ecc" ? { type: "ecc", curve: "curve25519Legacy" } : { type: "curve25519" }),
    userIDs: [{ name: "Root Admin", email: "root@acme.example" }],
    format: "armored",
    ...rest,
  });
  const fingerprint = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint();
  return { privateKey, publicKey, fingerprint };
}

async function clearsign(key: TestKey, text: string, date?: Date): Promise<string> {
  return openpgp.sign({
    message: await openpgp.createCleartextMessage({ text }),
    signingKeys: await openpgp.readPrivateKey({ armoredKey: key.privateKey }),
    ...(date === undefined ? {} : { date }),
  });
}

function check(anchor: GenesisAnchor, listed: readonly string[]): Promise<string> {
  return verifyGenesisAnchor({
    tenant: TENANT,
    genesisHash: GENESIS_HASH,
    genesisPgpFingerprints: listed,
    anchor,
  });
}

async function refusal(action: Promise<unknown>): Promise<PgpError> {
  try {
    await action;
  } catch (error) {
    expect(error).toBeInstanceOf(PgpError);
    return error as PgpError;
  }
  throw new Error("expected a PgpError, but nothing was thrown");
}

describe("verifyGenesisAnchor", () => {
  it("should name the statement as the server does", () => {
    expect(STATEMENT).toBe(
      `pipo-genesis:acme:${Array.from(GENESIS_HASH, (byte) => byte.toString(16).padStart(2, "0")).join("")}`,
    );
  });

  it(
    "should accept a clearsignature of the statement by a listed key, v4 and v6, with any line endings",
    async () => {
      const key = await makeKey();
      const anchor = {
        fingerprint: key.fingerprint,
        certificate: key.publicKey,
        clearsigned: await clearsign(key, STATEMENT),
      };
      expect(await check(anchor, [key.fingerprint])).toBe(key.fingerprint);
      expect(await check(anchor, [key.fingerprint.toUpperCase(), "ab".repeat(20)])).toBe(key.fingerprint);

      // gpg clearsigns the line with its newline; the text may come back with CRLF.
      const withNewline = { ...anchor, clearsigned: await clearsign(key, `${STATEMENT}\r\n`) };
      expect(await check(withNewline, [key.fingerprint])).toBe(key.fingerprint);

      const v6 = await makeKey({ type: "curve25519" });
      const v6Anchor = {
        fingerprint: v6.fingerprint,
        certificate: v6.publicKey,
        clearsigned: await clearsign(v6, STATEMENT),
      };
      expect(await check(v6Anchor, [v6.fingerprint])).toBe(v6.fingerprint);
    },
    SLOW,
  );

  it(
    "should refuse an unreadable certificate (bad_pgp_key)",
    async () => {
      const key = await makeKey();
      const error = await refusal(
        check(
          {
            fingerprint: key.fingerprint,
            certificate: "not a key",
            clearsigned: await clearsign(key, STATEMENT),
          },
          [key.fingerprint],
        ),
      );
      expect(error.code).toBe("bad_pgp_key");
    },
    SLOW,
  );

  it(
    "should compare the certificate's own fingerprint with the genesis, not the claimed one (pgp_not_in_genesis)",
    async () => {
      const listed = await makeKey();
      const other = await makeKey();
      const error = await refusal(
        check(
          {
            // Claims the listed key but carries another one, which signed.
            fingerprint: listed.fingerprint,
            certificate: other.publicKey,
            clearsigned: await clearsign(other, STATEMENT),
          },
          [listed.fingerprint],
        ),
      );
      expect(error.code).toBe("pgp_not_in_genesis");
      expect(error.fingerprint).toBe(other.fingerprint);
      expect(
        (
          await refusal(
            check(
              {
                fingerprint: listed.fingerprint,
                certificate: listed.publicKey,
                clearsigned: await clearsign(listed, STATEMENT),
              },
              [],
            ),
          )
        ).code,
      ).toBe("pgp_not_in_genesis");
    },
    SLOW,
  );

  it(
    "should refuse a revoked key, even with a signature made before (pgp_key_revoked)",
    async () => {
      const key = await makeKey();
      const clearsigned = await clearsign(key, STATEMENT);
      const revoked = await openpgp.revokeKey({
        key: await openpgp.readPrivateKey({ armoredKey: key.privateKey }),
        format: "armored",
      });
      const error = await refusal(
        check({ fingerprint: key.fingerprint, certificate: revoked.publicKey, clearsigned }, [
          key.fingerprint,
        ]),
      );
      expect(error.code).toBe("pgp_key_revoked");
      expect(error.fingerprint).toBe(key.fingerprint);
    },
    SLOW,
  );

  it(
    "should refuse an expired key, even with a signature made while it was valid (pgp_key_expired)",
    async () => {
      const created = new Date(Date.now() - 3_600_000);
      const key = await makeKey({ date: created, keyExpirationTime: 1 });
      const clearsigned = await clearsign(key, STATEMENT, created);
      const error = await refusal(
        check({ fingerprint: key.fingerprint, certificate: key.publicKey, clearsigned }, [key.fingerprint]),
      );
      expect(error.code).toBe("pgp_key_expired");
    },
    SLOW,
  );

  it(
    "should refuse a signature by another key, a tampered text and garbage (bad_pgp_signature)",
    async () => {
      const key = await makeKey();
      const other = await makeKey();
      const byOther = await refusal(
        check(
          {
            fingerprint: key.fingerprint,
            certificate: key.publicKey,
            clearsigned: await clearsign(other, STATEMENT),
          },
          [key.fingerprint],
        ),
      );
      expect(byOther.code).toBe("bad_pgp_signature");

      const signed = await clearsign(key, STATEMENT);
      const tampered = signed.replace(STATEMENT, STATEMENT.replace("acme", "evil"));
      expect(tampered).not.toBe(signed);
      const forged = await refusal(
        check({ fingerprint: key.fingerprint, certificate: key.publicKey, clearsigned: tampered }, [
          key.fingerprint,
        ]),
      );
      expect(forged.code).toBe("bad_pgp_signature");

      const garbage = await refusal(
        check({ fingerprint: key.fingerprint, certificate: key.publicKey, clearsigned: STATEMENT }, [
          key.fingerprint,
        ]),
      );
      expect(garbage.code).toBe("bad_pgp_signature");
    },
    SLOW,
  );

  it(
    "should refuse a valid signature of another statement (wrong_statement)",
    async () => {
      const key = await makeKey();
      for (const text of [
        genesisStatement("lear-co", GENESIS_HASH),
        genesisStatement(TENANT, new Uint8Array(32)),
        `${STATEMENT}\nand something else`,
      ]) {
        const error = await refusal(
          check(
            {
              fingerprint: key.fingerprint,
              certificate: key.publicKey,
              clearsigned: await clearsign(key, text),
            },
            [key.fingerprint],
          ),
        );
        expect(error.code).toBe("wrong_statement");
      }
    },
    SLOW,
  );
});
