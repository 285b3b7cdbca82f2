"""Flash-sale stock: in Redis when configured (one Lua script reserves atomically), else in the database
(conditional updates). Both answer the same three questions: reserve, release, remaining."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import redis
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medreach.promotions.models import FlashBuyer, FlashSale

SOLD_OUT, LIMIT_REACHED = "FLASH_SOLD_OUT", "FLASH_LIMIT_REACHED"


class FlashStock(Protocol):
    def known_sold_out(self, sale) -> bool:
        """A cheap answer before any database work: True only when certainly sold out."""

    def reserve(self, session: Session, sale: FlashSale, user_id: int, quantity: int) -> str | None:
        """Take `quantity` sale units for the user; None on success, else the reason."""

    def release(self, session: Session, sale: FlashSale, user_id: int, quantity: int) -> None: ...
    def remaining(self, session: Session, sale: FlashSale) -> int: ...


class DbFlashStock:
    """Two guarded updates in the caller's transaction: the buyer's count, then the sale's stock."""

    def known_sold_out(self, sale) -> bool:
        return False  # only the transaction knows

    def reserve(self, session, sale, user_id, quantity):
        try:
            with session.begin_nested():
                session.execute(insert(FlashBuyer).values(promotion_id=sale.promotion_id, user_id=user_id, units=0))
        except IntegrityError:
            pass  # the buyer's row exists already
        within = session.execute(
            update(FlashBuyer)
            .where(
                FlashBuyer.promotion_id == sale.promotion_id,
                FlashBuyer.user_id == user_id,
                FlashBuyer.units + quantity <= sale.per_user_limit,
            )
            .values(units=FlashBuyer.units + quantity)
        ).rowcount
        if not within:
            return LIMIT_REACHED
        taken = session.execute(
            update(FlashSale)
            .where(FlashSale.promotion_id == sale.promotion_id, FlashSale.remaining >= quantity)
            .values(remaining=FlashSale.remaining - quantity)
        ).rowcount
        if not taken:
            session.execute(
                update(FlashBuyer)
                .where(FlashBuyer.promotion_id == sale.promotion_id, FlashBuyer.user_id == user_id)
                .values(units=FlashBuyer.units - quantity)
            )
            return SOLD_OUT
        return None

    def release(self, session, sale, user_id, quantity):
        session.execute(
            update(FlashSale)
            .where(FlashSale.promotion_id == sale.promotion_id)
            .values(remaining=FlashSale.remaining + quantity)
        )
        session.execute(
            update(FlashBuyer)
            .where(FlashBuyer.promotion_id == sale.promotion_id, FlashBuyer.user_id == user_id)
            .values(units=FlashBuyer.units - quantity)
        )

    def remaining(self, session, sale):
        return session.scalar(select(FlashSale.remaining).where(FlashSale.promotion_id == sale.promotion_id)) or 0


# KEYS: remaining, buyers hash; ARGV: user, quantity, per-user limit, initial stock (loaded on first use)
_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[4]) end
local q = tonumber(ARGV[2])
local have = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if have + q > tonumber(ARGV[3]) then return -2 end
local left = tonumber(redis.call('GET', KEYS[1]))
if left < q then return -1 end
redis.call('DECRBY', KEYS[1], q)
redis.call('HINCRBY', KEYS[2], ARGV[1], q)
return left - q
"""
_RELEASE = """
redis.call('INCRBY', KEYS[1], ARGV[2])
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
if left <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
"""


class RedisFlashStock:
    """The live count lives in Redis; a reservation is one atomic script call (no DB row lock at all).
    The database row keeps the sale's configuration and its starting stock, loaded into Redis on first use."""

    def __init__(self, url: str, prefix: str = "medreach:"):
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=2)
        self.prefix = prefix
        self._reserve = self.client.register_script(_RESERVE)
        self._release = self.client.register_script(_RELEASE)

    def _keys(self, sale: FlashSale) -> list[str]:
        return [f"{self.prefix}flash:{sale.promotion_id}:remaining", f"{self.prefix}flash:{sale.promotion_id}:buyers"]

    def reserve(self, session, sale, user_id, quantity):
        result = int(
            self._reserve(keys=self._keys(sale), args=[user_id, quantity, sale.per_user_limit, sale.remaining])
        )
        return {-1: SOLD_OUT, -2: LIMIT_REACHED}.get(result)

    def release(self, session, sale, user_id, quantity):
        self._release(keys=self._keys(sale), args=[user_id, quantity])

    def known_sold_out(self, sale) -> bool:
        return self.remaining(None, sale) <= 0

    def remaining(self, session, sale):
        value = self.client.get(self._keys(sale)[0])
        return sale.remaining if value is None else int(value)


def make_flash_stock(redis_url: str | None, prefix: str = "medreach:") -> FlashStock:
    return RedisFlashStock(redis_url, prefix) if redis_url else DbFlashStock()


@dataclass(frozen=True)
class SaleRef:
    """What the rush path needs to know about a sale, cached for a few seconds per process."""

    promotion_id: int
    remaining: int
    per_user_limit: int


class SaleCache:
    def __init__(self, ttl_seconds: float = 5.0):
        self.ttl = ttl_seconds
        self._items: dict[int, tuple[SaleRef, float]] = {}  # promotion id -> (sale, valid until)

    def get(self, promotion_id: int) -> SaleRef | None:
        item = self._items.get(promotion_id)
        return item[0] if item and item[1] > time.monotonic() else None

    def put(self, sale: FlashSale) -> None:
        self._items[sale.promotion_id] = (
            SaleRef(sale.promotion_id, sale.remaining, sale.per_user_limit),
            time.monotonic() + self.ttl,
        )
