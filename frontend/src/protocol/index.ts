/**
 * PiPo's wire formats and cryptographic rules in the browser: the TypeScript
 * mirror of the Python package `protocol/` (ARCHITECTURE.md §4).
 *
 * This folder has no DOM and no network access; it (and the key store that
 * will join it) is the only code that touches raw keys. Both implementations
 * pass the shared vectors in `tests/vectors/`.
 *
 * Rules of use:
 * - `await sodiumReady()` once before calling anything that signs, verifies,
 *   hashes or makes keys; those functions are synchronous afterwards.
 * - Verification throws a {@link ProtocolError} subclass and never returns a
 *   boolean; every error has the same stable `code` as in Python.
 *
 * @packageDocumentation
 */

export {
  type BackupForServer,
  type BackupOwner,
  BackupPurpose,
  checkBundleOwner,
  checkKeysMatch,
  checkPassword,
  DEFAULT_MEM,
  DEFAULT_OPS,
  derivePasswordKeys,
  exportKeyFile,
  formatRecoveryCode,
  importKeyFile,
  inviteTokenHash,
  KDF_ALG,
  type KdfParams,
  type KeyFileJson,
  makeKeyFile,
  newInvite,
  newKdfParams,
  newRecoveryCode,
  newRecoveryFor,
  openKeyFile,
  openSealed,
  PasswordKeys,
  type PreparedSignup,
  type PreparedUnlock,
  parseKdfParams,
  parseRecoveryCode,
  parseWrappedKeys,
  prepareLogin,
  prepareRecovery,
  prepareSignup,
  RecoveryCode,
  recoveryKeys,
  rewrapForPassword,
  sealToBoxKey,
  type UnlockArgs,
  unwrapIdentityKeys,
  WrappedKeys,
  type WrappedKeysJson,
  wrapIdentityKeys,
} from "./accounts";
export {
  AdmitHow,
  ChainState,
  type ChainSummary,
  type Invite,
  isAdmin,
  type JsonObject,
  LINK_VERSION,
  Link,
  type LinkJson,
  LinkType,
  linkHash,
  MAX_CLOCK_SKEW_MS,
  MAX_LINK_BYTES,
  type Member,
  type Policy,
  PolicyMode,
  parseLink,
  Role,
  type Room,
  RoomHistory,
  RoomKind,
  RoomRole,
  signLink,
  verifyChain,
} from "./chain";
export { verifyChainAsync } from "./chainAsync";
export {
  forgetPinnedFingerprint,
  forgetVerifiedHead,
  loadPinnedFingerprint,
  loadVerifiedHead,
  storePinnedFingerprint,
  storeVerifiedHead,
  type VerifiedHead,
} from "./chainStore";
export {
  b64uDecode,
  b64uDecodeExact,
  b64uEncode,
  canonicalJson,
  type JsonValue,
  MAX_SAFE_INTEGER,
} from "./encoding";
export {
  BundleError,
  BundleMismatchError,
  CanonicalJsonError,
  ChainError,
  type ChainErrorCode,
  EncodingError,
  KdfError,
  KeyFileError,
  KeyFormatError,
  KeysMismatchError,
  PasswordError,
  PgpError,
  type PgpErrorCode,
  ProtocolError,
  type ProtocolErrorCode,
  RecoveryCodeError,
  SignatureError,
  UnwrapError,
  WrappedKeysError,
} from "./errors";
export {
  BUNDLE_VERSION,
  fingerprint,
  IdentityBundle,
  type IdentityBundleJson,
  IdentityKeys,
  makeIdentityBundle,
  parseIdentityBundle,
  type UnsignedIdentityBundleJson,
} from "./identity";
export { forgetUnlockedKeys, type KeyStoreMeta, loadUnlockedKeys, storeUnlockedKeys } from "./keyStore";
export {
  type LinkContext,
  type LinkHead,
  type LinkPolicy,
  makeAdmitLink,
  makeGenesisLink,
  makeInviteLink,
  makeRemoveLink,
  makeRotateKeysLink,
  makeSetRoleLink,
  type SelfOrAdminHow,
} from "./links";
export { encryptForPgpKey, type GenesisAnchor, genesisStatement, verifyGenesisAnchor } from "./pgp";
export { type PreparedRotation, prepareRotation } from "./rotation";
export { SAFETY_CODE_SYMBOLS, SAFETY_SYMBOLS, type SafetySymbol, safetyCode } from "./safetyCode";
export { SignatureTag, sign, signingInput, signPublicKey, verify } from "./signing";
export { type Sodium, sodiumReady, sodiumVersion } from "./sodium";
