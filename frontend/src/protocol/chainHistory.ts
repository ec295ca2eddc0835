/**
 * What a verified chain said at each point (PROTOCOL.md §6, §7.1): who was
 * in which room at a given `seq`, and which signing keys each person has
 * held. Room epochs are judged against the chain position they name
 * (`chain_seq`), and old messages against the key their sender had then, so
 * the current state alone is not enough.
 *
 * Built only from links that {@link verifyChain} (or its async twin) has
 * accepted: nothing here re-checks signatures or rules.
 */

import { b64uEncode } from "./encoding";

type JsonObject = Record<string, unknown>;

interface RoomEvent {
  readonly seq: number;
  readonly user: string;
  /** true: joined (room_create, room_add); false: left (room_remove, tenant remove). */
  readonly joined: boolean;
}

interface KeyEvent {
  readonly seq: number;
  readonly signPub: string;
}

function object(value: unknown): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export class ChainHistory {
  /** room id → membership changes in chain order. */
  readonly #rooms = new Map<string, RoomEvent[]>();
  /** user → signing keys in the order they were admitted or rotated to. */
  readonly #keys = new Map<string, KeyEvent[]>();
  /** b64u sign_pub → user, for room_create (whose creator is the signer). */
  readonly #owners = new Map<string, string>();
  /** user → the rooms they are in now (for tenant removals, which empty them all). */
  readonly #current = new Map<string, Set<string>>();
  #seq = -1;

  /** Add verified links, oldest first, continuing from the last one added. */
  extend(links: readonly unknown[]): void {
    for (const raw of links) {
      const link = object(raw);
      const seq = typeof link.seq === "number" ? link.seq : this.#seq + 1;
      if (seq <= this.#seq) {
        continue;
      }
      this.#seq = seq;
      const body = object(link.body);
      const signer = text(link.signer);
      switch (link.type) {
        case "genesis":
          for (const root of Array.isArray(body.roots) ? body.roots : []) {
            this.#key(text(object(root).user), text(object(root).sign_pub), seq);
          }
          break;
        case "admit":
          this.#key(text(object(body.bundle).user), text(object(body.bundle).sign_pub), seq);
          break;
        case "rotate_keys":
          this.#key(text(body.user), text(object(body.bundle).sign_pub), seq);
          break;
        case "remove": {
          const user = text(body.user);
          for (const room of this.#current.get(user) ?? []) {
            this.#room(room, user, false, seq);
          }
          break;
        }
        case "room_create": {
          const creator = this.#owners.get(signer);
          if (creator !== undefined) {
            this.#room(text(body.room).toLowerCase(), creator, true, seq);
          }
          break;
        }
        case "room_add":
          this.#room(text(body.room).toLowerCase(), text(body.user), true, seq);
          break;
        case "room_remove":
          this.#room(text(body.room).toLowerCase(), text(body.user), false, seq);
          break;
        default:
          break;
      }
    }
  }

  /** The seq of the last link added (-1 before any). */
  get seq(): number {
    return this.#seq;
  }

  /** Who was in `room` once the link at `seq` had been applied. */
  roomMembersAt(room: string, seq: number): Set<string> {
    const members = new Set<string>();
    for (const event of this.#rooms.get(room) ?? []) {
      if (event.seq > seq) {
        break;
      }
      if (event.joined) {
        members.add(event.user);
      } else {
        members.delete(event.user);
      }
    }
    return members;
  }

  /** The seq at which `user` last joined `room` (-1 if never). */
  joinedAt(room: string, user: string): number {
    let joined = -1;
    for (const event of this.#rooms.get(room) ?? []) {
      if (event.user === user && event.joined) {
        joined = event.seq;
      }
    }
    return joined;
  }

  /** `user`'s signing key (b64u) once the link at `seq` had been applied; null if none yet. */
  signKeyAt(user: string, seq: number): string | null {
    let key: string | null = null;
    for (const event of this.#keys.get(user) ?? []) {
      if (event.seq > seq) {
        break;
      }
      key = event.signPub;
    }
    return key;
  }

  /** Every signing key `user` has held (b64u), newest first. */
  signKeysOf(user: string): string[] {
    return (this.#keys.get(user) ?? []).map((event) => event.signPub).reverse();
  }

  #key(user: string, signPub: string, seq: number): void {
    if (user === "" || signPub === "") {
      return;
    }
    const events = this.#keys.get(user) ?? [];
    events.push({ seq, signPub });
    this.#keys.set(user, events);
    this.#owners.set(signPub, user);
  }

  #room(room: string, user: string, joined: boolean, seq: number): void {
    const events = this.#rooms.get(room) ?? [];
    events.push({ seq, user, joined });
    this.#rooms.set(room, events);
    const current = this.#current.get(user) ?? new Set<string>();
    if (joined) {
      current.add(room);
    } else {
      current.delete(room);
    }
    this.#current.set(user, current);
  }
}

/** @internal For tests: the b64u form keys are kept in. */
export const keyText = (key: Uint8Array): string => b64uEncode(key);
