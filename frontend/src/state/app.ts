/**
 * Boot: initialise libsodium, open the relay socket, start the router and ask
 * the server who is signed in, feeding the stores.
 */

import { computed, effect, type ReadonlySignal } from "@preact/signals-core";
import { RelaySocket, type RelaySocketOptions, type SocketListener } from "../transport/socket";
import { type AccountOptions, type AccountStore, createAccountStore } from "./account";
import { type AdminApi, type AdminStore, createAdminStore } from "./admin";
import { type ChainOptions, type ChainStore, createChainStore } from "./chain";
import type { AppConfig } from "./config";
import { type ConnectionStore, createConnectionModel } from "./connection";
import { type CryptoStore, initialiseCrypto } from "./crypto";
import { createDownloadsStore, type DownloadsOptions, type DownloadsStore } from "./downloads";
import { createGenesisStore, type GenesisStore } from "./genesis";
import { type AwayTracker, createAwayTracker, domPresenceEnv, type PresenceEnv } from "./presence";
import { createRoomsStore, type RoomsStore } from "./rooms";
import { createRouter, memoryRouterEnv, type Router, type RouterEnv } from "./router";
import { createUploadsStore, type UploadsOptions, type UploadsStore } from "./uploads";
import { type Route, resolveRoute } from "./views";

/** Everything the UI reads. */
export interface AppState {
  readonly config: AppConfig;
  readonly connection: ConnectionStore;
  readonly crypto: CryptoStore;
  readonly account: AccountStore;
  /** The verified trust chain: members, audit log, and the only way to encrypt to someone. */
  readonly chain: ChainStore;
  /** Signup requests and member management, for owners and admins. */
  readonly admin: AdminStore;
  /** Founding a workspace with several root admins (signing the drafted genesis). */
  readonly genesis: GenesisStore;
  /** Rooms, their messages and sending. */
  readonly rooms: RoomsStore;
  /** Files being encrypted and uploaded into rooms (PROTOCOL.md §8). */
  readonly uploads: UploadsStore;
  /** Files being downloaded and decrypted, to save or to show full size. */
  readonly downloads: DownloadsStore;
  /** This person's own presence ("away" after the tab was hidden a while); null outside a browser. */
  readonly presence: AwayTracker | null;
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
  readonly chain?: ChainOptions;
  readonly adminApi?: AdminApi;
  /** Ask the server who is signed in (default true). */
  readonly bootAccount?: boolean;
  /** The tab's visibility and timers for "away" (default: the browser's; null: none). */
  readonly presence?: PresenceEnv | null;
  /**
   * Files: how a decrypted download is offered for saving (the UI's anchor;
   * default: it is not saved), and test seams for the upload socket.
   */
  readonly files?: Partial<Pick<DownloadsOptions, "save" | "fetchStream">> &
    Partial<Pick<UploadsOptions, "socket" | "thumbnail">>;
}

/** Start the client: load libsodium, connect to the relay and check the session, concurrently. */
export function startApp(config: AppConfig, options: StartOptions = {}): App {
  const crypto = initialiseCrypto(options.loadCrypto);
  const connection = createConnectionModel();
  let rooms: ReturnType<typeof createRoomsStore> | null = null;
  let presence: AwayTracker | null = null;
  // The connection store and the rooms store both hear the socket.
  const listener: SocketListener = {
    onStatus: (status) => {
      connection.listener.onStatus?.(status);
      if (status.kind === "connected") {
        rooms?.onConnected();
        presence?.onConnected();
        return;
      }
      rooms?.onDisconnected();
      if (status.kind === "idle" && status.closeCode === 4401) {
        // Signed out elsewhere: ask who is signed in.
        void account.boot();
      } else if (status.kind === "idle" && status.closeCode === 4403) {
        // Removed from the workspace: the page keeps what this person was
        // entitled to read and says they are no longer a member.
        void chain?.refresh().catch(() => undefined);
      }
    },
    onPong: (pong) => connection.listener.onPong?.(pong),
    onServerError: (error) => connection.listener.onServerError?.(error),
    onFrame: (frame) => rooms?.onFrame(frame),
  };
  const socket = new RelaySocket({ ...options.socket, path: config.wsPath, listener });
  const router = createRouter(options.history ?? memoryRouterEnv());
  let chain: ChainStore | null = null;
  const account = createAccountStore(config, {
    tenantFingerprint: () => chain?.fingerprint.value ?? null,
    onChainChanged: () => {
      void chain?.refresh().catch(() => undefined);
    },
    ...options.account,
  });
  const chainStore = createChainStore(config, account, options.chain);
  chain = chainStore;
  rooms = createRoomsStore(account, chainStore, socket);
  const roomsStore = rooms;
  const uploads = createUploadsStore({
    selectedRoom: () => roomsStore.selected.value,
    send: (room, content) => roomsStore.send(content, room),
    ...(options.files?.socket === undefined ? {} : { socket: options.files.socket }),
    ...(options.files?.thumbnail === undefined ? {} : { thumbnail: options.files.thumbnail }),
  });
  const downloads = createDownloadsStore({
    save:
      options.files?.save ??
      (() => {
        console.warn("PiPo: this client cannot save files");
      }),
    ...(options.files?.fetchStream === undefined ? {} : { fetchStream: options.files.fetchStream }),
  });
  const presenceEnv = options.presence === undefined ? domPresenceEnv() : options.presence;
  presence =
    presenceEnv === null
      ? null
      : createAwayTracker((state) => socket.send({ type: "presence", state }), presenceEnv);
  const presenceTracker = presence;
  // The relay is for signed-in members: connect once the verified chain is there.
  const stopSocketGuard = effect(() => {
    if (account.status.value === "unlocked" && chainStore.status.value === "verified") {
      socket.start();
    } else if (account.status.value !== "unlocked") {
      socket.pause();
    }
  });
  const admin = createAdminStore(account, chainStore, options.adminApi ? { api: options.adminApi } : {});
  const genesis = createGenesisStore(account, {
    onFounded: () => {
      void chainStore.refresh().catch(() => undefined);
    },
  });
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
    state: {
      config,
      connection: connection.store,
      crypto: crypto.store,
      account,
      chain: chainStore,
      admin,
      genesis,
      rooms: roomsStore,
      uploads,
      downloads,
      presence: presenceTracker,
      router,
      route,
    },
    cryptoReady: crypto.done,
    accountReady,
    stop(): void {
      stopGuards();
      stopSocketGuard();
      roomsStore.dispose();
      uploads.dispose();
      downloads.dispose();
      presenceTracker?.dispose();
      chainStore.dispose();
      router.dispose();
      socket.close();
      connection.dispose();
    },
  };
}
