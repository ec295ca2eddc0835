/**
 * Rooms and their messages (PROTOCOL.md §4.4, §7): the rooms the verified
 * chain puts this person in, each room's messages in sequence order, and
 * sending. Messages are sealed and opened by the account's room keyring
 * (src/protocol); this module only moves envelopes, records and verdicts.
 *
 * Delivery: every send carries a client-made message id and stays in the
 * outbox until the server's ack; the outbox is sent again after every
 * reconnect (the server answers a known id with the same ack), and on
 * (re)connect the client asks for everything after the last sequence number
 * it has per room. So nothing is lost or shown twice across reconnects and
 * server restarts.
 */

import { batch, computed, effect, type ReadonlySignal, signal } from "@preact/signals-core";
import {
  type ChainHistory,
  type Content,
  newMessageId,
  type OpenedMessage,
  type RoomKeyring,
} from "../protocol";
import * as api from "../transport/api";
import type { AccountStore } from "./account";
import type { ChainRoomView, ChainStore } from "./chain";
import { onFreshHead } from "./chainLinks";
import { filePreview, fileViewOf } from "./files";
import { mentionsMe } from "./mentions";
import { AccountError, toAccountError } from "./messages";
import type { IncomingMessage } from "./notifications";
import { applyPresence, type SeenPresence } from "./presence";
import { latestSettings, NO_SETTINGS, type RoomSettings, settingsContent } from "./roomSettings";
import {
  bySeq,
  foldTimeline,
  type MessageView,
  type ThreadView,
  type Timeline,
  type TimelineEntry,
} from "./timeline";

export type { MessageView, ReactionView, ThreadView } from "./timeline";

/** What the test hook `roomMessages()` lists for each envelope held. */
export interface SnapshotEntry {
  id: string;
  seq: number | null;
  /** The text of a `text` or `edit` content. */
  text: string | null;
  /** The name of a `file` content's file. */
  name: string | null;
  /** `ok`, `pending`, `before_joined`, `failed`, or `unsupported` (an opened content that is not text or a file). */
  state: string;
  /** The content's kind, null when it could not be read. */
  kind: string | null;
  sender: string;
  /** `target` of an edit, delete or reaction; `parent` of a thread reply. */
  target: string | null;
}

/** A room in the list. */
export interface RoomListItem {
  readonly id: string;
  readonly kind: "channel" | "private" | "dm";
  readonly history: "all" | "joined";
  readonly label: string;
  readonly members: readonly string[];
  readonly myRole: "owner" | "admin" | "member" | null;
  readonly unread: number;
  /** Unread messages that mention this person (`mentionsMe`). */
  readonly mentions: number;
  /** The room's name and topic from its latest `room_settings` (null: none set). */
  readonly name: string | null;
  readonly topic: string | null;
  /** This person may change the room's settings and members (room owner/admin or tenant admin). */
  readonly canManage: boolean;
}

export interface RoomsStore {
  /** The rooms this person is in, by the verified chain. */
  readonly rooms: ReadonlySignal<readonly RoomListItem[]>;
  /** Public channels this person may join. */
  readonly joinable: ReadonlySignal<readonly RoomListItem[]>;
  readonly selected: ReadonlySignal<string | null>;
  /** The selected room's messages, oldest first: edits, deletes and reactions applied, no thread replies. */
  readonly messages: ReadonlySignal<readonly MessageView[]>;
  /** The open thread of the selected room (its parent and replies), or null. */
  readonly thread: ReadonlySignal<ThreadView | null>;
  /** The message being edited in the selected room (the UI's inline editor), or null. */
  readonly editing: ReadonlySignal<string | null>;
  /** Whether older messages of the selected room can be loaded. */
  readonly hasOlder: ReadonlySignal<boolean>;
  readonly error: ReadonlySignal<string | null>;
  /** Messages waiting for the server (sent while offline, or not acknowledged yet). */
  readonly outboxSize: ReadonlySignal<number>;
  /** Who is typing in the selected room now (others only). */
  readonly typing: ReadonlySignal<readonly string[]>;
  /**
   * Who has been seen coming online (or going away) since this client
   * connected, and not gone offline: user → "online" | "away".
   */
  readonly presence: ReadonlySignal<ReadonlyMap<string, SeenPresence>>;
  /**
   * The seq of the first message that was unread when the selected room was
   * opened (the "New messages" line goes above it), or null.
   */
  readonly unreadFrom: ReadonlySignal<number | null>;
  /** Hear every new message from someone else as it arrives (not history pages); returns how to stop. */
  onIncoming(listener: (message: IncomingMessage) => void): () => void;
  /** Send a `room_settings` (name and topic) into the selected room `room`. */
  saveSettings(room: string, name: string, topic: string): Promise<void>;
  /** Add a workspace member to a room (`room_add`, role member). */
  addToRoom(room: string, user: string): Promise<void>;
  /** Leave a room (`room_remove` of oneself). */
  leaveRoom(room: string): Promise<void>;
  /** Say "typing" in the selected room (at most every few seconds). */
  noteTyping(): void;
  select(room: string | null): Promise<void>;
  loadOlder(): Promise<void>;
  /**
   * Send `content` (a text, or any content of PROTOCOL.md §7.4, §8.2) to the
   * selected room (or to `room`, one this person is in) through the outbox;
   * returns the message id, or null when there was nothing to send.
   */
  send(content: string | Content, room?: string): Promise<string | null>;
  /** Replace the text of one's own message (an `edit`). */
  edit(id: string, text: string): Promise<void>;
  /** Delete one's own message for everyone (a `delete`). */
  remove(id: string): Promise<void>;
  /** Add (`on`) or take back a reaction. */
  react(id: string, emoji: string, on: boolean): Promise<void>;
  /** Reply in the thread of `parentId`. */
  reply(parentId: string, text: string): Promise<void>;
  /** Open the thread of a message of the selected room (null closes it). */
  openThread(id: string | null): void;
  /** The thread of `parentId` in the selected room, or null if it is not held. */
  threadOf(parentId: string): ThreadView | null;
  /** Start (or with null stop) editing a message of one's own. */
  setEditing(id: string | null): void;
  /** One's newest editable message in the selected room (in `thread`, among its replies). */
  lastEditable(thread?: string | null): string | null;
  /** Create a room with these people (by username); returns its id. */
  /**
   * Create a room with these people (by username); returns its id. `history`
   * (signed into the chain, fixed for the room's life): whether people added
   * later may read what came before; by default yes for channels, no otherwise.
   */
  createRoom(
    kind: "channel" | "private" | "dm",
    people: readonly string[],
    history?: "all" | "joined",
  ): Promise<string>;
  joinChannel(room: string): Promise<void>;
  removeFromRoom(room: string, user: string): Promise<void>;
  /** Test hook: every message id and sequence number per room that this client holds. */
  snapshot(): Record<string, SnapshotEntry[]>;
  /**
   * Test hook: what this client makes of `envelope` in `room` with every key
   * it holds or can still fetch (the room's epochs, if the server serves them).
   */
  tryOpen(
    room: string,
    envelope: unknown,
  ): Promise<{ state: string; text: string | null; code: string | null }>;
}

