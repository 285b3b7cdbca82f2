"""The demo behaviour simulator: a believable online pharmacy's shoppers and what they do, at any scale
(1k to 1M people), seeded and reproducible.

Each person has demographics (gender, age, city) and latent health conditions drawn from their age and
gender: hypertension, diabetes and high blood lipids (chronic, refilled when the last pack runs out:
pack size / daily dose × quantity, with imperfect adherence and some who stop), allergies in the
pollen seasons, colds (more in winter, more with children at home), pregnancy, children in the household.
From these come sessions of browsing and searching, carts that are abandoned or bought, reviews, coupon
use, and the peaks of the Chinese shopping calendar (春节 stocking-up and its lull, 618, 双11, 双12).
Visitors browse anonymously first; identify (at login) stitches their anonymous id to the account, and
some people use a second device. A few crawlers and test accounts are mixed in, as in any real log, for
the cleaning steps to find.

The output is Segment records exactly as the collector stores them. Every person is generated from their
own seeded random stream, so a world is the same whatever the chunking, and one person can be
regenerated alone. `people()` also returns the ground truth (conditions, engagement) that later model
evaluations can be scored against; it is written beside the lake, never mixed into features.
"""

from __future__ import annotations

import bisect
import math
import os
import random
import shutil
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import duckdb
import holidays
import httpx
import orjson

from medreach.core.sql import sql_literal
from medreach.tracking.collector import DAY_MS, EPOCH, iso, stamp

SERVER, BROWSER = "medreach-server", "medreach-web"  # the storefront tracker's library name

# (city, tier, weight): where online pharmacy orders come from, roughly by population and e-commerce use.
CITIES = [
    ("上海", 1, 9),
    ("北京", 1, 9),
    ("深圳", 1, 7),
    ("广州", 1, 7),
    ("成都", 2, 6),
    ("杭州", 2, 6),
    ("重庆", 2, 5),
    ("武汉", 2, 5),
    ("西安", 2, 4),
    ("苏州", 2, 4),
    ("南京", 2, 4),
    ("天津", 2, 4),
    ("长沙", 2, 3),
    ("郑州", 2, 3),
    ("东莞", 2, 3),
    ("青岛", 2, 3),
    ("沈阳", 2, 2),
    ("宁波", 2, 2),
    ("昆明", 2, 2),
    ("合肥", 2, 2),
    ("福州", 3, 2),
    ("厦门", 3, 2),
    ("济南", 3, 2),
    ("哈尔滨", 3, 2),
    ("南宁", 3, 1),
    ("石家庄", 3, 1),
    ("贵阳", 3, 1),
    ("温州", 3, 1),
    ("洛阳", 4, 1),
    ("赣州", 4, 1),
    ("桂林", 4, 1),
    ("绵阳", 4, 1),
    ("岳阳", 4, 1),
    ("湛江", 4, 1),
]
# Ages of online pharmacy customers (adults only; minors are not customers).
AGE_BANDS = [((18, 24), 12), ((25, 34), 30), ((35, 44), 25), ((45, 54), 16), ((55, 64), 11), ((65, 80), 6)]

# Condition -> the categories its purchases come from (the first is the medicine itself).
CONDITION_CATEGORIES = {
    "hypertension": ("hypertension", "device_bp", "cardio"),
    "diabetes": ("diabetes", "device_glucose"),
    "hyperlipidemia": ("lipids", "cardio"),
    "allergy": ("allergy", "eye", "ent_oral"),
    "pregnancy": ("vitamins", "womens"),
    "children": ("pediatric", "device_thermo"),
}
CHRONIC = ("hypertension", "diabetes", "hyperlipidemia")
COLD_CATEGORIES = ("cold_flu", "cough", "pain_fever")
GENERAL_CATEGORIES = (
    "vitamins",
    "digestive",
    "skin",
    "personal_care",
    "health_food",
    "device_protect",
    "device_firstaid",
    "tcm_tonic",
    "eye",
    "ent_oral",
    "neuro_sleep",
    "rheumatism",
)
# A cold episode's chance by month: winter peaks.
COLD_BY_MONTH = {
    1: 0.12,
    2: 0.10,
    3: 0.07,
    4: 0.05,
    5: 0.03,
    6: 0.025,
    7: 0.025,
    8: 0.025,
    9: 0.04,
    10: 0.05,
    11: 0.08,
    12: 0.12,
}
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.50",
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; 22081212C) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
]
BOT_AGENTS = [
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "python-requests/2.32.3",
]
# What shoppers search for and do not find: typos, products the shop does not sell or may not sell online.
ZERO_RESULT_QUERIES = (
    "布落芬",
    "阿莫西休",
    "999感冒零",
    "复方甘草片",
    "曲马多",
    "进口靶向药",
    "胰岛素针头批发",
    "头孢拉定胶襄",
)
RATINGS = [5] * 55 + [4] * 28 + [3] * 10 + [2] * 4 + [1] * 3
TIERS = ((9900, 1000), (19900, 3000))  # the demo's 满99减10 / 满199减30
FREE_SHIPPING_FEN, SHIPPING_FEN = 5900, 800


