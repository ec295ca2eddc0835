/**
 * Stores and view models (no DOM): what the UI reads. Imports flow
 * ui -> state -> protocol/transport.
 */

export type { ServerError } from "../transport/socket";
export {
  type AccountStatus,
  type AccountStore,
  type AccountUser,
  type AdminLinkSpec,
  createAccountStore,
  fingerprintGroups,
  type IdentityView,
  type InviteInput,
  type InviteResult,
  inviteText,
  type KeyFileInput,
  keyFileName,
  type Role,
  type SignUpInput,
  type SignUpResult,
  type SignupPolicy,
  type TenantInfo,
  type UserState,
} from "./account";
export {
  type AdminApi,
  type AdminStore,
  createAdminStore,
  type MemberActions,
  memberActions,
  type SignupRequestView,
} from "./admin";
export {
  type ApprovalPage,
  type ApprovalPageOptions,
  type ApprovalPhase,
  createApprovalPage,
} from "./adminApproval";
export { type App, type AppState, type StartOptions, startApp } from "./app";
export {
  ChainGateError,
  type ChainMemberView,
  type ChainOptions,
  type ChainStatus,
  type ChainStore,
  createChainStore,
  parseFingerprint,
} from "./chain";
export {
  type ChainTenantFacts,
  isStaleHead,
  onFreshHead,
  type SignupChainPlan,
  signupChainPlan,
} from "./chainLinks";
export {
  type AuditEntry,
  type ChainProblem,
  checkHistory,
  fetchedChainOf,
  formatWhen,
  howLabel,
  type MemberHow,
  type PgpAnchorView,
  problemForChainError,
} from "./chainViews";
export { type AppConfig, displayName, PRODUCT_NAME } from "./config";
export { type ConnectionStatus, type ConnectionStore, createConnectionModel } from "./connection";
export { type CryptoStatus, type CryptoStore, initialiseCrypto } from "./crypto";
export type { DownloadsStore, DownloadView } from "./downloads";
export {
  type FileView,
  filePreview,
  formatBytes,
  progressText,
  type ThumbnailView,
} from "./files";
export {
  createGenesisStore,
  type GenesisDraftView,
  type GenesisRootView,
  type GenesisStore,
} from "./genesis";
export {
  type MentionPiece,
  mentionQueryAt,
  mentionSuggestions,
  mentionsMe,
  mentionsOf,
  splitMentions,
} from "./mentions";
export {
  AccountError,
  emailProblem,
  emailRequired,
  errorMessage,
  MAX_INVITE_DAYS,
  messageForCode,
  newPasswordProblem,
  normaliseUsername,
  orList,
  PASSWORD_MAX_CHARS,
  PASSWORD_MIN_CHARS,
  passwordProblem,
  policyText,
  usernameProblem,
} from "./messages";
export {
  createNotifications,
  type IncomingMessage,
  type NotificationPermissionState,
  type NotificationsStore,
  type NotifierEnv,
  type NotifierSources,
} from "./notifications";
export {
  AWAY_AFTER_MS,
  type AwayTracker,
  applyPresence,
  createAwayTracker,
  type OwnPresence,
  type PresenceEnv,
  type SeenPresence,
} from "./presence";
export { ROOM_NAME_MAX, ROOM_TOPIC_MAX, settingsProblem } from "./roomSettings";
export {
  createRoomsStore,
  type MessageView,
  type ReactionView,
  type RoomListItem,
  type RoomSocket,
  type RoomsStore,
  type SnapshotEntry,
  type ThreadView,
} from "./rooms";
export {
  confirmTokenFrom,
  createRouter,
  enrolmentTokenFrom,
  fingerprintFrom,
  inviteRoleFrom,
  inviteTokenFrom,
  memoryRouterEnv,
  parseFragment,
  type Router,
  type RouterEnv,
} from "./router";
export type { UploadSnapshot, UploadState, UploadsStore, UploadView } from "./uploads";
export { type Route, resolveRoute, type ViewName } from "./views";
