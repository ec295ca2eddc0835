import { describe, expect, it } from "vitest";
import type { Content } from "../protocol";
import { emojiKey, foldTimeline, type TimelineEntry } from "./timeline";

let nextSeq = 1;
const ids = new Map<string, string>();
/** A readable message id for a short name. */
const id = (name: string): string => {
  let found = ids.get(name);
  if (found === undefined) {
    found = `0190a000-0000-7000-8000-${String(ids.size + 1).padStart(12, "0")}`;
    ids.set(name, found);
  }
  return found;
};

function entry(
  name: string,
  sender: string,
  content: Content,
  seq: number | null = nextSeq++,
): TimelineEntry {
  return {
    id: id(name),
    seq,
    sender,
    ts: 1_700_000_000_000 + (seq ?? 10_000),
    state: seq === null ? "pending" : "ok",
    content,
    reason: null,
  };
}
const text = (name: string, sender: string, body: string, parent?: string, seq?: number | null) =>
  entry(
    name,
    sender,
    parent === undefined ? { kind: "text", text: body } : { kind: "text", text: body, parent: id(parent) },
    seq,
  );
const edit = (name: string, sender: string, target: string, body: string, seq?: number | null) =>
  entry(name, sender, { kind: "edit", target: id(target), text: body }, seq);
const del = (name: string, sender: string, target: string, seq?: number | null) =>
  entry(name, sender, { kind: "delete", target: id(target) }, seq);
const react = (name: string, sender: string, target: string, emoji: string, on = true, seq?: number | null) =>
  entry(name, sender, { kind: "reaction", target: id(target), emoji, on }, seq);

const FILE_KEY = "k".repeat(43);
const share = (name: string, sender: string, fileName: string, parent?: string, seq?: number | null) =>
  entry(
    name,
    sender,
    {
      kind: "file",
      file: "0190a000-0000-4000-8000-00000000f11e",
      key: FILE_KEY,
      name: fileName,
      type: "application/pdf",
      size: 48_213,
      ...(parent === undefined ? {} : { parent: id(parent) }),
    },
    seq,
  );

const texts = (entries: TimelineEntry[], me = "ann") =>
  foldTimeline(entries, me).messages.map((message) => message.text);

