/**
 * A person's room epoch keys (PROTOCOL.md §7): it accepts epoch records and
 * shares only as the verified chain allows, opens the keys sealed to this
 * person, makes new epochs sealed only to keys the chain admits, and seals
 * and opens envelopes. The epoch keys and the identity keys stay in here and
 * in src/protocol; the state layer gets content and verdicts.
 */

import { ChainHistory } from "./chainHistory";
import { b64uDecodeExact, b64uEncode } from "./encoding";
import {
  type Content,
  type EnvelopeJson,
  newMessageId,
  openEnvelope,
  parseEnvelope,
  sealEnvelope,
  verifyEnvelope,
} from "./envelope";
import {
  type EpochRecord,
  type EpochRecordJson,
  type EpochShareJson,
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
import { EpochError, ProtocolError, SignatureError } from "./errors";
import type { IdentityKeys } from "./identity";

/** What became of a received envelope. */
export type OpenedMessage =
  | {
      readonly kind: "ok";
      readonly id: string;
      readonly sender: string;
      readonly ts: number;
      readonly epoch: number;
      readonly content: Content;
    }
  /** Its epoch was never sealed to this person and the room keeps history from joining on. */
  | { readonly kind: "before_joined"; readonly id: string; readonly sender: string; readonly ts: number }
  /** A key this person is entitled to is missing, or the envelope is bad: always a problem. */
  | {
      readonly kind: "failed";
      readonly id: string;
      readonly sender: string;
      readonly ts: number;
      readonly code: string;
      readonly reason: string;
    };

function equalSets(a: ReadonlySet<string>, b: Iterable<string>): boolean {
  const other = new Set(b);
  return a.size === other.size && [...a].every((item) => other.has(item));
}

export class RoomKeyring {
  readonly #tenant: string;
  readonly #me: string;
  readonly #keys: IdentityKeys;
  /** room → epoch → record (accepted). */
  readonly #records = new Map<string, Map<number, EpochRecord>>();
  /** room → epoch → key. */
  readonly #epochKeys = new Map<string, Map<number, Uint8Array>>();

  constructor(tenant: string, me: string, keys: IdentityKeys) {
    this.#tenant = tenant;
    this.#me = me;
    this.#keys = keys;
  }

  get me(): string {
    return this.#me;
  }

  /**
   * Accept an epoch record if the verified chain backs it: its creator was in
   * the room at `chain_seq` with the key that signed it, and it is sealed to
   * exactly the room's members there. Opens this person's key if sealed to them.
   *
   * @throws {@link EpochError} (`malformed_epoch`, `bad_signature`,
   *   `not_backed_by_chain`, `decrypt_failed`, `key_check_mismatch`).
   */
  acceptRecord(json: unknown, history: ChainHistory): EpochRecord {
    const record = parseEpochRecord(json);
    if (record.tenant !== this.#tenant) {
      throw new EpochError("malformed_epoch", "the epoch record is for another workspace");
    }
    const known = this.#records.get(record.room)?.get(record.epoch);
    if (known !== undefined) {
      if (b64uEncode(known.sig) !== b64uEncode(record.sig)) {
        throw new EpochError("not_backed_by_chain", "two different records for one epoch");
      }
      return known;
    }
    if (record.chainSeq > history.seq) {
      throw new EpochError(
        "not_backed_by_chain",
        "the epoch names a chain position this client has not verified",
      );
    }
    const members = history.roomMembersAt(record.room, record.chainSeq);
    if (!members.has(record.creator)) {
      throw new EpochError(
        "not_backed_by_chain",
        `${record.creator} was not in the room when they made this epoch`,
      );
    }
    if (!equalSets(members, record.sealed.keys())) {
      throw new EpochError("not_backed_by_chain", "the epoch is not sealed to exactly the room's members");
    }
    const signKey = history.signKeyAt(record.creator, record.chainSeq);
    if (signKey === null) {
      throw new EpochError("not_backed_by_chain", `${record.creator} had no key then`);
    }
    try {
      verifyEpochRecord(record, b64uDecodeExact(signKey, 32, "sign_pub"));
    } catch (error) {
      if (
        error instanceof SignatureError ||
        (error instanceof ProtocolError && error.code === "bad_signature")
      ) {
        throw new EpochError("bad_signature", "the epoch record's signature does not verify");
      }
      throw error;
    }
    if (record.sealed.has(this.#me)) {
      this.#setKey(record.room, record.epoch, openEpochRecord(record, this.#me, this.#keys.boxSecret));
    }
    this.#recordsOf(record.room).set(record.epoch, record);
    return record;
  }

  /**
   * Accept a share of an epoch key to this person, from someone who was
   * sealed to that epoch, checked against the epoch's `key_check`.
   */
  acceptShare(json: unknown, history: ChainHistory): void {
    const share = parseEpochShare(json);
    if (share.tenant !== this.#tenant || share.user !== this.#me) {
      throw new EpochError("malformed_share", "the share is not for this person");
    }
    const record = this.#records.get(share.room)?.get(share.epoch);
    if (record === undefined) {
      throw new EpochError("wrong_epoch", "the share's epoch record is not known");
    }
    if (!record.sealed.has(share.by) && share.by !== this.#me) {
      throw new EpochError("not_backed_by_chain", `${share.by} never held this epoch`);
    }
    const verifies = history.signKeysOf(share.by).some((key) => {
      try {
        verifyEpochShare(share, b64uDecodeExact(key, 32, "sign_pub"));
        return true;
      } catch {
        return false;
      }
    });
    if (!verifies) {
      throw new EpochError("bad_signature", "the share's signature does not verify");
    }
    this.#setKey(share.room, share.epoch, openEpochShare(share, this.#keys.boxSecret, record));
  }

  /** The newest epoch with an accepted record in `room`, or -1. */
  currentEpoch(room: string): number {
    const epochs = [...(this.#records.get(room)?.keys() ?? [])];
    return epochs.length === 0 ? -1 : Math.max(...epochs);
  }

  /** Whether this person holds `room`'s key for `epoch`. */
  hasKey(room: string, epoch: number): boolean {
    return this.#epochKeys.get(room)?.has(epoch) === true;
  }

  /** The names the current epoch is sealed to (empty when there is none). */
  sealedTo(room: string): ReadonlySet<string> {
    const record = this.#records.get(room)?.get(this.currentEpoch(room));
    return new Set(record?.sealed.keys() ?? []);
  }

  /** Whether epoch `epoch` of `room` was sealed to `user` in its record. */
  wasSealedTo(room: string, epoch: number, user: string): boolean {
    return this.#records.get(room)?.get(epoch)?.sealed.has(user) === true;
  }

  /** Epochs of `room` this person holds keys for, oldest first. */
  heldEpochs(room: string): number[] {
    return [...(this.#epochKeys.get(room)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /**
   * Make epoch `epoch` of `room`, sealed to `recipients` (username → box
   * key, exactly the room's members in the verified chain at `chainSeq`).
   */
  makeEpoch(
    room: string,
    epoch: number,
    chainSeq: number,
    recipients: ReadonlyMap<string, Uint8Array>,
  ): EpochRecordJson {
    const epochKey = newEpochKey();
    const record = makeEpochRecord({
      tenant: this.#tenant,
      room,
      epoch,
      creator: this.#me,
      chainSeq,
      ts: Date.now(),
      epochKey,
      recipients,
      signSeed: this.#keys.signSeed,
    });
    this.#recordsOf(room).set(epoch, record);
    this.#setKey(room, epoch, epochKey);
    return record.toJson();
  }

  /** Share an epoch key this person holds with `user` (their verified box key). */
  share(room: string, epoch: number, user: string, boxPub: Uint8Array): EpochShareJson {
    const epochKey = this.#epochKeys.get(room)?.get(epoch);
    if (epochKey === undefined) {
      throw new EpochError("not_sealed_to_you", "this person does not hold that epoch's key");
    }
    return makeEpochShare({
      tenant: this.#tenant,
      room,
      epoch,
      user,
      by: this.#me,
      ts: Date.now(),
      epochKey,
      boxPub,
      signSeed: this.#keys.signSeed,
    }).toJson();
  }

  /** Seal `content` under the current epoch of `room`, as a new message (or with `messageId`). */
  seal(room: string, content: Content, messageId: string = newMessageId()): EnvelopeJson {
    const epoch = this.currentEpoch(room);
    const epochKey = this.#epochKeys.get(room)?.get(epoch);
    if (epochKey === undefined) {
      throw new EpochError("not_sealed_to_you", "no key for this room's current epoch");
    }
    return sealEnvelope({
      tenant: this.#tenant,
      room,
      epoch,
      messageId,
      sender: this.#me,
      ts: Date.now(),
      epochKey,
      signSeed: this.#keys.signSeed,
      content,
    }).toJson();
  }

  /**
   * Verify and open a stored envelope: signed by one of its sender's chain
   * keys, sent by someone its epoch was sealed to, and decrypting under the
   * epoch key. `joinedAt` is the chain seq at which this person last joined
   * the room, to tell "before you joined" from a missing key.
   */
  open(json: unknown, history: ChainHistory, joinedAt: number): OpenedMessage {
    let envelope: ReturnType<typeof parseEnvelope>;
    try {
      envelope = parseEnvelope(json);
    } catch (error) {
      return {
        kind: "failed",
        id: "",
        sender: "",
        ts: 0,
        code: codeOf(error),
        reason: "A malformed message.",
      };
    }
    const { id, sender, ts, room, epoch } = envelope;
    const failed = (code: string, reason: string): OpenedMessage => ({
      kind: "failed",
      id,
      sender,
      ts,
      code,
      reason,
    });
    if (envelope.tenant !== this.#tenant) {
      return failed("malformed_envelope", "A message of another workspace.");
    }
    const verifies = history.signKeysOf(sender).some((key) => {
      try {
        verifyEnvelope(envelope, b64uDecodeExact(key, 32, "sign_pub"));
        return true;
      } catch {
        return false;
      }
    });
    if (!verifies) {
      return failed("bad_signature", `Not signed by ${sender}'s keys: do not trust this message.`);
    }
    const record = this.#records.get(room)?.get(epoch);
    const epochKey = this.#epochKeys.get(room)?.get(epoch);
    if (record !== undefined && !record.sealed.has(sender)) {
      return failed("not_backed_by_chain", `${sender} was not in the room for this epoch.`);
    }
    if (epochKey === undefined) {
      if (record !== undefined && !record.sealed.has(this.#me) && record.chainSeq < joinedAt) {
        return { kind: "before_joined", id, sender, ts };
      }
      return failed("missing_key", "The key for this message is missing. This is a bug: please report it.");
    }
    try {
      return { kind: "ok", id, sender, ts, epoch, content: openEnvelope(envelope, epochKey) };
    } catch (error) {
      return failed(codeOf(error), "This message could not be decrypted.");
    }
  }

  #recordsOf(room: string): Map<number, EpochRecord> {
    let records = this.#records.get(room);
    if (records === undefined) {
      records = new Map();
      this.#records.set(room, records);
    }
    return records;
  }

  #setKey(room: string, epoch: number, key: Uint8Array): void {
    let keys = this.#epochKeys.get(room);
    if (keys === undefined) {
      keys = new Map();
      this.#epochKeys.set(room, keys);
    }
    keys.set(epoch, key);
  }
}

function codeOf(error: unknown): string {
  return error instanceof ProtocolError ? error.code : "internal_error";
}

export { ChainHistory };
