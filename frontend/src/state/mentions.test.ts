import { describe, expect, it } from "vitest";
import { mentionQueryAt, mentionSuggestions, mentionsMe, mentionsOf, splitMentions } from "./mentions";

describe("mentionsOf", () => {
  it("should find each mentioned username once, in order, in lower case", () => {
    expect(mentionsOf("@bea and @Cid, then @bea again")).toEqual(["bea", "cid"]);
    expect(mentionsOf("(@ann) @dan: hi")).toEqual(["ann", "dan"]);
    expect(mentionsOf("no mentions here")).toEqual([]);
  });

  it("should not count addresses, paths, doubled @ or a lone @", () => {
    expect(mentionsOf("mail ann@example.com or see https://host/@bea")).toEqual([]);
    expect(mentionsOf("@@bea and @ alone and @-x")).toEqual([]);
  });

  it("should drop sentence punctuation after a name", () => {
    expect(mentionsOf("thanks @bea. and @cid-")).toEqual(["bea", "cid"]);
  });

  it("should keep only members when given them, resolving trailing punctuation", () => {
    expect(mentionsOf("@bea. @zed @ann.smith", ["ann.smith", "bea"])).toEqual(["bea", "ann.smith"]);
    expect(mentionsOf("@Bea", ["BEA"])).toEqual(["bea"]);
  });

  it("should ignore mentions in code spans and fenced blocks", () => {
    expect(mentionsOf("`@bea` and ``x @cid``")).toEqual([]);
    expect(mentionsOf("```\n@bea\n```\n@cid")).toEqual(["cid"]);
    expect(mentionsOf("~~~js\n@bea unclosed")).toEqual([]);
  });
});

describe("mentionsMe", () => {
  it("should say whether the reader is named", () => {
    expect(mentionsMe("hey @bea!", "bea")).toBe(true);
    expect(mentionsMe("hey @bean", "bea")).toBe(false);
    expect(mentionsMe("hey @beatrice", "bea")).toBe(false);
    expect(mentionsMe("hey bea@home", "bea")).toBe(false);
    expect(mentionsMe("`@bea`", "bea")).toBe(false);
    expect(mentionsMe("@bea", "")).toBe(false);
  });
});

describe("splitMentions", () => {
  it("should cut text into plain pieces and known mentions, losing nothing", () => {
    const known = (name: string) => name === "bea" || name === "cid";
    const pieces = splitMentions("hi @bea, @zed and @Cid.", known);
    expect(pieces).toEqual([
      { kind: "text", text: "hi " },
      { kind: "mention", text: "@bea", username: "bea" },
      { kind: "text", text: ", @zed and " },
      { kind: "mention", text: "@Cid", username: "cid" },
      { kind: "text", text: "." },
    ]);
    expect(pieces.map((piece) => piece.text).join("")).toBe("hi @bea, @zed and @Cid.");
    expect(splitMentions("", known)).toEqual([{ kind: "text", text: "" }]);
  });
});

describe("mentionQueryAt", () => {
  it("should find the @query just before the caret", () => {
    expect(mentionQueryAt("hello @be", 9)).toEqual({ start: 6, query: "be" });
    expect(mentionQueryAt("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQueryAt("hello @Be there", 9)).toEqual({ start: 6, query: "be" });
  });

  it("should find nothing after a space, inside an address, or away from an @", () => {
    expect(mentionQueryAt("hello @bea ", 11)).toBeNull();
    expect(mentionQueryAt("ann@exa", 7)).toBeNull();
    expect(mentionQueryAt("hello", 5)).toBeNull();
  });
});

describe("mentionSuggestions", () => {
  it("should offer names starting with the query, at most the limit", () => {
    expect(mentionSuggestions("b", ["ann", "bea", "bob", "cid"])).toEqual(["bea", "bob"]);
    expect(mentionSuggestions("", ["ann", "bea", "cid"], 2)).toEqual(["ann", "bea"]);
    expect(mentionSuggestions("B", ["bea"])).toEqual(["bea"]);
  });
});
