/**
 * Rotating a person's identity keys (PROTOCOL.md §5.5 `POST /api/auth/rotate-keys`,
 * §6.2 `rotate_keys`): new keys, their self-signed bundle, the `rotate_keys`
 * link signed by the CURRENT keys, and both backups (password and a new
 * recovery code) of the new keys. Raw keys stay here; the state layer passes
 * and receives {@link IdentityKeys} objects and wire JSON only.
 */

import { type BackupForServer, type KdfParams, newRecoveryFor, rewrapForPassword } from "./accounts";
import type { LinkJson } from "./chain";
import { IdentityKeys, makeIdentityBundle } from "./identity";
import { type LinkHead, makeRotateKeysLink } from "./links";

/** Everything `POST /api/auth/rotate-keys` needs, plus the new keys to keep once it succeeds. */
export interface PreparedRotation extends BackupForServer {
  /** The new identity: store it only after the server accepted the rotation. */
  newKeys: IdentityKeys;
  /** The `rotate_keys` link (`rotate_link`), signed by the current keys. */
  rotateLink: LinkJson;
  /** `new_kdf`; `authKey` and `wrappedKeys` are `new_auth_key` and `new_wrapped_keys`. */
  kdf: KdfParams;
  /** `new_recovery`. */
  recovery: BackupForServer;
  /** The new recovery code: show it once; the old one stops working. */
  recoveryCode: string;
}

/**
 * Prepare a key rotation on `head` (what `GET /api/chain/head` answered).
 * Makes fresh keys, their bundle (`created` = `ts`), the `rotate_keys` link
 * signed by `currentKeys`, the new keys wrapped under `password` (a fresh
 * salt) and under a new recovery code. Takes about a second (Argon2id).
 *
 * @throws {@link PasswordError} for a password outside 10-1,024 characters;
 *   {@link BundleError} for a tenant or username that is not valid;
 *   {@link ChainError} (`malformed_link`) for a malformed head.
 */
export function prepareRotation(args: {
  tenant: string;
  username: string;
  currentKeys: IdentityKeys;
  password: string;
  head: LinkHead;
  ts: number;
}): PreparedRotation {
  const { tenant, username, currentKeys, password, head, ts } = args;
  const newKeys = IdentityKeys.generate();
  const bundle = makeIdentityBundle(newKeys, { tenant, user: username, created: ts }).toJson();
  const rotateLink = makeRotateKeysLink({ tenant, head, ts, keys: currentKeys, user: username, bundle });
  const passwordBackup = rewrapForPassword(newKeys, password, tenant, username);
  const recovery = newRecoveryFor(newKeys, tenant, username);
  return {
    newKeys,
    rotateLink,
    kdf: passwordBackup.kdf,
    authKey: passwordBackup.authKey,
    wrappedKeys: passwordBackup.wrappedKeys,
    recovery: { authKey: recovery.authKey, wrappedKeys: recovery.wrappedKeys },
    recoveryCode: recovery.recoveryCode,
  };
}
