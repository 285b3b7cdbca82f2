"""Health tags (sensitive personal information, PIPL Art 28-29; COMPLIANCE 13, 18, 19): chronic conditions
inferred from purchases, with a confidence and the evidence behind it, and the next refill date of each chronic
medicine from its days of supply.

- Computed only for customers who granted `health_profile` at computation time: the build keeps the others' order
  lines out of the inference altogether (`infer` takes the consenting ids).
- Removed at once when the consent is withdrawn: accounts calls `consent_changed` (registered with
  `accounts.consents.on_change` by `profiles.tasks.install`), which takes the customer's rows out of the health
  table; and every reader checks the live ledger as well (`customer_health`), so even a build that was running
  during the withdrawal shows nothing.
- Never shown to staff without `profiles:read_health`, and every staff read is audited (service.py).

Rules (versioned, `data/health_rules.toml`): a medicine for a condition is a product of a medicine drug class in
one of the condition's categories or whose generic name has one of its class stems. Confidence grows with the
evidence: k = distinct paid orders with such a medicine, +1 when one of them is a prescription drug (a pharmacist
reviewed the prescription), +0.5 when a supporting device was bought (a blood-pressure monitor, glucose strips);
confidence = 1 - 0.5^k, at most 0.99 (one order 0.5, two 0.75, three 0.875; one Rx order 0.75).
Next refill date = the day of the last purchase of the medicine + quantity × pack size / daily dose (whole days):
the supply that purchase bought, at the labelled daily dose.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from medreach.profiles import store
from medreach.profiles.features import Inputs

RULES_FILE = Path(__file__).parent / "data" / "health_rules.toml"
PURPOSE = "health_profile"
MAX_EVIDENCE = 20  # order numbers kept in one row's evidence


@dataclass(frozen=True)
class Condition:
    code: str
    name_zh: str
    name_en: str
    categories: tuple[str, ...]
    stems: tuple[str, ...]
    supporting: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    version: str
    medicine_classes: tuple[str, ...]
    conditions: dict[str, Condition]


@cache
def rules(path: Path = RULES_FILE) -> Rules:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    conditions = {
        code: Condition(
            code,
            c["name_zh"],
            c["name_en"],
            tuple(c.get("categories", ())),
            tuple(c.get("stems", ())),
            tuple(c.get("supporting", ())),
        )
        for code, c in raw["conditions"].items()
    }
    return Rules(raw["version"], tuple(raw["medicine_classes"]), conditions)


def tag_code(condition: str) -> str:
    """The catalogue code of a condition's health tag."""
    return f"chronic_{condition}"