@dataclass(frozen=True)
class Item:
    """A product as the simulator sees it."""

    id: int
    sku: str
    name: str
    brand: str
    category: str
    price_fen: int
    drug_class: str
    supply_days: float | None  # days one pack lasts at the daily dose (None: not a dosed medicine)
    keyword: str  # what a shopper would type to find it

    @classmethod
    def of(cls, product) -> Item:
        supply = None
        if product.daily_dose and float(product.daily_dose) > 0 and product.pack_size:
            supply = product.pack_size / float(product.daily_dose)
        tags = [t for t in (product.tags or []) if t]
        return cls(
            product.id,
            product.sku,
            product.generic_name,
            product.brand_name or "",
            product.category.code,
            product.price_fen,
            product.drug_class,
            supply,
            tags[0] if tags else product.generic_name,
        )


@dataclass
class Person:
    index: int
    user_id: str  # the customer account's id (as text, like every userId), or sim<seed>-<number> without one
    gender: str
    birth_year: int
    city: str
    city_tier: int
    conditions: tuple[str, ...]
    engagement: float
    first_day: int  # day offset of their first visit
    kind: str = "shopper"  # shopper | bot | test
    devices: list[str] = field(default_factory=list)
    key: str = ""  # sim<seed>-<number> (test<seed>-… for test accounts): names the person's message ids
    birth_date: date | None = None

    def truth(self) -> dict:
        return {
            "user_id": self.user_id,
            "kind": self.kind,
            "gender": self.gender,
            "birth_year": self.birth_year,
            "city": self.city,
            "city_tier": self.city_tier,
            "conditions": list(self.conditions),
            "engagement": round(self.engagement, 4),
            "anonymous_ids": self.devices,
        }


def shopping_calendar(start: date, days: int) -> dict[date, tuple[str, float]]:
    """Day -> (occasion, traffic multiplier) for the days that are not ordinary. 春节 dates come from the
    `holidays` package (lunar calendar); the shopping festivals are fixed dates."""
    out: dict[date, tuple[str, float]] = {}
    years = range(start.year, (start + timedelta(days=days)).year + 1)
    for y in years:
        for d, name in holidays.China(years=y, language="en_US").items():
            if "Spring Festival" in name or "Chinese New Year" in name:
                for k in range(1, 11):  # stocking up before the holiday, then a lull while couriers rest
                    out.setdefault(d - timedelta(days=k), ("春节", 1.35))
                for k in range(7):
                    out[d + timedelta(days=k)] = ("春节", 0.55)
        for k in range(1, 18):
            out[date(y, 6, k)] = ("618", 1.3)
        out[date(y, 6, 18)] = ("618", 3.0)
        for k in range(1, 11):
            out[date(y, 11, k)] = ("双11", 1.45)
        out[date(y, 11, 11)] = ("双11", 4.0)
        out[date(y, 12, 12)] = ("双12", 2.0)
    return out