/** What the rooms store needs of the socket (RelaySocket). */
export interface RoomSocket {
  readonly connected: boolean;
  send(frame: Readonly<Record<string, unknown>>): boolean;
}

interface RoomData {
  /** Every envelope held, decrypted (edits, deletes and reactions too), by message id. */
  readonly entries: Map<string, TimelineEntry>;
  /** Highest seq held with none missing before it (sync asks for everything after it). */
  lastSeq: number;
  /** Seqs held beyond a gap after `lastSeq` (an ack that overtook pushes, or a lost push). */
  readonly ahead: Set<number>;
  /** Lowest seq held (history pages back from it). */
  firstSeq: number | null;
  hasOlder: boolean;
  loaded: boolean;
  unread: number;
  /** Unread messages mentioning this person. */
  mentions: number;
  /** The seq of the first unread message, while there are any. */
  firstUnread: number | null;
}

interface OutboxItem {
  readonly room: string;
  envelope: Readonly<Record<string, unknown>>;
  readonly content: Content;
  attempts: number;
}

const RETRY_CODES = ["stale_epoch", "epoch_expired"];
/** How long a typing frame shows "… is typing". */
const TYPING_SHOWN_MS = 6000;
/** At most one typing frame per this many milliseconds. */
const TYPING_EVERY_MS = 3000;
const PAGE = 50;
/** How long a gap in a room's seqs may stay open before a `sync` fills it. */
const GAP_WAIT_MS = 1500;

function label(room: ChainRoomView, me: string, settings: RoomSettings): string {
  if (settings.name !== null) {
    return settings.name;
  }
  const others = room.members.map((member) => member.username).filter((name) => name !== me);
  const names = others.length === 0 ? "only you" : others.join(", ");
  switch (room.kind) {
    case "dm":
      return `Direct message with ${names}`;
    case "channel":
      return `Channel ${room.id.slice(0, 8)} (${room.members.length} ${room.members.length === 1 ? "member" : "members"})`;
    case "private":
      return `Private room with ${names}`;
  }
}

function textOf(content: Content | null): string | null {
  return (content?.kind === "text" || content?.kind === "edit") && typeof content.text === "string"
    ? content.text
    : null;
}

/** How a new message reads in a notification: a text's text, "📎 name" for a file, else null. */
function previewOf(content: Content | null): string | null {
  const file = fileViewOf(content);
  return file !== null ? filePreview(file.name) : content?.kind === "text" ? textOf(content) : null;
}

const ACTION_KINDS = ["edit", "delete", "reaction"];
/** Kinds that are never a message of the list, nor unread. */
const QUIET_KINDS = [...ACTION_KINDS, "room_settings"];

/** `ok`/`pending` for a content this version knows, `unsupported` for another kind. */
function stateOf(entry: TimelineEntry): string {
  const known =
    entry.content === null ||
    entry.content.kind === "text" ||
    fileViewOf(entry.content) !== null ||
    QUIET_KINDS.includes(entry.content.kind);
  return (entry.state === "ok" || entry.state === "pending") && !known ? "unsupported" : entry.state;
}

