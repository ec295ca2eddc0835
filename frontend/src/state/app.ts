/**
 * Boot: initialise libsodium, open the relay socket, start the router and ask
 * the server who is signed in, feeding the stores.
 */

import { computed, effect, type ReadonlySignal } from "@preact/signals-core";
import { RelaySocket, type RelaySocketOptions } from "../transport/socket";
import { type AccountOptions, type AccountStore, createAccountStore } from "./account";
import type { AppConfig } from "./config";
import { type ConnectionStore, createConnectionModel } from "./connection";
import { type CryptoStore, initialiseCrypto } from "./crypto";
import { createRouter, memoryRouterEnv, type Router, type RouterEnv } from "./router";
import { type Route, resolveRoute } from "./views";

/** Everything the UI reads. */
export interface AppState {
  readonly config: AppConfig;
  readonly connection: ConnectionStore;
  readonly crypto: CryptoStore;
  readonly account: AccountStore;
  readonly router: Router;
  /** The page to show now (redirects are applied by the app itself). */
  readonly route: ReadonlySignal<Route>;
}

/** A running client. */
export interface App {
  readonly state: AppState;
  /** Settles once libsodium has loaded or failed (the store says which). */
  readonly cryptoReady: Promise<void>;
  /** Settles once the account status is known (never rejects). */
  readonly accountReady: Promise<void>;
  /** Close the socket and stop timers and listeners. */
  stop(): void;
}

/** Test seams; production passes `history` (the window) and `account.origin`. */
export interface StartOptions {
  readonly loadCrypto?: () => Promise<string>;
  readonly socket?: Omit<RelaySocketOptions, "path" | "listener">;
  /** Where the router reads and writes the URL; default: an in-memory history at "/". */
  readonly history?: RouterEnv;
  readonly account?: AccountOptions;
  /** Ask the server who is signed in (default true). */
  readonly bootAccount?: boolean;
}

/** Start the client: load libsodium, connect to the relay and check the session, concurrently. */
export function startApp(config: AppConfig, options: StartOptions = {}): App {
  const crypto = initialiseCrypto(options.loadCrypto);
  const connection = createConnectionModel();
  const socket = new RelaySocket({ ...options.socket, path: config.wsPath, listener: connection.listener });
  socket.start();
  const router = createRouter(options.history ?? memoryRouterEnv());
  const account = createAccountStore(config, options.account);
  const route = computed(() =>
    resolveRoute(account.status.value, router.path.value, account.recoveryCode.value !== null),
  );
  const stopGuards = effect(() => {
    const redirect = route.value.redirect;
    if (redirect !== null) {
      router.replace(redirect);
    }
  });
  const accountReady =
    options.bootAccount === false
      ? Promise.resolve()
      : account.boot().catch((error: unknown) => {
          console.error("PiPo: start-up failed", error);
        });
  return {
    state: { config, connection: connection.store, crypto: crypto.store, account, router, route },
    cryptoReady: crypto.done,
    accountReady,
    stop(): void {
      stopGuards();
      router.dispose();
      socket.close();
      connection.dispose();
    },
  };
}
