"""Ingest rate limit: a token bucket of events per ingest token, per API replica."""

from __future__ import annotations

import time


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # token → (tokens left, last refill)

    def take(self, key: str, amount: int) -> float:
        """Take `amount` events; 0 when allowed, else the seconds to wait before retrying."""
        now = time.monotonic()
        left, last = self._buckets.get(key, (self.burst, now))
        left = min(self.burst, left + (now - last) * self.rate)
        if amount > left:
            self._buckets[key] = (left, now)
            return (amount - left) / self.rate if amount <= self.burst else float("inf")
        self._buckets[key] = (left - amount, now)
        return 0.0