export function createRoomsStore(
  account: AccountStore,
  chain: ChainStore,
  socket: RoomSocket,
): RoomsStore & {
  onFrame(frame: Readonly<Record<string, unknown>>): void;
  onConnected(): void;
  onDisconnected(): void;
  dispose(): void;
} {
  const data = new Map<string, RoomData>();
  const outbox = new Map<string, OutboxItem>();
  /** Pending epoch and share frames, keyed by their frame id, until acked or refused. */
  const waiting = new Map<string, { resolve: () => void; reject: (error: AccountError) => void }>();
  const version = signal(0);
  const selected = signal<string | null>(null);
  const error = signal<string | null>(null);
  const outboxSize = signal(0);
  /** room → user → when their last typing frame came. */
  const typingSeen = signal<ReadonlyMap<string, ReadonlyMap<string, number>>>(new Map());
  const clock = signal(Date.now());
  const presence = signal<ReadonlyMap<string, SeenPresence>>(new Map());
  let lastTypingSent = 0;
  /** room → the last seq this client said it has read. */
  const readSent = new Map<string, number>();
  let nextFrame = 1;
  /** The send in progress: the next one waits for it. */
  let sending: Promise<void> = Promise.resolve();
  const ticker = setInterval(() => {
    if (typingSeen.value.size > 0) {
      clock.value = Date.now();
    }
  }, 1000);

  const me = (): string => account.user.value?.username ?? "";
  const bump = (): void => {
    version.value++;
  };
  const roomData = (room: string): RoomData => {
    let found = data.get(room);
    if (found === undefined) {
      found = {
        entries: new Map(),
        lastSeq: 0,
        ahead: new Set(),
        firstSeq: null,
        hasOlder: false,
        loaded: false,
        unread: 0,
        mentions: 0,
        firstUnread: null,
      };
      data.set(room, found);
    }
    return found;
  };

  /** Whether `user` may change `room`'s settings: a room owner or admin, or a tenant admin. */
  const mayManage = (room: ChainRoomView, user: string): boolean => {
    const roomRole = room.members.find((member) => member.username === user)?.role;
    const tenantRole = chain.members.value.find((member) => member.username === user)?.role;
    return roomRole === "owner" || roomRole === "admin" || tenantRole === "owner" || tenantRole === "admin";
  };
  const settingsOfRoom = (room: ChainRoomView): RoomSettings => {
    const entries = data.get(room.id)?.entries;
    return entries === undefined
      ? NO_SETTINGS
      : latestSettings(entries.values(), (sender) => mayManage(room, sender));
  };
  const item = (room: ChainRoomView): RoomListItem => {
    const settings = settingsOfRoom(room);
    return {
      id: room.id,
      kind: room.kind,
      history: room.history,
      label: label(room, me(), settings),
      members: room.members.map((member) => member.username),
      myRole: room.members.find((member) => member.username === me())?.role ?? null,
      unread: data.get(room.id)?.unread ?? 0,
      mentions: data.get(room.id)?.mentions ?? 0,
      name: settings.name,
      topic: settings.topic,
      canManage: mayManage(room, me()),
    };
  };
  const rooms = computed(() => {
    version.value;
    const name = me();
    return chain.rooms.value
      .filter((room) => room.members.some((member) => member.username === name))
      .map(item);
  });
  const joinable = computed(() => {
    version.value;
    const name = me();
    return chain.rooms.value
      .filter((room) => room.kind === "channel" && !room.members.some((member) => member.username === name))
      .map(item);
  });
  const timeline = computed<Timeline>(() => {
    version.value;
    const room = selected.value;
    const entries = room === null ? [] : [...(data.get(room)?.entries.values() ?? [])];
    const shown = entries.filter((entry) => entry.content?.kind !== "room_settings");
    return foldTimeline(shown.sort(bySeq), me());
  });
  const messages = computed<readonly MessageView[]>(() => timeline.value.messages);
  const openThreadId = signal<string | null>(null);
  const thread = computed<ThreadView | null>(() =>
    openThreadId.value === null ? null : timeline.value.thread(openThreadId.value),
  );
  const editing = signal<string | null>(null);
  const unreadFrom = signal<number | null>(null);
  const typing = computed<readonly string[]>(() => {
    const room = selected.value;
    const now = clock.value;
    const seen = room === null ? undefined : typingSeen.value.get(room);
    return [...(seen ?? new Map<string, number>())]
      .filter(([, at]) => now - at < TYPING_SHOWN_MS)
      .map(([user]) => user)
      .sort();
  });
  /** Tell the user's other tabs (and the room) how far this person has read. */
  const markRead = (room: string): void => {
    const target = data.get(room);
    if (target === undefined || target.lastSeq <= (readSent.get(room) ?? 0)) {
      return;
    }
    if (socket.send({ type: "read", room, seq: target.lastSeq })) {
      readSent.set(room, target.lastSeq);
    }
  };
  const hasOlder = computed(() => {
    version.value;
    const room = selected.value;
    return room !== null && data.get(room)?.hasOlder === true;
  });

  const history = (): ChainHistory => {
    const found = chain.history();
    if (found === null) {
      throw new AccountError("chain_unverified", "The workspace's trust chain is not verified yet.");
    }
    return found;
  };
  const keyring = (): RoomKeyring => account.roomKeyring();

  const view = (opened: OpenedMessage, seq: number | null): TimelineEntry => {
    const { id, sender, ts } = opened;
    switch (opened.kind) {
      case "ok":
        return { id, seq, sender, ts, state: "ok", content: opened.content, reason: null };
      case "before_joined":
        return { id, seq, sender, ts, state: "before_joined", content: null, reason: null };
      case "failed":
        return { id, seq, sender, ts, state: "failed", content: null, reason: opened.reason };
    }
  };

  /** Load the room's epoch records and shares (again), accepting what the chain backs. */
  const loadEpochs = async (room: string): Promise<void> => {
    const answer = await api.fetchRoomEpochs(room);
    const ring = keyring();
    let refreshed = false;
    for (const record of answer.records) {
      try {
        ring.acceptRecord(record, history());
      } catch (caught) {
        const seq = (record as { chain_seq?: unknown }).chain_seq;
        if (!refreshed && typeof seq === "number" && seq > history().seq) {
          refreshed = true;
          await chain.refresh();
          ring.acceptRecord(record, history());
        } else {
          console.warn("PiPo: refused an epoch record", caught);
        }
      }
    }
    for (const share of answer.shares) {
      try {
        ring.acceptShare(share, history());
      } catch (caught) {
        console.warn("PiPo: refused an epoch share", caught);
      }
    }
  };

  const insert = (room: string, seq: number, envelope: unknown): void => {
    const target = roomData(room);
    const opened = keyring().open(envelope, history(), history().joinedAt(room, me()));
    const existing = target.entries.get(opened.id);
    if (
      existing !== undefined &&
      existing.seq !== null &&
      opened.kind === "failed" &&
      existing.state === "ok"
    ) {
      return; // keep what was already read
    }
    target.entries.set(opened.id, view(opened, seq));
    outbox.delete(opened.id);
    held(room, target, seq);
    target.firstSeq = target.firstSeq === null ? seq : Math.min(target.firstSeq, seq);
    const action = opened.kind === "ok" && QUIET_KINDS.includes(opened.content.kind);
    if (selected.value !== room && opened.sender !== me() && existing === undefined && !action) {
      target.unread++;
      target.firstUnread = target.firstUnread === null ? seq : Math.min(target.firstUnread, seq);
      const text = opened.kind === "ok" ? textOf(opened.content) : null;
      if (text !== null && mentionsMe(text, me())) {
        target.mentions++;
      }
    }
  };
  const incoming = new Set<(message: IncomingMessage) => void>();
  /** Insert a pushed envelope and tell the listeners if it is a new text from someone else. */
  const insertLive = (room: string, seq: number, envelope: unknown): void => {
    const id = (envelope as { id?: unknown }).id;
    const known = typeof id === "string" && data.get(room)?.entries.has(id) === true;
    insert(room, seq, envelope);
    const entry = typeof id === "string" ? data.get(room)?.entries.get(id) : undefined;
    const preview = entry === undefined ? null : previewOf(entry.content);
    if (known || entry === undefined || entry.sender === me() || preview === null) {
      return;
    }
    const mentioned = entry.content?.kind === "text" && mentionsMe(preview, me());
    const message = { room, id: entry.id, sender: entry.sender, text: preview, mentionsMe: mentioned };
    for (const listener of incoming) {
      try {
        listener(message);
      } catch (caught) {
        console.warn("PiPo: a message listener failed", caught);
      }
    }
  };

  /**
   * `seq` of `room` is held now. `lastSeq` moves only over seqs without a gap
   * before them, so that `sync` asks for everything missing; a seq beyond a
   * gap (pushes lost while the channel layer was down, or this client's ack
   * overtaking others' messages) is set aside, and a gap still open a moment
   * later is filled with a `sync` (PROTOCOL.md §4.4).
   */
  const held = (room: string, target: RoomData, seq: number): void => {
    if (seq > target.lastSeq) {
      target.ahead.add(seq);
    }
    while (target.ahead.delete(target.lastSeq + 1)) {
      target.lastSeq++;
    }
    if (target.ahead.size > 0 && target.loaded && !gapTimers.has(room)) {
      gapTimers.set(
        room,
        setTimeout(() => {
          gapTimers.delete(room);
          if (target.ahead.size > 0) {
            syncRooms([room]);
          }
        }, GAP_WAIT_MS),
      );
    }
  };
  const gapTimers = new Map<string, ReturnType<typeof setTimeout>>();

  const reopenUnreadable = (room: string, stored: Map<string, { seq: number; envelope: unknown }>): void => {
    for (const [id, { seq, envelope }] of stored) {
      const entry = data.get(room)?.entries.get(id);
      // A key that arrives later (an epoch pushed after the message, or a
      // share of an older epoch to someone added later) opens these now.
      if (entry !== undefined && (entry.state === "failed" || entry.state === "before_joined")) {
        insert(room, seq, envelope);
      }
    }
  };
  /** Envelopes as received, so a message whose key arrives later can be opened again. */
  const received = new Map<string, Map<string, { seq: number; envelope: unknown }>>();
  const remember = (room: string, seq: number, envelope: unknown): void => {
    let map = received.get(room);
    if (map === undefined) {
      map = new Map();
      received.set(room, map);
    }
    const id = (envelope as { id?: unknown }).id;
    if (typeof id === "string") {
      map.set(id, { seq, envelope });
    }
  };

  const load = async (room: string): Promise<void> => {
    const target = roomData(room);
    await loadEpochs(room);
    const page = await api.fetchRoomMessages(room, { limit: PAGE });
    for (const { seq, envelope } of page.messages) {
      remember(room, seq, envelope);
      insert(room, seq, envelope);
    }
    // The newest page has no gaps: everything up to its newest seq is held.
    target.lastSeq = Math.max(target.lastSeq, ...page.messages.map((message) => message.seq));
    for (const seq of target.ahead) {
      if (seq <= target.lastSeq) {
        target.ahead.delete(seq);
      }
    }
    target.hasOlder = page.more;
    target.loaded = true;
    target.unread = 0;
    target.mentions = 0;
    target.firstUnread = null;
    held(room, target, target.lastSeq);
    bump();
    syncRooms([room]);
  };

  const syncRooms = (rooms: readonly string[]): void => {
    const positions: Record<string, number> = {};
    for (const room of rooms) {
      const target = data.get(room);
      if (target?.loaded) {
        positions[room] = target.lastSeq;
      }
    }
    if (Object.keys(positions).length > 0) {
      socket.send({ type: "sync", rooms: positions });
    }
  };

  /** Send a frame that is answered by an ack or an error with its id. */
  const request = (frame: Record<string, unknown>): Promise<void> =>
    new Promise((resolve, reject) => {
      const id = `f${nextFrame++}`;
      waiting.set(id, { resolve, reject });
      if (!socket.send({ ...frame, id })) {
        waiting.delete(id);
        reject(
          new AccountError("offline", "Not connected to the server. Try again when the connection is back."),
        );
      }
    });

  const sameMembers = (a: ReadonlySet<string>, b: Iterable<string>): boolean => {
    const other = [...b];
    return a.size === other.length && other.every((name) => a.has(name));
  };

  /**
   * Make sure the room has a current epoch whose key this person holds and
   * that is sealed to exactly the room's members now; make a new one if not
   * (or if `force`: the server said the current one must be replaced).
   */
  const ensureEpoch = async (room: string, force = false): Promise<void> => {
    const ring = keyring();
    const { chainSeq, recipients } = chain.roomRecipients(room);
    const current = ring.currentEpoch(room);
    if (
      !force &&
      current >= 0 &&
      ring.hasKey(room, current) &&
      sameMembers(ring.sealedTo(room), recipients.keys())
    ) {
      return;
    }
    const record = ring.makeEpoch(room, current + 1, chainSeq, recipients);
    try {
      await request({ type: "epoch", record });
    } catch (caught) {
      if (caught instanceof AccountError && caught.code === "stale_epoch") {
        await loadEpochs(room); // someone else's epoch won: use it if it fits
        return ensureEpoch(room);
      }
      throw caught;
    }
    await shareHistory(room, recipients);
  };

  /** Under history "all", hand the older epochs to members who were not sealed to them. */
  const shareHistory = async (room: string, recipients: ReadonlyMap<string, Uint8Array>): Promise<void> => {
    const found = chain.rooms.value.find((each) => each.id === room);
    if (found?.history !== "all") {
      return;
    }
    const ring = keyring();
    const current = ring.currentEpoch(room);
    for (const epoch of ring.heldEpochs(room)) {
      if (epoch === current) {
        continue;
      }
      for (const [user, boxPub] of recipients) {
        if (user === me() || ring.wasSealedTo(room, epoch, user)) {
          continue;
        }
        await request({ type: "share", share: ring.share(room, epoch, user, boxPub) }).catch(
          (caught: unknown) => {
            console.warn("PiPo: could not share an older epoch", caught);
          },
        );
      }
    }
  };

  const transmit = (id: string): void => {
    const entry = outbox.get(id);
    if (entry !== undefined) {
      socket.send({ type: "send", envelope: entry.envelope });
    }
  };

  const setOutbox = (): void => {
    outboxSize.value = outbox.size;
  };

  const resend = async (id: string, force: boolean): Promise<void> => {
    const entry = outbox.get(id);
    if (entry === undefined) {
      return;
    }
    entry.attempts++;
    if (entry.attempts > 3) {
      outbox.delete(id);
      setOutbox();
      const target = data.get(entry.room);
      const shown = target?.entries.get(id);
      if (target !== undefined && shown !== undefined) {
        target.entries.set(id, {
          ...shown,
          state: "failed",
          reason: "The server kept refusing this message.",
        });
        if (ACTION_KINDS.includes(entry.content.kind)) {
          error.value = "The server kept refusing this change.";
        }
        bump();
      }
      return;
    }
    await loadEpochs(entry.room);
    await ensureEpoch(entry.room, force);
    entry.envelope = keyring().seal(entry.room, entry.content, id) as unknown as Record<string, unknown>;
    transmit(id);
  };

  const onFrame = (frame: Readonly<Record<string, unknown>>): void => {
    try {
      handleFrame(frame);
    } catch (caught) {
      console.warn("PiPo: could not handle a frame", caught);
    }
  };

  const handleFrame = (frame: Readonly<Record<string, unknown>>): void => {
    const room = typeof frame.room === "string" ? frame.room : "";
    switch (frame.type) {
      case "message": {
        const seq = frame.seq;
        if (typeof seq !== "number" || room === "" || chain.history() === null) {
          return;
        }
        remember(room, seq, frame.envelope);
        const epoch = (frame.envelope as { epoch?: unknown }).epoch;
        if (typeof epoch === "number" && keyring().currentEpoch(room) < epoch) {
          void loadEpochs(room).then(() => {
            insertLive(room, seq, frame.envelope);
            bump();
          });
          return;
        }
        insertLive(room, seq, frame.envelope);
        bump();
        if (room === selected.value) {
          markRead(room);
        }
        return;
      }
      case "ack": {
        const id = frame.id;
        if (typeof id !== "string" || typeof frame.seq !== "number") {
          return;
        }
        const entry = outbox.get(id);
        outbox.delete(id);
        setOutbox();
        const target = roomData(room || entry?.room || "");
        const shown = target.entries.get(id);
        if (shown !== undefined && shown.seq === null) {
          target.entries.set(id, {
            ...shown,
            seq: frame.seq,
            state: shown.content === null ? shown.state : "ok",
          });
        }
        held(room || entry?.room || "", target, frame.seq);
        bump();
        return;
      }
      case "epoch": {
        if (chain.history() === null) {
          return;
        }
        try {
          keyring().acceptRecord(frame.record, history());
        } catch {
          void chain
            .refresh()
            .then(() => loadEpochs(room).then(() => reopenUnreadable(room, received.get(room) ?? new Map())));
          return;
        }
        reopenUnreadable(room, received.get(room) ?? new Map());
        bump();
        return;
      }
      case "share": {
        try {
          keyring().acceptShare(frame.share, history());
          reopenUnreadable(room, received.get(room) ?? new Map());
          bump();
        } catch (caught) {
          console.warn("PiPo: refused an epoch share", caught);
        }
        return;
      }
      case "epoch_ack":
      case "share_ack":
        settle(frame, null);
        return;
      case "synced": {
        const reached = frame.rooms;
        if (typeof reached === "object" && reached !== null) {
          const again = Object.entries(reached as Record<string, unknown>)
            .filter(([name, seq]) => typeof seq === "number" && seq > (syncAsked.get(name) ?? -1))
            .map(([name]) => name);
          for (const [name, seq] of Object.entries(reached as Record<string, unknown>)) {
            if (typeof seq === "number") {
              syncAsked.set(name, seq);
            }
          }
          if (again.length > 0) {
            syncRooms(again); // a page was full, perhaps: ask for what follows
          }
        }
        return;
      }
      case "chain":
        void chain.refresh();
        return;
      case "typing": {
        const user = typeof frame.user === "string" ? frame.user : "";
        if (room === "" || user === "" || user === me()) {
          return;
        }
        const next = new Map(typingSeen.value);
        next.set(room, new Map(next.get(room) ?? []).set(user, Date.now()));
        batch(() => {
          typingSeen.value = next;
          clock.value = Date.now();
        });
        return;
      }
      case "presence": {
        presence.value = applyPresence(presence.value, frame.user, frame.state);
        return;
      }
      case "read": {
        // This person read up to `seq` in another tab: the room is read here too.
        if (frame.user === me() && typeof frame.seq === "number") {
          const target = data.get(room);
          if (target !== undefined && target.lastSeq <= frame.seq) {
            target.unread = 0;
            target.mentions = 0;
            target.firstUnread = null;
            readSent.set(room, Math.max(readSent.get(room) ?? 0, frame.seq));
            bump();
          }
        }
        return;
      }
      case "error": {
        const id = typeof frame.id === "string" ? frame.id : null;
        const code = typeof frame.code === "string" ? frame.code : "internal_error";
        if (id !== null && outbox.has(id)) {
          if (RETRY_CODES.includes(code)) {
            void resend(id, code === "epoch_expired").catch((caught: unknown) => {
              error.value = toAccountError(caught).message;
            });
          } else if (code !== "rate_limited") {
            const entry = outbox.get(id);
            outbox.delete(id);
            setOutbox();
            const shown = entry === undefined ? undefined : data.get(entry.room)?.entries.get(id);
            if (entry !== undefined && shown !== undefined) {
              const reason =
                typeof frame.message === "string" ? frame.message : "The server refused this message.";
              data.get(entry.room)?.entries.set(id, { ...shown, state: "failed", reason });
              if (ACTION_KINDS.includes(entry.content.kind)) {
                error.value = reason; // a refused edit, delete or reaction shows nowhere else
              }
              bump();
            }
          } else {
            const wait = typeof frame.retry_after_ms === "number" ? frame.retry_after_ms : 1000;
            setTimeout(() => transmit(id), wait);
          }
          return;
        }
        settle(frame, code);
        return;
      }
      default:
        return;
    }
  };
  const syncAsked = new Map<string, number>();

  const settle = (frame: Readonly<Record<string, unknown>>, code: string | null): void => {
    const id = typeof frame.id === "string" ? frame.id : null;
    const pending = id === null ? undefined : waiting.get(id);
    if (id === null || pending === undefined) {
      return;
    }
    waiting.delete(id);
    if (code === null) {
      pending.resolve();
    } else {
      pending.reject(
        new AccountError(
          code,
          typeof frame.message === "string" ? frame.message : "The server refused this.",
        ),
      );
    }
  };

  const onConnected = (): void => {
    for (const [, pending] of waiting) {
      pending.reject(new AccountError("offline", "The connection was lost; try again."));
    }
    waiting.clear();
    syncAsked.clear();
    syncRooms([...data.keys()]);
    for (const id of outbox.keys()) {
      transmit(id);
    }
  };

  /** Append room links (each on a fresh head) and wait for the verified chain to show them. */
  const appendLinks = async (specs: Parameters<AccountStore["signAdminLink"]>[0][]): Promise<void> => {
    for (const spec of specs) {
      await onFreshHead(api.fetchHead, (head) => api.postLink(account.signAdminLink(spec, head)));
    }
    await chain.refresh();
  };

  // Rooms one leaves or is removed from disappear; their messages go too.
  const stopPruning = effect(() => {
    const mine = new Set(rooms.value.map((room) => room.id));
    if (selected.value !== null && !mine.has(selected.value) && chain.status.value === "verified") {
      selected.value = null;
    }
  });

  const store = {
    rooms,
    joinable,
    selected,
    messages,
    thread,
    editing,
    hasOlder,
    error,
    outboxSize,
    onFrame,
    onConnected,
    onDisconnected(): void {
      // Nobody is seen typing or online through a connection that is gone.
      batch(() => {
        typingSeen.value = new Map();
        presence.value = new Map();
      });
    },
    typing,
    presence,
    unreadFrom,
    onIncoming(listener: (message: IncomingMessage) => void): () => void {
      incoming.add(listener);
      return () => {
        incoming.delete(listener);
      };
    },
    dispose(): void {
      stopPruning();
      clearInterval(ticker);
      for (const timer of gapTimers.values()) {
        clearTimeout(timer);
      }
    },

    noteTyping(): void {
      const room = selected.value;
      const now = Date.now();
      if (room === null || now - lastTypingSent < TYPING_EVERY_MS) {
        return;
      }
      if (socket.send({ type: "typing", room })) {
        lastTypingSent = now;
      }
    },

    async select(room: string | null): Promise<void> {
      batch(() => {
        if (selected.value !== room) {
          openThreadId.value = null;
          editing.value = null;
        }
        selected.value = room;
        error.value = null;
      });
      if (room === null) {
        return;
      }
      try {
        const target = roomData(room);
        unreadFrom.value = target.unread > 0 ? target.firstUnread : null;
        target.unread = 0;
        target.mentions = 0;
        target.firstUnread = null;
        bump();
        if (!target.loaded) {
          await load(room);
        }
        markRead(room);
      } catch (caught) {
        error.value = toAccountError(caught).message;
      }
    },

    async loadOlder(): Promise<void> {
      const room = selected.value;
      const target = room === null ? undefined : data.get(room);
      if (room === null || target === undefined || target.firstSeq === null) {
        return;
      }
      const page = await api.fetchRoomMessages(room, { before: target.firstSeq, limit: PAGE });
      for (const { seq, envelope } of page.messages) {
        remember(room, seq, envelope);
        insert(room, seq, envelope);
      }
      target.hasOlder = page.more;
      bump();
    },

    async send(message: string | Content, into?: string): Promise<string | null> {
      const room = into ?? selected.value;
      const content: Content =
        typeof message === "string"
          ? { kind: "text", text: message.trim() }
          : (message.kind === "text" || message.kind === "edit") && typeof message.text === "string"
            ? { ...message, text: message.text.trim() }
            : message;
      if (room === null || content.text === "") {
        return null;
      }
      error.value = null;
      const id = newMessageId();
      const target = roomData(room);
      target.entries.set(id, {
        id,
        seq: null,
        sender: me(),
        ts: Date.now(),
        state: "pending",
        content,
        reason: null,
      });
      bump();
      // Sends go one after another: the first after a membership change makes
      // the new epoch, and the ones typed meanwhile wait for it, in order.
      const previous = sending;
      let done = (): void => undefined;
      sending = new Promise<void>((resolve) => {
        done = resolve;
      });
      await previous;
      try {
        if (socket.connected) {
          await ensureEpoch(room);
        } else if (
          keyring().currentEpoch(room) < 0 ||
          !keyring().hasKey(room, keyring().currentEpoch(room))
        ) {
          throw new AccountError("offline", "Not connected: this room's first message needs the connection.");
        }
        const envelope = keyring().seal(room, content, id) as unknown as Record<string, unknown>;
        outbox.set(id, { room, envelope, content, attempts: 0 });
        setOutbox();
        transmit(id);
        return id;
      } catch (caught) {
        target.entries.delete(id);
        bump();
        const failure = toAccountError(caught);
        error.value = failure.message;
        throw failure;
      } finally {
        done();
      }
    },

    async edit(id: string, text: string): Promise<void> {
      const shown = timeline.value.get(id);
      const body = text.trim();
      if (shown === undefined || !shown.mine || shown.text === null || body === "" || body === shown.text) {
        return;
      }
      await store.send({ kind: "edit", target: id, text: body });
    },

    async remove(id: string): Promise<void> {
      const shown = timeline.value.get(id);
      if (shown === undefined || !shown.mine) {
        return;
      }
      if (editing.value === id) {
        editing.value = null;
      }
      await store.send({ kind: "delete", target: id });
    },

    async react(id: string, emoji: string, on: boolean): Promise<void> {
      if (timeline.value.get(id) === undefined || emoji === "") {
        return;
      }
      await store.send({ kind: "reaction", target: id, emoji, on });
    },

    async reply(parentId: string, text: string): Promise<void> {
      if (timeline.value.thread(parentId) === null) {
        return;
      }
      await store.send({ kind: "text", text, parent: parentId });
    },

    openThread(id: string | null): void {
      openThreadId.value = id;
    },

    threadOf(parentId: string): ThreadView | null {
      return timeline.value.thread(parentId);
    },

    setEditing(id: string | null): void {
      const shown = id === null ? undefined : timeline.value.get(id);
      editing.value = shown?.mine === true && shown.text !== null ? (id as string) : null;
    },

    lastEditable(parent: string | null = null): string | null {
      const list = parent === null ? timeline.value.messages : (timeline.value.thread(parent)?.replies ?? []);
      for (let index = list.length - 1; index >= 0; index--) {
        const message = list[index] as MessageView;
        if (
          message.mine &&
          message.text !== null &&
          (message.state === "ok" || message.state === "pending")
        ) {
          return message.id;
        }
      }
      return null;
    },

    async createRoom(
      kind: "channel" | "private" | "dm",
      people: readonly string[],
      history: "all" | "joined" = kind === "channel" ? "all" : "joined",
    ): Promise<string> {
      const room = crypto.randomUUID();
      const others = [
        ...new Set(
          people.map((name) => name.trim().toLowerCase()).filter((name) => name !== "" && name !== me()),
        ),
      ];
      if (kind === "dm" && others.length === 0) {
        throw new AccountError("invalid_request", "Choose who the direct message is with.");
      }
      try {
        await appendLinks([
          { type: "room_create", room, kind, history },
          ...others.map((user) => ({ type: "room_add" as const, room, user, role: "member" as const })),
        ]);
      } catch (caught) {
        throw toAccountError(caught);
      }
      await store.select(room);
      return room;
    },

    async joinChannel(room: string): Promise<void> {
      await appendLinks([{ type: "room_add", room, user: me(), role: "member" }]).catch((caught: unknown) => {
        throw toAccountError(caught);
      });
      await store.select(room);
    },

    async saveSettings(room: string, name: string, topic: string): Promise<void> {
      if (selected.value !== room) {
        throw new AccountError("invalid_request", "Open the room to change its settings.");
      }
      await store.send(settingsContent(name, topic));
    },

    async addToRoom(room: string, user: string): Promise<void> {
      await appendLinks([{ type: "room_add", room, user, role: "member" }]).catch((caught: unknown) => {
        throw toAccountError(caught);
      });
    },

    async leaveRoom(room: string): Promise<void> {
      await store.removeFromRoom(room, me());
    },

    async removeFromRoom(room: string, user: string): Promise<void> {
      await appendLinks([{ type: "room_remove", room, user }]).catch((caught: unknown) => {
        throw toAccountError(caught);
      });
    },

    snapshot(): Record<string, SnapshotEntry[]> {
      const out: Record<string, SnapshotEntry[]> = {};
      for (const [room, target] of data) {
        out[room] = [...target.entries.values()]
          .sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER))
          .map((entry) => {
            const { content } = entry;
            const pointer =
              content?.kind === "text" || content?.kind === "file" ? content.parent : content?.target;
            return {
              id: entry.id,
              seq: entry.seq,
              text: textOf(content),
              name: fileViewOf(content)?.name ?? null,
              state: stateOf(entry),
              kind: content?.kind ?? null,
              sender: entry.sender,
              target: typeof pointer === "string" ? pointer : null,
            };
          });
      }
      return out;
    },

    async tryOpen(
      room: string,
      envelope: unknown,
    ): Promise<{ state: string; text: string | null; code: string | null }> {
      await loadEpochs(room).catch(() => undefined); // a room one left answers 404
      const opened = keyring().open(envelope, history(), history().joinedAt(room, me()));
      const shown = view(opened, null);
      return {
        state: stateOf(shown),
        text: textOf(shown.content),
        code: opened.kind === "failed" ? opened.code : null,
      };
    },
  };
  return store;
}