class World:
    """The catalog, the calendar and the seed: everything a person's behaviour is drawn against."""

    def __init__(
        self, items: list[Item], start: date, days: int, seed: int, source_id: int, first_user_id: int | None = None
    ):
        """`first_user_id`: shopper number i signs in as the customer account `first_user_id + i` (the demo
        creates those accounts); None gives them ids of their own (`sim<seed>-<number>`), for worlds without a
        database."""
        if not items:
            raise ValueError("the catalog is empty: load the demo catalog first (medreach demo)")
        self.start, self.days, self.seed, self.source_id = start, days, seed, source_id
        self.first_user_id = first_user_id
        rng = random.Random(f"{seed}:catalog")
        self.by_category: dict[str, tuple[list[Item], list[float]]] = {}
        grouped: dict[str, list[Item]] = {}
        for item in items:
            grouped.setdefault(item.category, []).append(item)
        for code, group in sorted(grouped.items()):
            group = sorted(group, key=lambda i: i.id)
            rng.shuffle(group)  # popularity follows a Zipf curve over a seeded order
            self.by_category[code] = (group, _cumulative([1 / (r + 1) ** 1.1 for r in range(len(group))]))
        self._start_ms = (start - EPOCH.date()).days * DAY_MS
        self.calendar = shopping_calendar(start, days)
        self.day_weights = _cumulative([self._day_weight(d) for d in range(days)])
        self.peaks = [d for d in range(days) if self.calendar.get(self.date(d), ("", 1.0))[1] >= 2]

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def _day_weight(self, day: int) -> float:
        d = self.date(day)
        weekend = 1.15 if d.weekday() >= 5 else 1.0
        return weekend * self.calendar.get(d, ("", 1.0))[1]

    def occasion(self, day: int) -> str:
        return self.calendar.get(self.date(day), ("", 1.0))[0]

    def pick(self, rng: random.Random, category: str) -> Item | None:
        found = self.by_category.get(category)
        if not found:
            return None
        group, cw = found
        return group[bisect.bisect(cw, rng.random() * cw[-1])]

    def sample_day(self, rng: random.Random, after: int) -> int:
        """A day at or after `after`, weighted by the calendar (peaks draw more sessions)."""
        low = self.day_weights[after - 1] if after > 0 else 0.0
        return min(bisect.bisect(self.day_weights, low + rng.random() * (self.day_weights[-1] - low)), self.days - 1)

    def day_ms(self, day: int) -> int:
        """UTC midnight of a day offset, in epoch milliseconds."""
        return self._start_ms + day * DAY_MS


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def make_person(world: World, index: int) -> tuple[Person, random.Random]:
    rng = random.Random(f"{world.seed}:person:{index}")
    kind = "bot" if rng.random() < 0.004 else "test" if rng.random() < 0.002 else "shopper"
    gender = "female" if rng.random() < 0.58 else "male"
    ((lo, hi),) = rng.choices([b for b, _ in AGE_BANDS], weights=[w for _, w in AGE_BANDS])
    age = rng.randint(lo, hi)
    city, tier, _ = rng.choices(CITIES, weights=[c[2] for c in CITIES])[0]
    conditions = []
    if rng.random() < min(0.55, max(0.02, 0.02 + (age - 25) * 0.009)):
        conditions.append("hypertension")
    if rng.random() < min(0.25, max(0.01, 0.01 + (age - 30) * 0.004)) * (1.6 if conditions else 1):
        conditions.append("diabetes")
    if rng.random() < min(0.3, 0.03 + max(0, age - 35) * 0.004) * (1.8 if "hypertension" in conditions else 1):
        conditions.append("hyperlipidemia")
    if rng.random() < (0.2 if age < 50 else 0.12):
        conditions.append("allergy")
    if gender == "female" and 22 <= age <= 40 and rng.random() < 0.07:
        conditions.append("pregnancy")
    if 25 <= age <= 48 and rng.random() < 0.45:
        conditions.append("children")
    first_day = 0 if rng.random() < 0.4 else rng.randrange(world.days)
    key = f"{'test' if kind == 'test' else 'sim'}{world.seed}-{index:07d}"
    # Shoppers sign in as customer accounts; our own test accounts keep their test ids (the cleaning drops them).
    first_id = world.first_user_id
    person = Person(
        index=index,
        user_id=str(first_id + index) if first_id is not None and kind == "shopper" else key,
        gender=gender,
        birth_year=world.start.year - age,
        city=city,
        city_tier=tier,
        conditions=tuple(conditions),
        engagement=rng.lognormvariate(0, 0.8),
        first_day=first_day,
        kind=kind,
        key=key,
    )
    birthdays = random.Random(f"{world.seed}:birthday:{index}")  # a stream of its own: behaviour stays as it was
    person.birth_date = date(person.birth_year, birthdays.randint(1, 12), birthdays.randint(1, 28))
    person.devices.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    if kind == "shopper" and rng.random() < 0.25:
        person.devices.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    return person, rng


@dataclass(order=True)
class Intent:
    """Why a session happens: browse a category, or buy (a refill of `item`, or something for a need)."""

    day: int
    category: str = field(compare=False)
    buy: float = field(compare=False)  # the chance this session ends in an order
    item: Item | None = field(default=None, compare=False)
    quantity: int = field(default=1, compare=False)


def intents(world: World, person: Person, rng: random.Random) -> list[Intent]:
    out: list[Intent] = []
    days, first = world.days, person.first_day
    interests = [c for cond in person.conditions for c in CONDITION_CATEGORIES[cond]] * 3 + list(GENERAL_CATEGORIES)
    # Browsing: about 6 sessions a year for an average person, drawn on the calendar's weights.
    for _ in range(_poisson(rng, 6 * person.engagement * (days - first) / 365)):
        out.append(Intent(world.sample_day(rng, first), rng.choice(interests), 0.1))
    # The festival days themselves (618, 双11, 双12): many come just to stock up.
    for day in world.peaks:
        if day >= first and rng.random() < 0.05 + 0.12 * min(2.0, person.engagement):
            out.append(Intent(day, rng.choice(interests), 0.5))
    # Chronic medicines, refilled when the last purchase runs out (some buy offline, some stop).
    for cond in CHRONIC:
        if cond not in person.conditions or rng.random() > 0.6:
            continue
        item = world.pick(rng, CONDITION_CATEGORIES[cond][0])
        if item is None or not item.supply_days:
            continue
        day = first + rng.randrange(60)
        while day < days:
            quantity = rng.choice((1, 1, 2, 2, 3))
            out.append(Intent(day, item.category, 1.0, item, quantity))
            if rng.random() < 0.08:  # stopped, or moved to another pharmacy
                break
            day += max(7, round(item.supply_days * quantity * rng.uniform(0.85, 1.25)))
            if cond == "diabetes" and rng.random() < 0.3:  # test strips alongside
                out.append(Intent(day, "device_glucose", 0.7))
    # Colds, by month (children at home bring more of them home).
    cold_factor = 1.5 if "children" in person.conditions else 1.0
    for day in range(first, days, 30):
        month = world.date(day).month
        if rng.random() < COLD_BY_MONTH[month] * cold_factor:
            when = day + rng.randrange(30)
            category = (
                "pediatric" if "children" in person.conditions and rng.random() < 0.4 else rng.choice(COLD_CATEGORIES)
            )
            out.append(Intent(when, category, 0.55))
            if rng.random() < 0.4:  # came back the next day for something else
                out.append(Intent(when + 1, rng.choice(COLD_CATEGORIES), 0.4))
    # Allergy seasons: spring pollen (March to May) and autumn (September).
    if "allergy" in person.conditions:
        for day in range(first, days):
            d = world.date(day)
            if ((d.month in (3, 4, 5) and d.day == 10) or (d.month == 9 and d.day == 5)) and rng.random() < 0.6:
                out.append(Intent(day + rng.randrange(20), rng.choice(("allergy", "eye")), 0.5))
    if "pregnancy" in person.conditions:
        start = first + rng.randrange(max(1, days - first))
        for k in range(3):
            if start + 30 * k < days:
                out.append(Intent(start + 30 * k, rng.choice(CONDITION_CATEGORIES["pregnancy"]), 0.6))
    out.sort()
    return [i for i in out if i.day < days]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