/** Every order of `items` (small arrays only). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) {
    return [[...items]];
  }
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("foldTimeline", () => {
  it("shows text messages in seq order, actions never as messages", () => {
    const entries = [
      text("a", "ann", "hello"),
      text("b", "bea", "hi"),
      react("r", "bea", "a", "👍"),
      edit("e", "ann", "a", "hello all"),
    ];
    const timeline = foldTimeline(entries, "ann");
    expect(timeline.messages.map((message) => [message.sender, message.text, message.mine])).toEqual([
      ["ann", "hello all", true],
      ["bea", "hi", false],
    ]);
    expect(timeline.messages[0]?.edited).toBe(true);
    expect(timeline.messages[1]?.edited).toBe(false);
  });

  it("applies the sender's latest edit by seq", () => {
    const entries = [
      text("a", "ann", "v1", undefined, 1),
      edit("e2", "ann", "a", "v3", 5),
      edit("e1", "ann", "a", "v2", 3),
    ];
    expect(texts(entries)).toEqual(["v3"]);
    // An own edit still waiting for its ack is the latest.
    expect(texts([...entries, edit("e3", "ann", "a", "v4", null)])).toEqual(["v4"]);
  });

  it("ignores an edit or delete forged by another member", () => {
    const entries = [
      text("a", "ann", "the real words"),
      edit("forged", "bea", "a", "words put in ann's mouth"),
      del("forged-delete", "cid", "a"),
    ];
    for (const me of ["ann", "bea", "cid"]) {
      const [message] = foldTimeline(entries, me).messages;
      expect(message?.text).toBe("the real words");
      expect(message?.edited).toBe(false);
      expect(message?.state).toBe("ok");
    }
    // ...also when the forgery arrives before the target.
    expect(
      texts([entries[1] as TimelineEntry, entries[2] as TimelineEntry, entries[0] as TimelineEntry]),
    ).toEqual(["the real words"]);
  });

  it("ignores edits of something that is not a text, and edits after a delete", () => {
    const entries = [
      text("a", "ann", "one"),
      react("r", "ann", "a", "🎉"),
      edit("e", "ann", "r", "not a message"),
      del("d", "ann", "a"),
      edit("late", "ann", "a", "too late"),
    ];
    expect(foldTimeline(entries, "ann").messages).toEqual([]);
  });

  it("removes deleted messages (and their reactions)", () => {
    const entries = [
      text("a", "ann", "keep"),
      text("b", "ann", "oops"),
      react("r", "bea", "b", "😂"),
      del("d", "ann", "b"),
    ];
    const timeline = foldTimeline(entries, "bea");
    expect(timeline.messages.map((message) => message.text)).toEqual(["keep"]);
    expect(timeline.get(id("b"))).toBeUndefined();
  });

  it("aggregates reactions: counts, who, mine, toggles, and one emoji in two spellings", () => {
    const entries = [
      text("a", "ann", "party"),
      react("r1", "bea", "a", "👍"),
      react("r2", "cid", "a", "👍"),
      react("r3", "ann", "a", "❤️"),
      react("r4", "bea", "a", "❤"),
      react("r5", "cid", "a", "👍", false),
      react("r6", "cid", "a", "🎉"),
      react("r7", "dan", "a", "🎉", false), // taking back what was never there
      react("r8", "bea", "a", "👍"), // twice on is once
    ];
    const [message] = foldTimeline(entries, "ann").messages;
    expect(message?.reactions).toEqual([
      { emoji: "👍", count: 1, mine: false, users: ["bea"] },
      { emoji: "❤️", count: 2, mine: true, users: ["ann", "bea"] },
      { emoji: "🎉", count: 1, mine: false, users: ["cid"] },
    ]);
    expect(emojiKey("❤️")).toBe(emojiKey("❤"));
    const off = [...entries, react("r9", "bea", "a", "👍", false)];
    expect(foldTimeline(off, "bea").messages[0]?.reactions.map((each) => each.emoji)).toEqual(["❤️", "🎉"]);
    expect(foldTimeline(off, "bea").messages[0]?.reactions[0]?.mine).toBe(true);
  });

  it("groups thread replies under their parent, with a count, out of the main list", () => {
    const entries = [
      text("p", "ann", "a question"),
      text("q", "bea", "another"),
      text("r1", "bea", "answer one", "p"),
      text("r2", "cid", "answer two", "p"),
      text("r3", "ann", "reply to a reply", "r1"),
      react("x", "ann", "r2", "👍"),
      edit("e", "cid", "r2", "answer two, edited"),
    ];
    const timeline = foldTimeline(entries, "ann");
    expect(timeline.messages.map((message) => [message.text, message.replies])).toEqual([
      ["a question", 3],
      ["another", 0],
    ]);
    const thread = timeline.thread(id("p"));
    expect(thread?.parent.text).toBe("a question");
    expect(thread?.replies.map((reply) => [reply.text, reply.parent, reply.edited])).toEqual([
      ["answer one", id("p"), false],
      ["answer two, edited", id("p"), true],
      ["reply to a reply", id("p"), false],
    ]);
    expect(thread?.replies[1]?.reactions).toEqual([{ emoji: "👍", count: 1, mine: true, users: ["ann"] }]);
    expect(timeline.thread(id("q"))?.replies).toEqual([]);
    expect(timeline.thread(id("r1"))).toBeNull(); // a reply has no thread of its own
    expect(timeline.thread(id("nothing"))).toBeNull();
  });

  it("counts deleted replies out, and keeps a deleted parent while it has replies", () => {
    const base = [text("p", "ann", "parent"), text("r1", "bea", "reply", "p"), del("d", "ann", "p")];
    const timeline = foldTimeline(base, "bea");
    expect(timeline.messages.map((message) => [message.state, message.text, message.replies])).toEqual([
      ["deleted", null, 1],
    ]);
    expect(timeline.thread(id("p"))?.replies.map((reply) => reply.text)).toEqual(["reply"]);
    const gone = foldTimeline([...base, del("d2", "bea", "r1")], "bea");
    expect(gone.messages).toEqual([]);
  });

  it("does not show a reply whose parent is not held yet", () => {
    const timeline = foldTimeline([text("r", "bea", "orphan", "p", 9)], "bea");
    expect(timeline.messages).toEqual([]);
    expect(timeline.thread(id("p"))).toBeNull();
  });

  it("gives the same result in any arrival order (history pages load older messages later)", () => {
    const entries = [
      text("a", "ann", "first", undefined, 1),
      text("b", "bea", "second", undefined, 2),
      edit("e", "ann", "a", "first, edited", 3),
      edit("forged", "bea", "a", "forged", 4),
      react("r", "cid", "a", "👍", true, 5),
      text("t", "cid", "in thread", "b", 6),
      react("r-off", "cid", "a", "👍", false, 7),
      react("r2", "bea", "a", "🎉", true, 8),
    ];
    const expected = foldTimeline(entries, "ann");
    expect(expected.messages.map((message) => message.text)).toEqual(["first, edited", "second"]);
    expect(expected.messages[0]?.reactions).toEqual([{ emoji: "🎉", count: 1, mine: false, users: ["bea"] }]);
    expect(expected.messages[1]?.replies).toBe(1);
    // Every order of arrival gives the same views.
    for (const order of permutations(entries.slice(0, 6))) {
      const timeline = foldTimeline([...order, ...entries.slice(6)], "ann");
      expect(timeline.messages).toEqual(expected.messages);
      expect(timeline.thread(id("b"))).toEqual(expected.thread(id("b")));
    }
    // Only the newest page held: the edit and reactions wait for their target.
    const newest = foldTimeline(entries.slice(2), "ann");
    expect(newest.messages).toEqual([]);
  });

  it("shows unreadable and unknown messages, but drops refused own actions", () => {
    const entries: TimelineEntry[] = [
      { id: id("f"), seq: 1, sender: "bea", ts: 1, state: "failed", content: null, reason: "no key" },
      { id: id("j"), seq: 2, sender: "bea", ts: 2, state: "before_joined", content: null, reason: null },
      entry("u", "bea", { kind: "poll", question: "x" }, 3),
      {
        id: id("refused"),
        seq: null,
        sender: "ann",
        ts: 4,
        state: "failed",
        content: { kind: "reaction", target: id("u"), emoji: "👍", on: true },
        reason: "refused",
      },
      {
        id: id("refused-text"),
        seq: null,
        sender: "ann",
        ts: 5,
        state: "failed",
        content: { kind: "text", text: "did not go" },
        reason: "refused",
      },
    ];
    const timeline = foldTimeline(entries, "ann");
    expect(timeline.messages.map((message) => [message.state, message.reason])).toEqual([
      ["failed", "no key"],
      ["before_joined", null],
      ["unsupported", null],
      ["failed", "refused"],
    ]);
    expect(timeline.messages[2]?.reactions).toEqual([]);
    // The unknown kind may still be deleted by its sender.
    expect(foldTimeline([...entries, del("d", "bea", "u")], "ann").messages).toHaveLength(3);
  });

  describe("files", () => {
    it("shows a file as a message with its name and size, not as text", () => {
      const timeline = foldTimeline(
        [text("a", "ann", "see the report"), share("f", "bea", "report.pdf")],
        "ann",
      );
      const [, file] = timeline.messages;
      expect(file).toMatchObject({ state: "ok", text: null, sender: "bea", mine: false, edited: false });
      expect(file?.file).toMatchObject({ name: "report.pdf", type: "application/pdf", size: 48_213 });
      expect(JSON.stringify(file)).not.toContain(FILE_KEY); // the key is not in the view
      expect(timeline.messages[0]?.file).toBeNull();
    });

    it("shows an own file waiting for its ack as pending", () => {
      const [file] = foldTimeline([share("f", "ann", "a.pdf", undefined, null)], "ann").messages;
      expect(file?.state).toBe("pending");
      expect(file?.file?.name).toBe("a.pdf");
    });

    it("puts a file with a parent in the parent's thread, and files can have threads", () => {
      const entries = [
        text("p", "ann", "send me the slides"),
        share("f", "bea", "slides.pdf", "p"),
        share("g", "cid", "notes.pdf"),
        text("r", "ann", "thanks", "g"),
      ];
      const timeline = foldTimeline(entries, "ann");
      expect(
        timeline.messages.map((message) => [message.text ?? message.file?.name, message.replies]),
      ).toEqual([
        ["send me the slides", 1],
        ["notes.pdf", 1],
      ]);
      expect(timeline.thread(id("p"))?.replies.map((reply) => [reply.file?.name, reply.parent])).toEqual([
        ["slides.pdf", id("p")],
      ]);
      expect(timeline.thread(id("g"))?.replies.map((reply) => reply.text)).toEqual(["thanks"]);
    });

    it("lets only the sender delete a file, and nobody edit it", () => {
      const entries = [
        share("f", "bea", "report.pdf"),
        edit("e", "bea", "f", "an edit of a file"),
        del("forged", "ann", "f"),
        react("r", "ann", "f", "👍"),
      ];
      const [file] = foldTimeline(entries, "ann").messages;
      expect(file).toMatchObject({ state: "ok", text: null, edited: false });
      expect(file?.reactions.map((each) => each.emoji)).toEqual(["👍"]);
      expect(foldTimeline([...entries, del("d", "bea", "f")], "ann").messages).toEqual([]);
    });

    it("shows a file content that is not what §8.2 says as unsupported", () => {
      const bad = entry("x", "bea", {
        kind: "file",
        file: "nope",
        key: FILE_KEY,
        name: "x",
        type: "",
        size: 1,
      });
      const [message] = foldTimeline([bad], "ann").messages;
      expect(message).toMatchObject({ state: "unsupported", text: null, file: null });
    });
  });
});
