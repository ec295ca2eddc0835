"""Start Daphne with PiPo's settings: `python -m config.serve`.

`make run` and the test suite's live server both start the server this way,
so the transport limits they run with are the ones production documents.
HOST and PORT choose the address (default 127.0.0.1:8000).
"""

import gc
import os

from config.environment import env_int, env_str


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from daphne.cli import CommandLineInterface
    from django.conf import settings

    from config import daphne_backpressure

    daphne_backpressure.install()

    host = env_str("HOST", "127.0.0.1")
    port = env_int("PORT", 8000)
    limit = str(settings.PIPO_WEBSOCKET_TRANSPORT_MAX_BYTES)
    arguments = [
        "--bind",
        host,
        "--port",
        str(port),
        "--websocket-max-message-size",
        limit,
        "--websocket-max-frame-size",
        limit,
        # Behind nginx: the scheme and client address come from X-Forwarded-*.
        "--proxy-headers" if settings.PIPO_BEHIND_PROXY else "",
        "config.asgi:application",
    ]
    # Load the whole application now, then move everything it allocated out
    # of the garbage collector's sight: full collections of a large, static
    # heap were the relay's p99 latency (MACHINE_NOTES.md, lever 4).
    import config.asgi  # noqa: F401

    gc.collect()
    gc.freeze()
    print(
        f"PiPo is serving at http://{'localhost' if host == '127.0.0.1' else host}:{port}/",
        flush=True,
    )
    CommandLineInterface().run([argument for argument in arguments if argument])


if __name__ == "__main__":
    main()
