"""Run every benchmark: `python -m bench` (what `make bench` calls)."""

from bench import protocol_speed


def main() -> None:
    protocol_speed.main()


if __name__ == "__main__":
    main()