class Recorder:
    """Builds one person's Segment records in time order."""

    def __init__(self, world: World, person: Person, rng: random.Random):
        self.world, self.person, self.rng = world, person, rng
        self.records: list[dict] = []
        self.user_agent = (
            BOT_AGENTS[person.index % len(BOT_AGENTS)] if person.kind == "bot" else rng.choice(USER_AGENTS)
        )
        self.logged_in: set[str] = set()  # devices that have identified
        self.registered = False
        self.clock = 0  # the end of the latest session
        self._n = 0

    def emit(
        self,
        t: int,
        kind: str,
        library: str,
        device: str,
        *,
        event: str = "",
        name: str = "",
        properties: dict | None = None,
        traits: dict | None = None,
        page: dict | None = None,
        campaign: dict | None = None,
    ) -> None:
        self._n += 1
        record = {
            "type": kind,
            "messageId": f"{self.person.key}-{self._n}",
            "anonymousId": device,
            "timestamp": stamp(t),
            "receivedAt": stamp(t + self.rng.randrange(80, 2500)),
            "sourceId": self.world.source_id,
        }
        if event:
            record["event"] = event
        if name:
            record["name"] = name
        if device in self.logged_in:
            record["userId"] = self.person.user_id
        if properties is not None:
            record["properties"] = properties
        if traits is not None:
            record["traits"] = traits
        context: dict = {"library": {"name": library}}
        if library == BROWSER:
            context.update(locale="zh-CN", userAgent=self.user_agent)
            if page:
                context["page"] = page
            if campaign:
                context["campaign"] = campaign
        record["context"] = context
        self.records.append(record)

    def session(self, intent: Intent) -> None:
        rng, world = self.rng, self.world
        device = (
            self.person.devices[-1] if len(self.person.devices) > 1 and rng.random() < 0.3 else self.person.devices[0]
        )
        # Sessions of one day happen one after another (a login in the first holds for the second).
        t = self.clock = max(world.day_ms(intent.day) + _time_of_day(rng), self.clock + 600_000)
        occasion = world.occasion(intent.day)
        campaign = (
            {"source": rng.choice(("wechat", "sms", "app_push")), "medium": "social", "name": occasion}
            if occasion and rng.random() < 0.5
            else None
        )

        def step(seconds=(5, 90)):
            nonlocal t
            t += rng.randint(*seconds) * 1000 + rng.randrange(1000)
            self.clock = t
            return t

        landing = {"path": "/", "referrer": "https://servicewechat.com/" if campaign else ""}
        self.emit(t, "page", BROWSER, device, name="home", page=landing, campaign=campaign)
        buying = rng.random() < min(1.0, intent.buy * (1.4 if occasion in ("618", "双11", "双12") else 1))
        if buying and device not in self.logged_in:
            self.identify(step((10, 40)), device)
        if rng.random() < 0.05:  # a search that finds nothing (the storefront records those too)
            self.emit(
                step(),
                "track",
                SERVER,
                device,
                event="Products Searched",
                properties={"query": rng.choice(ZERO_RESULT_QUERIES), "results": 0},
            )
        item = intent.item
        if item is not None:  # a refill: straight to the product
            query = item.brand or item.name
            self.emit(
                step(),
                "track",
                SERVER,
                device,
                event="Products Searched",
                properties={"query": query, "results": rng.randint(1, 12)},
            )
            viewed = [item]
        else:
            first = world.pick(rng, intent.category)
            if first is None:
                return
            if rng.random() < 0.6:
                self.emit(
                    step(),
                    "track",
                    SERVER,
                    device,
                    event="Products Searched",
                    properties={"query": first.keyword, "results": rng.randint(3, 40)},
                )
            else:
                self.emit(
                    step(),
                    "page",
                    BROWSER,
                    device,
                    name="products",
                    page={"path": f"/products?category={intent.category}"},
                )
                self.emit(
                    step((1, 5)),
                    "track",
                    SERVER,
                    device,
                    event="Product List Viewed",
                    properties={"category": intent.category},
                )
            viewed = [first] + [
                p for p in (world.pick(rng, intent.category) for _ in range(rng.randint(0, 3))) if p is not None
            ]
        for p in dict.fromkeys(viewed):
            self.emit(step(), "page", BROWSER, device, name="product", page={"path": f"/products/{p.id}"})
            self.emit(
                step((1, 3)),
                "track",
                SERVER,
                device,
                event="Product Viewed",
                properties={
                    "product_id": p.id,
                    "sku": p.sku,
                    "name": p.name,
                    "brand": p.brand,
                    "category": p.category,
                    "price": p.price_fen / 100,
                    "drug_class": p.drug_class,
                },
            )
        chosen = item or viewed[-1]
        if self.person.kind != "shopper":
            return
        if not buying and rng.random() > 0.3:
            return  # looked, left
        quantity = intent.quantity if item else rng.choice((1, 1, 1, 2))
        self.emit(
            step(),
            "track",
            SERVER,
            device,
            event="Product Added",
            properties=_line(chosen, quantity) | {"cart_id": f"{device[:8]}"},
        )
        self.emit(
            step(), "track", SERVER, device, event="Cart Viewed", properties={"products": [_line(chosen, quantity)]}
        )
        if not buying:
            return  # the abandoned cart
        if device not in self.logged_in:
            self.identify(step(), device)
        subtotal = chosen.price_fen * quantity
        discount = max((off for threshold, off in TIERS if subtotal >= threshold), default=0)
        coupon = rng.random() < (0.45 if occasion else 0.15) and subtotal - discount >= 5000
        if coupon:
            discount += 1000
        shipping = 0 if subtotal >= FREE_SHIPPING_FEN else SHIPPING_FEN
        total = subtotal - discount + shipping
        self.emit(
            step(),
            "track",
            SERVER,
            device,
            event="Checkout Started",
            properties={"value": total / 100, "currency": "CNY", "products": [_line(chosen, quantity)]},
        )
        order_id = f"S{self.world.seed}{self.person.index:07d}{len(self.records):05d}"
        if chosen.drug_class == "rx":
            self.emit(
                step((60, 300)),
                "track",
                SERVER,
                device,
                event="Prescription Submitted",
                properties={"kind": rng.choice(("upload", "erx")), "products": [chosen.id]},
            )
        if coupon:
            self.emit(
                step((5, 20)),
                "track",
                SERVER,
                device,
                event="Coupon Applied",
                properties={"order_id": order_id, "discount": 10.0},
            )
        self.emit(
            step((20, 120)),
            "track",
            SERVER,
            device,
            event="Order Completed",
            properties={
                "order_id": order_id,
                "total": total / 100,
                "revenue": subtotal / 100,
                "discount": discount / 100,
                "shipping": shipping / 100,
                "currency": "CNY",
                "requires_rx": chosen.drug_class == "rx",
                "products": [_line(chosen, quantity)],
            },
        )
        if rng.random() < 0.12:  # a review after it arrived
            later = t + rng.randint(3, 10) * DAY_MS + rng.randrange(600 * 60_000)
            if later < world.day_ms(world.days):
                self.emit(
                    later,
                    "track",
                    SERVER,
                    device,
                    event="Product Reviewed",
                    properties={"product_id": chosen.id, "rating": rng.choice(RATINGS)},
                )

    def identify(self, t: int, device: str) -> None:
        """Log in (registering the first time): the identify call that stitches this device to the account."""
        self.logged_in.add(device)
        traits = {
            "gender": self.person.gender,
            "birthday": self.person.birth_date.isoformat() if self.person.birth_date else None,
            "address": {"city": self.person.city},
        }
        if not self.registered:
            traits["createdAt"] = stamp(t)
        self.registered = True
        self.emit(t, "identify", BROWSER, device, traits=traits)

    def crawl(self, day: int) -> None:
        """A crawler: hundreds of product pages in minutes, no cookies kept (a new anonymous id each visit)."""
        rng = self.rng
        t = self.world.day_ms(day) + _time_of_day(rng)
        device = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        for _ in range(rng.randint(30, 150)):
            category = rng.choice(list(self.world.by_category))
            p = self.world.pick(rng, category)
            if p is None:  # never: by_category holds only categories with items
                continue
            t += rng.randint(200, 1500)
            self.emit(t, "page", BROWSER, device, name="product", page={"path": f"/products/{p.id}"})


