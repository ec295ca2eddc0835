/**
 * Boot: initialise libsodium and open the relay socket, feeding the stores.
 */

import { RelaySocket, type RelaySocketOptions } from "../transport/socket";
import type { AppConfig } from "./config";
import { type ConnectionStore, createConnectionModel } from "./connection";
import { type CryptoStore, initialiseCrypto } from "./crypto";

/** Everything the UI reads. */
export interface AppState {
  readonly config: AppConfig;
  readonly connection: ConnectionStore;
  readonly crypto: CryptoStore;
}

/** A running client. */
export interface App {
  readonly state: AppState;
  /** Settles once libsodium has loaded or failed (the store says which). */
  readonly cryptoReady: Promise<void>;
  /** Close the socket and stop timers. */
  stop(): void;
}

/** Test seams; production passes none. */
export interface StartOptions {
  readonly loadCrypto?: () => Promise<string>;
  readonly socket?: Omit<RelaySocketOptions, "path" | "listener">;
}

/** Start the client: load libsodium and connect to the relay, concurrently. */
export function startApp(config: AppConfig, options: StartOptions = {}): App {
  const crypto = initialiseCrypto(options.loadCrypto);
  const connection = createConnectionModel();
  const socket = new RelaySocket({ ...options.socket, path: config.wsPath, listener: connection.listener });
  socket.start();
  return {
    state: { config, connection: connection.store, crypto: crypto.store },
    cryptoReady: crypto.done,
    stop(): void {
      socket.close();
      connection.dispose();
    },
  };
}
