"""Login throttling: growing delays after failed logins, per account and per client IP.

A delay, not a lock: after a few free failures each further failure makes the next try wait, twice as long
every time (from the base delay up to the cap), and a success clears the account's count. While a delay runs,
every try is refused before the password is looked at, the right one too (429 LOGIN_LOCKED with Retry-After).
Nobody can lock a customer out for long with a few wrong passwords, and a guesser gets only a handful of tries
an hour.

Two counts, each with its own delays: the account (a known login by its user id, an unknown one by its
normalised form, so every spelling of a phone number shares one count and unknown logins answer exactly like
known ones) and the client IP (one address trying many accounts). A try is counted before its password is
checked and one try at a time may go ahead once a delay is over, so parallel requests gain nothing. The counts
live in the cache: Redis when configured, so every process sees the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medreach.core.cache import Cache
from medreach.core.errors import AppError
from medreach.core.settings import Settings

# How long the one try allowed after a delay holds the gate while its password is checked (a crashed
# request lets go by itself).
HOLD_SECONDS = 10


@dataclass(frozen=True)
class Scope:
    """One thing whose failures are counted: `free` failures, then delays."""

    name: str  # "account" or "ip", for the audit log
    key: str
    free: int

    @property
    def count_key(self) -> str:
        return self.key + ":failures"

    @property
    def gate_key(self) -> str:
        return self.key + ":wait"


@dataclass
class Attempt:
    """A login try admitted by `LoginThrottle.begin`; report its outcome with `failed` or `succeeded`."""

    throttle: LoginThrottle
    counts: dict[Scope, int] = field(default_factory=dict)  # this try's number in each scope
    holding: list[Scope] = field(default_factory=list)  # scopes whose gate this try holds

    def failed(self) -> list[tuple[Scope, int, int]]:
        """The try failed: start the next delay where one is due. Returns (scope, failures, delay seconds)."""
        delays = []
        for scope, n in self.counts.items():
            delay = self.throttle.delay(scope, n)
            if delay:
                self.throttle.cache.set(scope.gate_key, "1", delay)
                delays.append((scope, n, delay))
            elif scope in self.holding:
                self.throttle.cache.delete(scope.gate_key)
        return delays

    def succeeded(self, account: Scope) -> None:
        """The password was right: the account's failures are forgotten; the IP's count loses this try."""
        cache = self.throttle.cache
        cache.delete(account.count_key, account.gate_key)
        for scope in self.counts:
            if scope != account:
                self.throttle.uncount(scope)
                if scope in self.holding:
                    cache.delete(scope.gate_key)


class LoginThrottle:
    def __init__(self, cache: Cache, settings: Settings) -> None:
        self.cache, self.settings = cache, settings

    def delay(self, scope: Scope, failures: int) -> int:
        """Seconds to wait after `failures` failures: none up to `free`, then doubling from the base, capped."""
        over = failures - scope.free
        if over < 0:
            return 0
        s = self.settings
        return min(s.login_delay_max_seconds, s.login_delay_base_seconds * 2 ** min(over, 30))

    def uncount(self, scope: Scope) -> None:
        self.cache.incr(scope.count_key, self.settings.login_failure_window_seconds, amount=-1)

    def begin(self, scopes: list[Scope]) -> Attempt:
        """Count a try in every scope, or refuse it (429) if a scope is waiting out a delay."""
        attempt = Attempt(self)
        try:
            for scope in scopes:
                n = self.cache.incr(scope.count_key, self.settings.login_failure_window_seconds)
                attempt.counts[scope] = n
                if n > scope.free:  # after `free` failures only one try at a time, once the delay is over
                    if self.cache.incr(scope.gate_key, HOLD_SECONDS) > 1:
                        retry_after = max(self.cache.ttl(scope.gate_key), 1)
                        raise AppError(
                            429, "LOGIN_LOCKED", retry_after=retry_after, headers={"Retry-After": str(retry_after)}
                        )
                    attempt.holding.append(scope)
        except AppError:
            for scope in attempt.counts:  # a refused try counts nowhere and holds nothing
                self.uncount(scope)
                if scope in attempt.holding:
                    self.cache.delete(scope.gate_key)
            raise
        return attempt