def _line(p: Item, quantity: int) -> dict:
    return {"product_id": p.id, "sku": p.sku, "quantity": quantity, "price": p.price_fen / 100}


_HOURS = _cumulative([2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 8, 10, 9, 7, 7, 7, 7, 8, 10, 13, 14, 11, 6])


def _time_of_day(rng: random.Random) -> int:
    """Milliseconds after UTC midnight: Shanghai evenings and lunch breaks (Asia/Shanghai is UTC+8)."""
    hour = bisect.bisect(_HOURS, rng.random() * _HOURS[-1])
    return (hour - 8) * 3_600_000 + rng.randrange(3_600_000)


def behaviour(world: World, index: int) -> tuple[Person, list[dict]]:
    """One person and their records (time order), the same for the same world and index."""
    person, rng = make_person(world, index)
    rec = Recorder(world, person, rng)
    if person.kind == "bot":
        for _ in range(rng.randint(2, 8)):
            rec.crawl(world.sample_day(rng, person.first_day))
    else:
        for intent in intents(world, person, rng):
            rec.session(intent)
    rec.records.sort(key=lambda r: r["timestamp"])
    start, end = stamp(world.day_ms(0)), stamp(world.day_ms(world.days))
    return person, [r for r in rec.records if start <= r["timestamp"] < end]


