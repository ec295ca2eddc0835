/**
 * Safety codes: a fingerprint as twelve pictures two people can compare
 * (mirrors `protocol/safety_code.py`).
 *
 * The first 72 bits of an identity's fingerprint, read as twelve 6-bit numbers
 * (most significant bit first), each naming one of 64 symbols. Each symbol has
 * a picture and an English word, so the code can be compared side by side or
 * read aloud. 72 bits put a second key with the same code out of reach of a
 * brute-force search; the full hex fingerprint is always available too.
 */

import { KeyFormatError } from "./errors";

/** How many symbols a safety code has. */
export const SAFETY_CODE_SYMBOLS = 12;

/** One symbol of a safety code: a picture and the word read aloud for it. */
export interface SafetySymbol {
  readonly emoji: string;
  readonly name: string;
}

// The same 64 symbols, in the same order, as the Python table; the emoji are
// written as code points so they stay byte-identical (some carry U+FE0F).
const TABLE: readonly (readonly [string, string])[] = [
  ["\u{1f436}", "Dog"],
  ["\u{1f431}", "Cat"],
  ["\u{1f981}", "Lion"],
  ["\u{1f40e}", "Horse"],
  ["\u{1f984}", "Unicorn"],
  ["\u{1f437}", "Pig"],
  ["\u{1f418}", "Elephant"],
  ["\u{1f430}", "Rabbit"],
  ["\u{1f43c}", "Panda"],
  ["\u{1f413}", "Rooster"],
  ["\u{1f427}", "Penguin"],
  ["\u{1f422}", "Turtle"],
  ["\u{1f41f}", "Fish"],
  ["\u{1f419}", "Octopus"],
  ["\u{1f98b}", "Butterfly"],
  ["\u{1f337}", "Flower"],
  ["\u{1f333}", "Tree"],
  ["\u{1f335}", "Cactus"],
  ["\u{1f344}", "Mushroom"],
  ["\u{1f30f}", "Globe"],
  ["\u{1f319}", "Moon"],
  ["\u{2601}\u{fe0f}", "Cloud"],
  ["\u{1f525}", "Fire"],
  ["\u{1f34c}", "Banana"],
  ["\u{1f34e}", "Apple"],
  ["\u{1f353}", "Strawberry"],
  ["\u{1f33d}", "Corn"],
  ["\u{1f355}", "Pizza"],
  ["\u{1f382}", "Cake"],
  ["\u{2764}\u{fe0f}", "Heart"],
  ["\u{1f600}", "Smiley"],
  ["\u{1f916}", "Robot"],
  ["\u{1f3a9}", "Hat"],
  ["\u{1f453}", "Glasses"],
  ["\u{1f527}", "Spanner"],
  ["\u{1f385}", "Santa"],
  ["\u{1f44d}", "Thumbs Up"],
  ["\u{2602}\u{fe0f}", "Umbrella"],
  ["\u{231b}", "Hourglass"],
  ["\u{23f0}", "Clock"],
  ["\u{1f381}", "Gift"],
  ["\u{1f4a1}", "Light Bulb"],
  ["\u{1f4d5}", "Book"],
  ["\u{270f}\u{fe0f}", "Pencil"],
  ["\u{1f4ce}", "Paperclip"],
  ["\u{2702}\u{fe0f}", "Scissors"],
  ["\u{1f512}", "Lock"],
  ["\u{1f511}", "Key"],
  ["\u{1f528}", "Hammer"],
  ["\u{260e}\u{fe0f}", "Telephone"],
  ["\u{1f3c1}", "Flag"],
  ["\u{1f682}", "Train"],
  ["\u{1f6b2}", "Bicycle"],
  ["\u{2708}\u{fe0f}", "Aeroplane"],
  ["\u{1f680}", "Rocket"],
  ["\u{1f3c6}", "Trophy"],
  ["\u{26bd}", "Ball"],
  ["\u{1f3b8}", "Guitar"],
  ["\u{1f3ba}", "Trumpet"],
  ["\u{1f514}", "Bell"],
  ["\u{2693}", "Anchor"],
  ["\u{1f3a7}", "Headphones"],
  ["\u{1f4c1}", "Folder"],
  ["\u{1f4cc}", "Pin"],
];

/** The 64 symbols; a 6-bit number picks one. */
export const SAFETY_SYMBOLS: readonly SafetySymbol[] = Object.freeze(
  TABLE.map(([emoji, name]) => Object.freeze({ emoji, name })),
);

/**
 * The twelve symbols for a 32-byte fingerprint.
 *
 * @throws {@link KeyFormatError} if `fingerprint` is not 32 bytes.
 */
export function safetyCode(fingerprint: Uint8Array): SafetySymbol[] {
  if (fingerprint.length !== 32) {
    throw new KeyFormatError("a fingerprint is 32 bytes");
  }
  const symbols: SafetySymbol[] = [];
  // 72 bits = three groups of 24 bits = three groups of four 6-bit symbols.
  for (let group = 0; group < 3; group++) {
    const offset = group * 3;
    const bits =
      ((fingerprint[offset] ?? 0) << 16) |
      ((fingerprint[offset + 1] ?? 0) << 8) |
      (fingerprint[offset + 2] ?? 0);
    for (const shift of [18, 12, 6, 0]) {
      symbols.push(symbol((bits >> shift) & 0x3f));
    }
  }
  return symbols;
}

function symbol(index: number): SafetySymbol {
  const found = SAFETY_SYMBOLS[index];
  if (found === undefined) {
    throw new Error(`no safety symbol ${index}`); // unreachable: index < 64
  }
  return found;
}
