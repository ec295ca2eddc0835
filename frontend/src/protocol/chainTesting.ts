/**
 * Helpers shared by the chain tests (links.test.ts, rotation.test.ts): apply
 * a link as the server receives it, and read a refusal's code. Test-only; the
 * app never imports this module.
 */

import { type ChainState, type LinkJson, parseLink } from "./chain";
import { b64uEncode } from "./encoding";
import { ChainError } from "./errors";
import type { LinkHead } from "./links";

/** The head a new link must extend. */
export function headOf(state: ChainState): LinkHead {
  return { seq: state.seq, hash: state.head === null ? null : b64uEncode(state.head) };
}

/** Apply a link as the server would receive it: JSON on the wire, parsed, then judged. */
export function apply(state: ChainState, link: LinkJson): ChainState {
  return state.apply(parseLink(JSON.parse(JSON.stringify(link))));
}

/** The ChainError code `run` raises, or "accepted". */
export function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ChainError) {
      return error.code;
    }
    throw error;
  }
  return "accepted";
}
