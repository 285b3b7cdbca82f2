"""Coupon-code throttling: how many codes a customer, and a client IP, may try in a window.

Codes made in bulk are 12 characters from 32 (no guess finds one), but public codes are words (WELCOME10), and
without a limit a script tries a dictionary of them. Every redeem try is counted twice, against the customer
and against the client IP (many accounts behind one address), each in a fixed window that starts with the
scope's first try; over the limit in either, the try is refused before any code is looked up (429
COUPON_CODE_RATE_LIMITED with Retry-After, the seconds left in the window). A refused try counts nowhere, and a
try that redeems a code gives its count back, so a customer typing the codes they were given is never held up.

The counts live in the app's cache, as login throttling's do (accounts/throttle.py): Redis when configured, so
every process sees the same ones, this process's memory otherwise. A limit of 0 turns that scope off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medreach.core.cache import Cache
from medreach.core.errors import AppError
from medreach.core.security import sha256_hex
from medreach.core.settings import Settings


@dataclass(frozen=True)
class Scope:
    """One thing whose tries are counted: at most `limit` in a window."""

    name: str  # "customer" or "ip"
    key: str
    limit: int


@dataclass
class CodeTry:
    """A redeem try let through by `CodeThrottle.begin`; call `redeemed` when it got a coupon."""

    throttle: CodeThrottle
    counted: list[Scope] = field(default_factory=list)

    def redeemed(self) -> None:
        """The code was good: this try is given back in every scope."""
        self.throttle.uncount(self.counted)
        self.counted = []


class CodeThrottle:
    def __init__(self, cache: Cache, settings: Settings) -> None:
        self.cache, self.window = cache, max(1, settings.coupon_code_window_seconds)
        self.per_customer, self.per_ip = settings.coupon_code_tries_per_customer, settings.coupon_code_tries_per_ip

    def scopes(self, user_id: int, client_ip: str) -> list[Scope]:
        found = [
            Scope("customer", f"coupon-code:user:{user_id}", self.per_customer),
            Scope("ip", f"coupon-code:ip:{sha256_hex(client_ip)}", self.per_ip),
        ]
        return [scope for scope in found if scope.limit > 0]

    def uncount(self, scopes: list[Scope]) -> None:
        for scope in scopes:
            self.cache.incr(scope.key, self.window, amount=-1)

    def begin(self, user_id: int, client_ip: str) -> CodeTry:
        """Count a try in every scope, or refuse it (429) when a scope has used up its window."""
        attempt = CodeTry(self)
        for scope in self.scopes(user_id, client_ip):
            n = self.cache.incr(scope.key, self.window)
            attempt.counted.append(scope)
            if n > scope.limit:
                retry_after = max(self.cache.ttl(scope.key), 1)
                self.uncount(attempt.counted)  # refused: it counts nowhere
                raise AppError(
                    429,
                    "COUPON_CODE_RATE_LIMITED",
                    retry_after=retry_after,
                    headers={"Retry-After": str(retry_after)},
                )
        return attempt
