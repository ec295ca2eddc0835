"""Run every benchmark: `python -m bench` (what `make bench` calls)."""

from bench import chain_browser, chain_verify, files_speed, protocol_speed, relay_speed


def main() -> None:
    protocol_speed.main()
    chain_verify.main()
    chain_browser.main()
    relay_speed.main()
    files_speed.main()


if __name__ == "__main__":
    main()
