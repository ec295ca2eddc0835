"""Token buckets for the relay, kept in this process's memory.

A bucket holds up to `burst` tokens and refills at `rate` per second; each
action takes one. Per process: with N server processes a client may get up
to N times the rate (documented in docs/OPERATIONS.md; nginx's limit_req is
the global backstop). Idle keys are dropped so the table stays small.
"""

import math
import time
from collections.abc import Callable


class TokenBuckets:
    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}
        self._last_prune = clock()

    def take(self, key: object) -> int:
        """Take one token: 0 if allowed, else the milliseconds until one is there."""
        now = self.clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._prune(now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate * 1000)) if self.rate > 0 else 60_000

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        full_after = self.burst / self.rate if self.rate > 0 else math.inf
        for key, (_tokens, then) in list(self._buckets.items()):
            if now - then >= full_after:
                del self._buckets[key]  # it would be full again: forget it
