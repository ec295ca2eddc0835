"""verifyChain in Debian's Chromium: 10,000 links cold, and +1 link.

Builds frontend/bench/chainBench.ts into one script (Vite), loads it into a
blank page, and times the TypeScript chain verification inside the page, on
the same deterministic chain bench/chain_verify.py builds. Goals
(issue #4): at most 1 s cold, at most 20 ms for one more link.
"""

import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.chain_verify import TENANT, build_chain

REPOSITORY = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROUNDS = 3


def build_bench_script(out: Path) -> Path:
    subprocess.run(
        ["npx", "vite", "build", "--config", "bench/vite.bench.config.ts", "--outDir", str(out),
         "--logLevel", "error"],
        cwd=REPOSITORY / "frontend", check=True,
    )
    return out / "chain-bench.js"


def main() -> None:
    links = build_chain()
    with tempfile.TemporaryDirectory(prefix="pipo-bench-") as scratch:
        script = build_bench_script(Path(scratch))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.goto("about:blank")
            page.add_script_tag(content=script.read_text(encoding="utf-8"))
            result = page.evaluate(
                f"pipoBench.run({json.dumps(links)}, {json.dumps(TENANT)}, {ROUNDS})"
            )
            version = browser.version
            browser.close()
    cold = statistics.median(result["coldMs"])
    incremental = statistics.median(result["incrementalMs"])
    print(f"chain verify chromium {version}, {len(links)} links, {result['members']} members")
    print(f"chain verify chromium cold: {cold:.0f} ms (goal <= 1000 ms)")
    print(f"chain verify chromium +1 link: {incremental:.2f} ms (goal <= 20 ms)")


if __name__ == "__main__":
    main()
