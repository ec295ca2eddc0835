"""verifyChain in Debian's Chromium: 10,000 links cold, and +1 link.

Builds frontend/bench/chainBench.ts into one script (Vite), loads it into a
blank page served from http://localhost (a secure context, as the app's
http://*.localhost is, so that WebCrypto's Ed25519 is there), and times the
TypeScript chain verification inside the page, on the same deterministic
chain bench/chain_verify.py builds: ``verifyChainAsync`` (WebCrypto Ed25519
off the main thread) and the synchronous ``verifyChain`` (libsodium). Goals
(issue #4): at most 1 s cold, at most 20 ms for one more link.
"""

import http.server
import json
import statistics
import subprocess
import tempfile
import threading
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
    command = ["npx", "vite", "build", "--config", "bench/vite.bench.config.ts"]
    subprocess.run(  # noqa: S603 (a fixed command)
        [*command, "--outDir", str(out), "--logLevel", "error"],
        cwd=REPOSITORY / "frontend",
        check=True,
    )
    return out / "chain-bench.js"


class _BlankPage(http.server.BaseHTTPRequestHandler):
    """Serves one empty HTML page, whatever the path."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>pipo chain bench</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    links = build_chain()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BlankPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="pipo-bench-") as scratch:
            script = build_bench_script(Path(scratch))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                page = browser.new_page()
                # localhost, not about:blank: WebCrypto's Ed25519 needs a secure context.
                page.goto(f"http://localhost:{server.server_address[1]}/")
                page.add_script_tag(content=script.read_text(encoding="utf-8"))
                result = page.evaluate(
                    f"pipoBench.run({json.dumps(links)}, {json.dumps(TENANT)}, {ROUNDS})"
                )
                version = browser.version
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    if not result["same"] or result["mismatches"]:
        raise SystemExit(
            "verifyChainAsync and verifyChain disagree: "
            + "; ".join(result["mismatches"] or ["on the valid chain"])
        )
    cold = statistics.median(result["coldMs"])
    sync_cold = statistics.median(result["syncColdMs"])
    incremental = statistics.median(result["incrementalMs"])
    sync_incremental = statistics.median(result["syncIncrementalMs"])
    ed25519 = "WebCrypto Ed25519" if result["webCryptoEd25519"] else "no WebCrypto Ed25519"
    members = result["members"]
    print(f"chain verify chromium {version}, {len(links)} links, {members} members, {ed25519}")
    print(f"chain verify chromium cold: {cold:.0f} ms (goal <= 1000 ms)")
    print(f"chain verify chromium cold (sync): {sync_cold:.0f} ms")
    print(f"chain verify chromium +1 link: {incremental:.2f} ms (goal <= 20 ms)")
    print(f"chain verify chromium +1 link (sync): {sync_incremental:.2f} ms")


if __name__ == "__main__":
    main()