def infer(inputs: Inputs, consenting: ir.Table, rule: Rules | None = None) -> ir.Table:
    """One row per (customer, condition, medicine bought for it): the condition's evidence counts and the
    medicine's last purchase, for the customers in `consenting` (a table of user_id) only."""
    rule = rule or rules()
    lines = inputs.lines.semi_join(consenting, inputs.lines.user_id == consenting.user_id)
    p = inputs.products
    j = lines.join(p, lines.product_id == p.id)
    medicine = j.drug_class.isin(rule.medicine_classes)
    matched, supported = [], []
    for c in rule.conditions.values():
        named = ibis.or_(*[j.generic_name.contains(stem) for stem in c.stems]) if c.stems else ibis.literal(False)
        hit = medicine & (j.category.isin(c.categories) | named)
        matched.append(
            j.filter(hit).select(
                j.user_id,
                condition=ibis.literal(c.code),
                order_key=j.order_key,
                day=j.day,
                product_id=j.product_id,
                quantity=j.quantity,
                is_rx=j.drug_class == "rx",
                days_per_pack=ibis.ifelse(
                    j.daily_dose > 0, j.pack_size.cast("float64") / j.daily_dose, ibis.null("float64")
                ),
            )
        )
        if c.supporting:
            supported.append(
                j.filter(j.category.isin(c.supporting)).select(j.user_id, condition=ibis.literal(c.code)).distinct()
            )
    bought = ibis.union(*matched, distinct=False)
    per_condition = bought.group_by(["user_id", "condition"]).aggregate(
        orders=bought.order_key.nunique(),
        any_rx=bought.is_rx.any(),
        order_keys=bought.order_key.collect(distinct=True).sort(),
        first_day=bought.day.min(),
        last_day=bought.day.max(),
    )
    if supported:
        devices = ibis.union(*supported, distinct=True).mutate(device=ibis.literal(True))
        pc = per_condition.left_join(devices, ["user_id", "condition"])
        per_condition = pc.select(per_condition, device=pc.device.fill_null(False))
    else:
        per_condition = per_condition.mutate(device=ibis.literal(False))

    per_day = bought.group_by(["user_id", "condition", "product_id", "day"]).aggregate(
        quantity=bought.quantity.sum(), days_per_pack=bought.days_per_pack.max()
    )
    newest = ibis.row_number().over(
        ibis.window(group_by=["user_id", "condition", "product_id"], order_by=ibis.desc(per_day.day))
    )
    last = per_day.mutate(_n=newest)
    last = last.filter(last._n == 0)
    supply = (last.quantity.cast("float64") * last.days_per_pack).floor().cast("int64")
    medicines = last.select(
        "user_id",
        "condition",
        medicine_product_id=last.product_id,
        last_purchase=last.day,
        next_refill_date=ibis.ifelse(supply.notnull(), last.day + supply.as_interval("D"), ibis.null("date")),
    )
    out = medicines.join(per_condition, ["user_id", "condition"])
    return out.select(
        "user_id",
        "condition",
        "medicine_product_id",
        "last_purchase",
        "next_refill_date",
        "orders",
        "any_rx",
        "device",
        "order_keys",
        "first_day",
        "last_day",
    ).order_by(["user_id", "condition", "medicine_product_id"])


def confidence(orders: int, any_rx: bool, device: bool) -> float:
    k = orders + (1 if any_rx else 0) + (0.5 if device else 0)
    return round(min(0.99, 1 - 0.5**k), 4)


def health_table(inferred: pa.Table, rule: Rules | None = None) -> pa.Table:
    """The health table (store.HEALTH_SCHEMA) from `infer`'s rows: confidence and evidence written out."""
    rule = rule or rules()
    rows = []
    for r in inferred.to_pylist():
        evidence = {
            "rules": rule.version,
            "orders": (r["order_keys"] or [])[-MAX_EVIDENCE:],
            "order_count": r["orders"],
            "first_purchase": r["first_day"].isoformat(),
            "last_purchase": r["last_day"].isoformat(),
            "medicine_last_purchase": r["last_purchase"].isoformat(),
            "prescription_drug": bool(r["any_rx"]),
            "supporting_device": bool(r["device"]),
        }
        rows.append(
            {
                "user_id": r["user_id"],
                "condition": r["condition"],
                "confidence": confidence(r["orders"], r["any_rx"], r["device"]),
                "evidence": json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                "medicine_product_id": r["medicine_product_id"],
                "next_refill_date": r["next_refill_date"],
            }
        )
    return pa.Table.from_pylist(rows, schema=store.HEALTH_SCHEMA)


# --- reading, with the live consent -------------------------------------------------------------------------------


def consent_granted(session, user_id: int) -> bool:
    from medreach.accounts import consents

    return any(s.granted for s in consents.states(session, user_id) if s.purpose == PURPOSE)


def customer_health(session, lake_dir: Path, user_id: int) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the customer allows a health profile now, and their health rows (none without that consent)."""
    if not consent_granted(session, user_id):
        return False, []
    rows = store.health_rows(lake_dir, str(user_id))
    for row in rows:
        row["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
    return True, rows


def consent_changed(lake_dir: Path, user_id: int, purpose: str, granted: bool) -> int:
    """A consent decision changed: a withdrawn health profile takes the customer's health rows out of the store
    at once (the next build computes them again only after a new grant). Returns the rows removed."""
    if purpose != PURPOSE or granted:
        return 0
    return store.remove_health(lake_dir, str(user_id))
