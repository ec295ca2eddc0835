// Entry for bench/chain_browser.py: times verifyChain in the page itself.
import { type ChainState, sodiumReady, verifyChain } from "../src/protocol";

interface BenchResult {
  coldMs: number[];
  incrementalMs: number[];
  members: number;
}

async function run(links: unknown[], tenant: string, rounds: number): Promise<BenchResult> {
  await sodiumReady();
  const coldMs: number[] = [];
  const incrementalMs: number[] = [];
  let state: ChainState | undefined;
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    state = verifyChain(links, { tenant });
    coldMs.push(performance.now() - started);
  }
  const before = verifyChain(links.slice(0, -1), { tenant });
  for (let round = 0; round < rounds * 5; round += 1) {
    const started = performance.now();
    verifyChain(links.slice(-1), { tenant, state: before });
    incrementalMs.push(performance.now() - started);
  }
  return { coldMs, incrementalMs, members: state ? Object.keys(state.summary().members).length : 0 };
}

(globalThis as unknown as { pipoBench: { run: typeof run } }).pipoBench = { run };
