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
  parseGenesisDraft,
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
export { ChainHistory } from "./chainHistory";
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
  type Content,
  type DeleteContent,
  decodeContent,
  type EditContent,
  ENVELOPE_VERSION,
  Envelope,
  type EnvelopeFields,
  type EnvelopeHeaderJson,
  type EnvelopeJson,
  isMessageId,
  MAX_CIPHERTEXT_BYTES,
  MAX_CONTENT_BYTES,
  newMessageId,
  openEnvelope,
  PAD_BUCKETS,
  padContent,
  parseContent,
  parseEnvelope,
  type ReactionContent,
  type SealArgs,
  sealEnvelope,
  type TextContent,
  unpadContent,
  verifyEnvelope,
} from "./envelope";
export {
  EPOCH_VERSION,
  EpochRecord,
  type EpochRecordFields,
  type EpochRecordJson,
  EpochShare,
  type EpochShareFields,
  type EpochShareJson,
  keyCheck,
  MAX_RECIPIENTS,
  makeEpochRecord,
  makeEpochShare,
  newEpochKey,
  openEpochRecord,
  openEpochShare,
  parseEpochRecord,
  parseEpochShare,
  verifyEpochRecord,
  verifyEpochShare,
} from "./epoch";
export {
  BundleError,
  BundleMismatchError,
  CanonicalJsonError,
  ChainError,
  type ChainErrorCode,
  EncodingError,
  EnvelopeError,
  type EnvelopeErrorCode,
  EpochError,
  type EpochErrorCode,
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
  type GenesisExpectations,
  type LinkContext,
  type LinkHead,
  type LinkPolicy,
  makeAdmitLink,
  makeGenesisLink,
  makeInviteLink,
  makeRemoveLink,
  makeRoomAddLink,
  makeRoomCreateLink,
  makeRoomRemoveLink,
  makeRotateKeysLink,
  makeSetRoleLink,
  type SelfOrAdminHow,
  signGenesisDraft,
} from "./links";
export { encryptForPgpKey, type GenesisAnchor, genesisStatement, verifyGenesisAnchor } from "./pgp";
export { type OpenedMessage, RoomKeyring } from "./roomKeyring";
export { type PreparedRotation, prepareRotation } from "./rotation";
export { SAFETY_CODE_SYMBOLS, SAFETY_SYMBOLS, type SafetySymbol, safetyCode } from "./safetyCode";
export { SignatureTag, sign, signingInput, signPublicKey, verify } from "./signing";
export { type Sodium, sodiumReady, sodiumVersion } from "./sodium";
