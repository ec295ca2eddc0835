/**
 * Stores and view models (no DOM): what the UI reads. Imports flow
 * ui -> state -> protocol/transport.
 */

export type { ServerError } from "../transport/socket";
export { type App, type AppState, type StartOptions, startApp } from "./app";
export { type AppConfig, displayName, PRODUCT_NAME } from "./config";
export { type ConnectionStatus, type ConnectionStore, createConnectionModel } from "./connection";
export { type CryptoStatus, type CryptoStore, initialiseCrypto } from "./crypto";