def generate(world: World, first: int, count: int) -> Iterator[tuple[Person, list[dict]]]:
    for index in range(first, first + count):
        yield behaviour(world, index)


# --- the shoppers' customer accounts --------------------------------------------------------------------------

PROVINCES = {
    "深圳": "广东",
    "广州": "广东",
    "东莞": "广东",
    "湛江": "广东",
    "成都": "四川",
    "绵阳": "四川",
    "杭州": "浙江",
    "宁波": "浙江",
    "温州": "浙江",
    "武汉": "湖北",
    "西安": "陕西",
    "苏州": "江苏",
    "南京": "江苏",
    "长沙": "湖南",
    "岳阳": "湖南",
    "郑州": "河南",
    "洛阳": "河南",
    "青岛": "山东",
    "济南": "山东",
    "沈阳": "辽宁",
    "昆明": "云南",
    "合肥": "安徽",
    "福州": "福建",
    "厦门": "福建",
    "哈尔滨": "黑龙江",
    "南宁": "广西",
    "桂林": "广西",
    "石家庄": "河北",
    "贵阳": "贵州",
    "赣州": "江西",
}  # the municipalities (上海, 北京, 重庆, 天津) are their own region
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏建红辉宇欣怡晨浩然涵轩雨婷思佳俊博文嘉琪"
MOBILE_PREFIXES = (
    "139",
    "138",
    "137",
    "136",
    "135",
    "150",
    "151",
    "152",
    "158",
    "159",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
    "166",
    "176",
)
OCCUPATIONS = (
    ("企业职员", 30),
    ("专业技术人员", 10),
    ("个体经营", 9),
    ("工人", 8),
    ("教师", 5),
    ("医护人员", 4),
    ("公务员", 4),
    ("自由职业", 8),
    ("其他", 4),
)
# The optional purposes on the registration form (all off until ticked): each person's chance of ticking it.
CONSENT_SHARES = {"personalization": 0.6, "marketing_sms": 0.35, "marketing_email": 0.25, "health_profile": 0.2}
# The share who later change their mind on the account page: withdraw a purpose granted, grant one refused.
LATER_WITHDRAW, LATER_GRANT = 0.08, 0.03


def customer(world: World, person: Person, signed_up: datetime):
    """The customer account a signed-in shopper registered at `signed_up`: a login (a made-up mobile number,
    or an e-mail address under demo.medreach.cn for a quarter), a display name, a real name for some, the
    profile from the person's demographics, and the purposes chosen on the form (people with a chronic illness
    keep a health profile more often; e-mail marketing suits those who signed up by e-mail), some changed later.
    Drawn from a stream of its own, so the behaviour does not depend on it."""
    from medreach.accounts.demo_customers import DemoCustomer

    rng = random.Random(f"{world.seed}:account:{person.index}")
    user_id = int(person.user_id)
    by_email = rng.random() < 0.25
    # The number's last eight digits are the id scrambled one-to-one (48271 is prime to 10^8): all distinct.
    phone = None if by_email else rng.choice(MOBILE_PREFIXES) + f"{(user_id * 48271 + 20260101) % 10**8:08d}"
    female = person.gender == "female"
    surname = rng.choice(SURNAMES)
    real_name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    age = world.start.year - person.birth_year
    if age <= 22 and rng.random() < 0.6:
        occupation = "学生"
    elif age >= 60 and rng.random() < 0.75:
        occupation = "退休"
    elif rng.random() < 0.3:
        occupation = ""  # an optional field many leave empty
    else:
        occupation = rng.choices([o for o, _ in OCCUPATIONS], weights=[w for _, w in OCCUPATIONS])[0]
    chronic = any(c in CHRONIC for c in person.conditions)
    odds = dict(CONSENT_SHARES)
    odds["health_profile"] = 0.32 if chronic else 0.15
    odds["marketing_email"] = 0.45 if by_email else 0.18
    odds["marketing_sms"] = 0.2 if by_email else 0.4
    odds["personalization"] = min(0.85, 0.5 + 0.1 * person.engagement)
    choices = {"behaviour_analytics": True} | {p: rng.random() < share for p, share in odds.items()}
    end = datetime.fromtimestamp(world.day_ms(world.days) / 1000, UTC)
    changes = []
    for purpose, granted in choices.items():
        later = LATER_WITHDRAW if granted else LATER_GRANT
        if purpose != "behaviour_analytics" and rng.random() < later and end > signed_up:
            at = signed_up + (end - signed_up) * rng.uniform(0.05, 0.95)
            changes.append((purpose, not granted, at))
    return DemoCustomer(
        id=user_id,
        signed_up_at=signed_up,
        phone=phone,
        email=f"shopper{user_id}@demo.medreach.cn" if by_email else None,
        name=surname + ("女士" if female else "先生"),
        gender=person.gender,
        birth_date=person.birth_date or date(person.birth_year, 7, 1),
        city=person.city,
        region=PROVINCES.get(person.city, person.city),
        occupation=occupation,
        real_name=real_name if rng.random() < 0.45 else None,
        choices=choices,
        changes=tuple(sorted(changes, key=lambda c: c[2])),
    )


