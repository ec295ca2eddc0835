/**
 * Stores and view models (no DOM): what the UI reads. Imports flow
 * ui -> state -> protocol/transport.
 */

export type { ServerError } from "../transport/socket";
export {
  type AccountStatus,
  type AccountStore,
  type AccountUser,
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
export { type App, type AppState, type StartOptions, startApp } from "./app";
export { type AppConfig, displayName, PRODUCT_NAME } from "./config";
export { type ConnectionStatus, type ConnectionStore, createConnectionModel } from "./connection";
export { type CryptoStatus, type CryptoStore, initialiseCrypto } from "./crypto";
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
  confirmTokenFrom,
  createRouter,
  inviteTokenFrom,
  memoryRouterEnv,
  parseFragment,
  type Router,
  type RouterEnv,
} from "./router";
export { type Route, resolveRoute, type ViewName } from "./views";
