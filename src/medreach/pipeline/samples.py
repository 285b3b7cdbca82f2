"""A believable export of orders from another system (a chain's store tills), messy the way real exports are:
Chinese headers, GB18030 encoding, full-width digits, Traditional characters from Hong Kong and Taiwan
staff, phone numbers in every layout, yuan written as ¥12.50 or 12.5元, weights in g, kg, 克 and 斤, dates in
three layouts, rows exported twice, corrected rows exported again later, blanks, and a few fat-fingered
quantities. `medreach demo` imports one so the console has a cleaned dataset to show; an analyst can download
it from the datasets page and import it again.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

PRODUCTS = [
    ("板蓝根颗粒", "板藍根顆粒", 1250, 500),
    ("阿莫西林胶囊", "阿莫西林膠囊", 2100, 300),
    ("维生素C片", "維生素C片", 800, 200),
    ("布洛芬缓释胶囊", "布洛芬緩釋膠囊", 1580, 80),
    ("复方甘草片", "複方甘草片", 650, 120),
    ("连花清瘟胶囊", "連花清瘟膠囊", 2890, 350),
    ("氯雷他定片", "氯雷他定片", 1830, 60),
    ("蒙脱石散", "蒙脫石散", 1260, 150),
]
CHANNELS = [("门店", "門店"), ("美团", "美團"), ("京东到家", "京東到家"), ("饿了么", "餓了麼")]
CITIES = [("上海", "上海"), ("北京", "北京"), ("广州", "廣州"), ("深圳", "深圳"), ("杭州", "杭州")]
HEADER = ["订单号", "手机号", "商品名称", "渠道", "城市", "数量", "单价", "金额", "重量", "下单时间", "更新时间"]
FULL = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
)


def _phone(rng: random.Random) -> str:
    digits = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return rng.choice(
        [
            digits,
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
            f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"86{digits}",
            digits.translate(FULL),
        ]
    )


def _money(fen: int, rng: random.Random) -> str:
    yuan = f"{fen / 100:.2f}"
    return rng.choice([yuan, f"¥{yuan}", f"{yuan}元", yuan.translate(FULL)])


def _weight(grams: float, rng: random.Random) -> str:
    return rng.choice([f"{grams:g}g", f"{grams / 1000:g}kg", f"{grams:g}克", f"{grams / 500:g}斤"])


def _time(at: datetime, rng: random.Random) -> str:
    return rng.choice(
        [
            at.strftime("%Y-%m-%d %H:%M"),
            at.strftime("%Y/%m/%d %H:%M:%S"),
            f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}",
        ]
    )


def external_orders(path: Path, rows: int = 600, seed: int = 7, start: datetime = datetime(2026, 10, 1)) -> Path:
    """Write the export (GB18030, as Excel on a Chinese Windows saves CSV) and return its path."""
    rng = random.Random(seed)
    lines: list[list[str]] = []
    for n in range(rows):
        name, trad, price, grams = rng.choice(PRODUCTS)
        traditional = rng.random() < 0.15
        quantity = rng.choice([1, 1, 1, 2, 2, 3]) if rng.random() > 0.01 else rng.choice([120, 300])  # typos
        at = start + timedelta(minutes=rng.randrange(60 * 24 * 50))
        line = [
            f"SO{26100000 + n}",
            _phone(rng) if rng.random() > 0.05 else "",
            trad if traditional else name,
            rng.choice(CHANNELS)[traditional],
            rng.choice(CITIES)[traditional] if rng.random() > 0.04 else "",
            str(quantity) if rng.random() > 0.03 else "",
            _money(price, rng) if rng.random() > 0.04 else "",
            _money(price * quantity, rng),
            _weight(grams * quantity, rng),
            _time(at, rng),
            _time(at, rng),
        ]
        if rng.random() < 0.01:
            line[9] = "待确认"  # not a time: the row is dropped as missing its order time
        lines.append(line)
        if rng.random() < 0.03:
            lines.append(list(line))  # exported twice
        if rng.random() < 0.04:  # corrected later (quantity and amount), exported again with a newer update time
            fixed = list(line)
            fixed[5], fixed[7] = str(quantity + 1), _money(price * (quantity + 1), rng)
            fixed[10] = _time(at + timedelta(days=1), rng)
            lines.append(fixed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="gb18030") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(lines)
    return path