def signed_up(person: Person, records: list[dict]) -> datetime | None:
    """When a shopper with an account registered: their first sign-in (None: never signed in, no account)."""
    if not person.user_id.isdigit():
        return None
    first = next((r["timestamp"] for r in records if r["type"] == "identify"), None)
    return datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None


# --- writing a world ------------------------------------------------------------------------------------------

SIMULATOR_SOURCE = "behaviour simulator"
MODEL_VERSION = 2  # raise when the behaviour model changes: the same seed then makes a different world
CHUNK = 20_000  # people per unit of work (a worker process writes one chunk's records to one file)


@dataclass(frozen=True)
class Plan:
    users: int
    seed: int
    days: int
    end: date  # the day after the last simulated day

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days)

    def manifest(self) -> dict:
        return {
            "model": MODEL_VERSION,
            "users": self.users,
            "seed": self.seed,
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def catalog_items(session) -> list[Item]:
    from sqlalchemy import select

    from medreach.catalog.models import Product

    products = session.scalars(
        select(Product).where(Product.is_active.is_(True), Product.online_banned.is_(False)).order_by(Product.id)
    )
    return [Item.of(p) for p in products]


def _write_chunk(args) -> tuple[int, list[tuple[str, str, str]], dict[str, int], list]:
    """Worker: one chunk of people into two JSON-lines files (records, ground truth), with the identity links
    and the customer accounts of those who signed in."""
    items, plan, source_id, first_user_id, first, count, events_file, people_file = args
    world = World(items, plan.start, plan.days, plan.seed, source_id, first_user_id)
    n, links, accounts = 0, [], []
    kinds: dict[str, int] = {}
    with open(events_file, "wb") as ev, open(people_file, "wb") as pe:
        for person, records in generate(world, first, count):
            kinds[person.kind] = kinds.get(person.kind, 0) + 1
            since = signed_up(person, records)
            if since is not None:
                accounts.append(customer(world, person, since))
            pe.write(orjson.dumps(person.truth()) + b"\n")
            for r in records:
                ev.write(orjson.dumps(r) + b"\n")
                if r["type"] == "identify":
                    links.append((r["anonymousId"], r["userId"], r["messageId"]))
            n += len(records)
    return n, links, kinds, accounts


def chunks(plan: Plan, items: list[Item], source_id: int, staging: Path, first_user_id: int | None = None):
    for k, first in enumerate(range(0, plan.users, CHUNK)):
        yield (
            items,
            plan,
            source_id,
            first_user_id,
            first,
            min(CHUNK, plan.users - first),
            staging / f"events-{k:05d}.jsonl",
            staging / f"people-{k:05d}.jsonl",
        )


def _in_order(pool: ProcessPoolExecutor | None, workers: int, work):
    """Each chunk with its result, in order, the workers at most a few chunks ahead of the writer (each
    chunk waits on disk as JSON lines until the lake has it)."""
    if pool is None:
        for args in work:
            yield args, _write_chunk(args)
        return
    pending: deque = deque()
    for args in work:
        pending.append((args, pool.submit(_write_chunk, args)))
        if len(pending) > workers:
            done_args, future = pending.popleft()
            yield done_args, future.result()
    while pending:
        done_args, future = pending.popleft()
        yield done_args, future.result()


def existing_world(lake_dir: Path) -> dict | None:
    """The manifest of the simulated world in this lake, if there is one."""
    path = lake_dir / "simulation" / "manifest.json"
    return orjson.loads(path.read_bytes()) if path.exists() else None


def remove_world(session, lake_dir: Path, previous: dict) -> None:
    """Take a simulated world out of the lake (its own files), and its identity links and customer accounts
    out of the database."""
    from sqlalchemy import delete, or_

    from medreach.accounts import demo_customers
    from medreach.tracking.models import IdentityLink

    seed = previous["seed"]
    for f in (lake_dir / "events").glob(f"day=*/sim{seed}-*.parquet"):
        f.unlink()
    session.execute(
        delete(IdentityLink).where(
            or_(
                IdentityLink.message_id.like(f"sim{seed}-%"),  # each link names the identify call that made it
                IdentityLink.user_id.like(f"sim{seed}-%"),
                IdentityLink.user_id.like(f"test{seed}-%"),
            )
        )
    )
    session.commit()
    demo_customers.remove(session)
    shutil.rmtree(lake_dir / "simulation", ignore_errors=True)


def write_lake(
    session_factory,
    lake_dir: Path,
    staging: Path,
    plan: Plan,
    workers: int = 0,
    advance=lambda people, events: None,
    previous: dict | None = None,
) -> dict:
    """Simulate `plan` in bulk into the lake (the compaction's own schema and layout; files named
    `sim<seed>-…` so the world can be replaced), the signed-in shoppers' customer accounts (ids reserved up
    front: shopper i is account first_user_id + i) and the identity links into the database, and the ground
    truth beside the lake in simulation/people.parquet. `previous`: the manifest of the world this one replaces
    (its ids are not handed out again). Returns the manifest."""
    from sqlalchemy import insert

    from medreach.accounts import demo_customers
    from medreach.tracking import lake
    from medreach.tracking.models import IdentityLink
    from medreach.tracking.service import internal_source

    with session_factory() as s:
        items = catalog_items(s)
        source_id = internal_source(s, SIMULATOR_SOURCE, "import")
        World(items, plan.start, plan.days, plan.seed, source_id)  # fail early on an empty catalog
        above = (previous.get("first_user_id") or 0) + previous["users"] if previous else 0
        first_user_id = demo_customers.reserve_ids(s, plan.users, above)
    staging.mkdir(parents=True, exist_ok=True)
    workers = workers or min(os.cpu_count() or 1, max(1, plan.users // CHUNK))
    total, people_files, customers = 0, [], 0
    kinds: dict[str, int] = {}
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 1 else None
    work = chunks(plan, items, source_id, staging, first_user_id)
    try:
        for args, (n, links, chunk_kinds, accounts) in _in_order(pool, workers, work):
            events_file, people_file = args[6], args[7]
            lake.compact([events_file], lake_dir, staging / "done", prefix=f"sim{plan.seed}")
            shutil.rmtree(staging / "done")  # the chunk is in the lake now
            with session_factory() as s:
                customers += demo_customers.create(s, accounts)
                for k in range(0, len(links), 5000):
                    s.execute(
                        insert(IdentityLink),
                        [
                            {"anonymous_id": a, "user_id": u, "via": "identify", "message_id": m}
                            for a, u, m in links[k : k + 5000]
                        ],
                    )
                s.commit()
            total += n
            for kind, c in chunk_kinds.items():
                kinds[kind] = kinds.get(kind, 0) + c
            people_files.append(people_file)
            advance(args[5], n)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    folder = lake_dir / "simulation"
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        files = ", ".join(sql_literal(f) for f in people_files)
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(anonymous_ids AS VARCHAR[]) AS anonymous_ids) "
            f"FROM read_json([{files}], format='newline_delimited') ORDER BY user_id) "
            f"TO {sql_literal(folder / 'people.parquet')} (FORMAT PARQUET, COMPRESSION ZSTD)"
        )
    finally:
        con.close()
    shutil.rmtree(staging, ignore_errors=True)
    manifest = plan.manifest() | {
        "events": total,
        "people": kinds,
        "via": "lake",
        "source_id": source_id,
        "first_user_id": first_user_id,
        "accounts": customers,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def send(
    session_factory,
    url: str,
    write_key: str,
    plan: Plan,
    advance=lambda people, events: None,
    batch_events: int = 500,
    batch_bytes: int = 450_000,
) -> dict:
    """Simulate `plan` through a running collector's /v1/import (as any Segment client would), in batches of
    up to 500 events and under the 500 KB limit; every batch must be accepted whole."""
    with session_factory() as s:
        items = catalog_items(s)
    world = World(items, plan.start, plan.days, plan.seed, 0)
    sent = 0
    kinds: dict[str, int] = {}
    batch: list[bytes] = []
    size = 0
    with httpx.Client(base_url=url.rstrip("/"), auth=(write_key, ""), timeout=60) as client:

        def flush():
            nonlocal batch, size, sent
            if batch:
                body = b'{"batch":[' + b",".join(batch) + b'],"sentAt":"' + iso(datetime.now(UTC)).encode() + b'"}'
                _post(client, body)
                sent += len(batch)
                batch, size = [], 0

        for person, records in generate(world, 0, plan.users):
            kinds[person.kind] = kinds.get(person.kind, 0) + 1
            for r in records:
                r.pop("receivedAt"), r.pop("sourceId")  # the collector sets these
                line = orjson.dumps(r)
                if len(batch) >= batch_events or size + len(line) > batch_bytes:
                    flush()
                batch.append(line)
                size += len(line) + 1
            advance(1, len(records))
        flush()
    return plan.manifest() | {"events": sent, "people": kinds, "via": url}


def _post(client: httpx.Client, body: bytes, attempts: int = 5) -> None:
    for attempt in range(attempts):
        try:
            r = client.post("/v1/import", content=body, headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * 2**attempt)
            continue
        if r.status_code < 500 and r.status_code != 429:
            break
        time.sleep(0.5 * 2**attempt)
    r.raise_for_status()
    body_out = r.json()
    if body_out.get("rejected"):
        raise RuntimeError(f"the collector rejected simulated events: {body_out['rejected'][:3]}")
