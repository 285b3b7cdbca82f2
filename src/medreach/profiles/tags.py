"""The tag catalogue: the built-in tags (values from the customer table), rule tags (a condition tree over the
store), imported tags (a CSV of user_id,value) and the health tags (values in the health table only); how their
values are computed (Ibis, so DuckDB and Spark agree), and the words no tag may contain.

A value row is (user_id, tag, value, score, evidence, computed_at). Built-in tags carry no evidence in the row:
their evidence is the named columns of the customer's row of the same build (`Builtin.evidence`), read beside it.
A rule tag's evidence names the definition's version; an imported one names its file.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from medreach.core.errors import AppError
from medreach.profiles import health, store

BANNED_FILE = Path(__file__).parent / "data" / "banned_tag_words.toml"
LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Builtin:
    """A built-in tag: its value is the wide table's `column` as text, or the band/level it falls in."""

    code: str
    name_zh: str
    name_en: str
    family: str
    column: str
    evidence: tuple[str, ...] = ()
    edges: tuple[float, ...] = ()  # band edges (value < edge): len(labels) == len(edges) + 1
    labels: tuple[str, ...] = ()
    top: str = ""  # "category" | "brand": one row per top interest, scored by its affinity

    @property
    def definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "evidence": list(self.evidence)}
        if self.edges:
            out.update(edges=list(self.edges), labels=list(self.labels))
        if self.top:
            out["top"] = self.top
        return out


RFM_EVIDENCE = ("recency_days", "orders", "monetary_fen", "r_score", "f_score", "m_score")
CLV_EVIDENCE = ("orders", "first_order_at", "last_order_at", "p_alive", "expected_orders_90d", "expected_value_12m_fen")
BUILTIN: tuple[Builtin, ...] = (
    Builtin("gender", "性别", "Gender", "demographic", "gender"),
    Builtin("age_band", "年龄段", "Age band", "demographic", "age_band", ("age",)),
    Builtin("is_minor", "未成年人", "Minor", "demographic", "is_minor", ("age",)),
    Builtin("city_tier", "城市等级", "City tier", "demographic", "city_tier", ("city",)),
    Builtin("region", "地区", "Region", "demographic", "region", ("city",)),
    Builtin("occupation", "职业", "Occupation", "demographic", "occupation"),
    Builtin("r_score", "R 近度评分", "R (recency) score", "consumption", "r_score", ("recency_days",)),
    Builtin("f_score", "F 频度评分", "F (frequency) score", "consumption", "f_score", ("orders",)),
    Builtin("m_score", "M 额度评分", "M (monetary) score", "consumption", "m_score", ("monetary_fen",)),
    Builtin("rfm_group", "RFM 客户分群", "RFM group", "consumption", "rfm_group", RFM_EVIDENCE),
    Builtin(
        "aov_band",
        "客单价（元）",
        "Average order value (yuan)",
        "consumption",
        "aov_fen",
        ("aov_fen", "orders", "monetary_fen"),
        (5000, 10000, 20000),
        ("0-50", "50-100", "100-200", "200+"),
    ),
    Builtin(
        "purchase_interval_band",
        "购买间隔（天）",
        "Purchase interval (days)",
        "consumption",
        "purchase_interval_days",
        ("purchase_interval_days", "orders", "first_order_at", "last_order_at"),
        (30, 60, 90),
        ("0-30", "30-60", "60-90", "90+"),
    ),
    Builtin(
        "price_sensitivity",
        "价格敏感度",
        "Price sensitivity",
        "consumption",
        "price_sensitivity",
        ("price_sensitivity", "orders"),
        (0.2, 0.5),
        LEVELS,
    ),
    Builtin(
        "churn_risk",
        "流失风险",
        "Churn risk",
        "consumption",
        "churn_risk",
        ("churn_risk", "recency_days", "purchase_interval_days", "orders"),
        (0.3, 0.6),
        LEVELS,
    ),
    Builtin(
        "p_alive",
        "活跃概率（CLV）",
        "Probability alive (CLV)",
        "consumption",
        "p_alive",
        CLV_EVIDENCE,
        (0.3, 0.7),
        LEVELS,
    ),
    Builtin(
        "expected_orders_90d",
        "未来90天预期订单",
        "Expected orders, next 90 days",
        "consumption",
        "expected_orders_90d",
        CLV_EVIDENCE,
        (0.5, 1, 2),
        ("0-0.5", "0.5-1", "1-2", "2+"),
    ),
    Builtin(
        "expected_value_12m",
        "未来12个月预期价值（元）",
        "Expected 12-month value (yuan)",
        "consumption",
        "expected_value_12m_fen",
        CLV_EVIDENCE,
        (5000, 20000, 50000),
        ("0-50", "50-200", "200-500", "500+"),
    ),
    Builtin("top_category", "偏好品类", "Favourite categories", "interest", "top_categories", top="category"),
    Builtin("top_brand", "偏好品牌", "Favourite brands", "interest", "top_brands", top="brand"),
)
BUILTIN_BY_CODE = {b.code: b for b in BUILTIN}


def health_definitions() -> list[dict[str, Any]]:
    """The catalogue rows of the health tags, one per condition of the rules (sensitive, consent-gated)."""
    rule = health.rules()
    return [
        {
            "code": health.tag_code(c.code),
            "name_zh": f"慢病：{c.name_zh}",
            "name_en": f"Chronic: {c.name_en}",
            "family": "health",
            "kind": "builtin",
            "sensitive": True,
            "definition": {"health": c.code, "rules": rule.version, "evidence": ["orders", "medicines", "refills"]},
        }
        for c in rule.conditions.values()
    ]


def builtin_definitions() -> list[dict[str, Any]]:
    rows = [
        {
            "code": b.code,
            "name_zh": b.name_zh,
            "name_en": b.name_en,
            "family": b.family,
            "kind": "builtin",
            "sensitive": False,
            "definition": b.definition,
        }
        for b in BUILTIN
    ]
    return rows + health_definitions()


def health_condition(definition: dict[str, Any]) -> str | None:
    """The condition a health tag's values come from (None for other tags)."""
    return definition.get("health")


# --- harmful words ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BannedWords:
    version: str
    words: tuple[tuple[str, str], ...]  # (normalised word, group)


@cache
def banned_words(path: Path = BANNED_FILE) -> BannedWords:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    words = tuple((normalise(w), group) for group, ws in raw["groups"].items() for w in ws)
    return BannedWords(raw["version"], words)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace(" ", "")


def banned(text: str) -> tuple[str, str] | None:
    """The (word, group) of the banned list that `text` contains, or None."""
    plain = normalise(text)
    for word, group in banned_words().words:
        if word.replace(" ", "") in plain:
            return word, group
    return None


def check_words(field: str, *texts: str) -> None:
    """Refuse (422 TAG_WORD_BANNED, the field named) a name or value with a harmful or illegal word."""
    for text in texts:
        hit = banned(text or "")
        if hit:
            raise AppError(
                422, "TAG_WORD_BANNED", field=field, word=hit[0], group=hit[1], version=banned_words().version
            )


# --- condition trees (rule tags) ------------------------------------------------------------------------------------

FIELD_OPS = {
    "string": {"eq", "ne", "in", "not_in", "is_null", "not_null"},
    "number": {"eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "between", "is_null", "not_null"},
    "bool": {"eq", "ne", "is_null", "not_null"},
    "list": {"contains", "is_null", "not_null"},
    "time": {"is_null", "not_null"},
}
TAG_OPS = {"exists", "eq", "ne", "in", "not_in", "gt", "ge", "lt", "le"}
MAX_DEPTH = 6
MAX_CONDITIONS = 50


def field_kind(name: str) -> str | None:
    t = store.CUSTOMER_COLUMNS.get(name)
    if t is None or name in ("user_id", "computed_at"):
        return None
    import pyarrow as pa

    if pa.types.is_list(t):
        return "list"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    return "string"


def _bad(path: str, reason: str) -> AppError:
    return AppError(422, "CONDITION_INVALID", field=path, reason=reason)


def check_tree(
    tree: Any, catalogue: dict[str, dict[str, Any]], path: str = "definition.when", *, segment: bool = False
) -> None:
    """Refuse a condition tree this evaluator cannot run or a tag may not use, naming the place. Rule tags read
    non-sensitive data only (health conditions and sensitive tags stay in segments, with an impact assessment),
    and tag conditions name built-in or imported tags (rule tags are computed together, so they cannot depend
    on one another). A segment's tree (`segment=True`) may also read health conditions, sensitive tags and rule
    tags (their values are in the store when a segment is computed)."""
    count = [0]

    def walk(node: Any, where: str, depth: int) -> None:
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_CONDITIONS:
            raise _bad(where, f"at most {MAX_DEPTH} levels and {MAX_CONDITIONS} conditions")
        if not isinstance(node, dict) or not node:
            raise _bad(where, "a condition is an object")
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            if set(node) != {key} or not isinstance(node[key], list):
                raise _bad(where, f"{key} takes a list of conditions and nothing else")
            for i, child in enumerate(node[key]):
                walk(child, f"{where}.{key}[{i}]", depth + 1)
        elif "not" in node:
            if set(node) != {"not"}:
                raise _bad(where, "not takes one condition and nothing else")
            walk(node["not"], f"{where}.not", depth + 1)
        elif "field" in node:
            _check_field(node, where)
        elif "tag" in node:
            _check_tag(node, where, catalogue, segment)
        elif "event" in node:
            _check_event(node, where)
        elif "health" in node:
            if not segment:
                raise AppError(422, "TAG_SENSITIVE_SOURCE", field=where)
            _check_health(node, where)
        else:
            raise _bad(where, "one of all, any, not, field, tag, event" + (", health" if segment else ""))

    walk(tree, path, 1)


def _check_field(node: dict, where: str) -> None:
    kind = field_kind(node["field"]) if isinstance(node["field"], str) else None
    if kind is None:
        raise _bad(f"{where}.field", f"no column {node['field']!r} in the customer table")
    op = node.get("op", "eq")
    if op not in FIELD_OPS[kind]:
        raise _bad(f"{where}.op", f"{op!r} does not apply to a {kind} column; one of {sorted(FIELD_OPS[kind])}")
    if set(node) - {"field", "op", "value"}:
        raise _bad(where, "a field condition has field, op and value")
    if op in ("is_null", "not_null"):
        return
    value = node.get("value")
    _check_value(f"{where}.value", kind, op, value)


def _check_value(where: str, kind: str, op: str, value: Any) -> None:
    def scalar(v: Any) -> bool:
        if kind == "number":
            return isinstance(v, int | float) and not isinstance(v, bool)
        if kind == "bool":
            return isinstance(v, bool)
        return isinstance(v, str) and len(v) <= 64

    if op in ("in", "not_in"):
        ok = isinstance(value, list) and 0 < len(value) <= 100 and all(scalar(v) for v in value)
    elif op == "between":
        ok = isinstance(value, list) and len(value) == 2 and all(scalar(v) for v in value) and value[0] <= value[1]
    elif op == "contains":
        ok = isinstance(value, str) and len(value) <= 64
    else:
        ok = scalar(value)
    if not ok:
        raise _bad(where, f"not a value for {op} on a {kind} column")


def _check_tag(node: dict, where: str, catalogue: dict[str, dict[str, Any]], segment: bool = False) -> None:
    code = node["tag"]
    spec = catalogue.get(code) if isinstance(code, str) else None
    if spec is None:
        raise _bad(f"{where}.tag", f"no tag {code!r} in the catalogue")
    if spec["sensitive"] and not segment:
        raise AppError(422, "TAG_SENSITIVE_SOURCE", field=f"{where}.tag")
    if spec["kind"] == "rule" and not segment:
        raise _bad(f"{where}.tag", "a rule tag cannot depend on another rule tag")
    if set(node) - {"tag", "op", "value"}:
        raise _bad(where, "a tag condition has tag, op and value")
    op = node.get("op", "eq" if "value" in node else "exists")
    if op not in TAG_OPS:
        raise _bad(f"{where}.op", f"one of {sorted(TAG_OPS)}")
    if op != "exists":
        _check_value(f"{where}.value", "number" if op in ("gt", "ge", "lt", "le") else "string", op, node.get("value"))


def _check_event(node: dict, where: str) -> None:
    if set(node) - {"event", "category", "min", "within_days"}:
        raise _bad(where, "an event condition has event, category, min and within_days")
    if not isinstance(node["event"], str) or not 0 < len(node["event"]) <= 64:
        raise _bad(f"{where}.event", "an event name")
    if "category" in node and not (isinstance(node["category"], str) and 0 < len(node["category"]) <= 32):
        raise _bad(f"{where}.category", "a category code")
    for key, top in (("min", 1_000_000), ("within_days", 3660)):
        value = node.get(key)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= top):
            raise _bad(f"{where}.{key}", f"a whole number from 1 to {top}")


def _check_health(node: dict, where: str) -> None:
    """A health condition (segments only): customers with the inferred condition, optionally at least a confidence
    and with a refill of one of its medicines due within `refill_within_days` days of the store's day."""
    if set(node) - {"health", "min_confidence", "refill_within_days"}:
        raise _bad(where, "a health condition has health, min_confidence and refill_within_days")
    if not isinstance(node["health"], str) or node["health"] not in health.rules().conditions:
        raise _bad(f"{where}.health", f"one of {sorted(health.rules().conditions)}")
    confidence = node.get("min_confidence")
    if confidence is not None and not (
        isinstance(confidence, int | float) and not isinstance(confidence, bool) and 0 <= confidence <= 1
    ):
        raise _bad(f"{where}.min_confidence", "a number from 0 to 1")
    days = node.get("refill_within_days")
    if days is not None and not (isinstance(days, int) and not isinstance(days, bool) and 0 <= days <= 365):
        raise _bad(f"{where}.refill_within_days", "a whole number from 0 to 365")


def reads_sensitive(tree: Any, catalogue: dict[str, dict[str, Any]]) -> bool:
    """Whether a (checked) tree reads health data: a health condition or a sensitive tag."""
    if not isinstance(tree, dict):
        return False
    if "health" in tree:
        return True
    if isinstance(tree.get("tag"), str) and catalogue.get(tree["tag"], {}).get("sensitive"):
        return True
    children: list[Any] = []
    for key in ("all", "any"):
        if isinstance(tree.get(key), list):
            children.extend(tree[key])
    if "not" in tree:
        children.append(tree["not"])
    return any(reads_sensitive(c, catalogue) for c in children)


def uses_tags(tree: Any) -> set[str]:
    """The tag codes a tree reads."""
    if isinstance(tree, dict):
        found = {tree["tag"]} if isinstance(tree.get("tag"), str) else set()
        for key in ("all", "any"):
            for child in tree.get(key, []) if isinstance(tree.get(key), list) else []:
                found |= uses_tags(child)
        if "not" in tree:
            found |= uses_tags(tree["not"])
        return found
    return set()


@dataclass(frozen=True)
class Scope:
    """What a condition tree is evaluated over: the store's tables on one backend."""

    customers: ir.Table
    tags: ir.Table
    activity: ir.Table
    as_of_day: date
    health: ir.Table | None = None  # segments only: the health table (consenting customers' rows)


def members(scope: Scope, tree: dict[str, Any]) -> ir.Table:
    """The customers (one column, user_id) a checked condition tree selects."""
    everyone = scope.customers.select("user_id")
    if "all" in tree:
        parts = [members(scope, child) for child in tree["all"]]
        return ibis.intersect(*parts, distinct=True) if len(parts) > 1 else (parts[0] if parts else everyone)
    if "any" in tree:
        parts = [members(scope, child) for child in tree["any"]]
        if not parts:
            return everyone.filter(ibis.literal(False))
        return ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0]
    if "not" in tree:
        return everyone.difference(members(scope, tree["not"]), distinct=True)
    if "field" in tree:
        c = scope.customers
        return c.filter(_predicate(c[tree["field"]], tree.get("op", "eq"), tree.get("value"))).select("user_id")
    if "tag" in tree:
        t = scope.tags.filter(scope.tags.tag == tree["tag"])
        op = tree.get("op", "eq" if "value" in tree else "exists")
        if op != "exists":
            column = t.score if op in ("gt", "ge", "lt", "le") else t.value
            t = t.filter(_predicate(column, op, tree.get("value")))
        return t.select("user_id").distinct()
    if "health" in tree:
        return _health_members(scope, tree)
    a = scope.activity
    a = a.filter((a.event == tree["event"]) & _category(a, tree.get("category")))
    if tree.get("within_days"):
        a = a.filter(a.day > scope.as_of_day - timedelta(days=tree["within_days"]))
    counted = a.group_by("user_id").aggregate(n=a["count"].sum())
    return counted.filter(counted.n >= tree.get("min", 1)).select("user_id")


def _health_members(scope: Scope, tree: dict[str, Any]) -> ir.Table:
    """Customers with the health condition (rows exist only for consenting customers, and the customer table's
    consent column must agree), at least `min_confidence`, a refill due from the store's day to `refill_within_days`
    days after it."""
    if scope.health is None:
        return scope.customers.select("user_id").filter(ibis.literal(False))
    h = scope.health.filter(scope.health.condition == tree["health"])
    if tree.get("min_confidence") is not None:
        h = h.filter(h.confidence >= tree["min_confidence"])
    if tree.get("refill_within_days") is not None:
        last = scope.as_of_day + timedelta(days=tree["refill_within_days"])
        h = h.filter(h.next_refill_date.between(scope.as_of_day, last))
    consenting = scope.customers.filter(scope.customers.consent_health_profile.fill_null(False))
    return h.select("user_id").distinct().semi_join(consenting, "user_id").select("user_id")


def _category(a: ir.Table, category: str | None) -> ir.BooleanValue:
    return a.category.isnull() if category is None else a.category == category


def _predicate(column: ir.Value, op: str, value: Any) -> ir.BooleanValue:
    if op == "is_null":
        return column.isnull()
    if op == "not_null":
        return column.notnull()
    if op == "contains":
        return column.contains(value).fill_null(False)
    if op == "in":
        return column.isin(value)
    if op == "not_in":
        return column.notin(value)
    if op == "between":
        return column.between(value[0], value[1])
    compare = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__", "le": "__le__"}
    return getattr(column, compare[op])(value)


# --- computing values ----------------------------------------------------------------------------------------------


def _stamp(at: datetime) -> ir.TimestampScalar:
    return ibis.literal(at, type=dt.Timestamp(timezone="UTC"))


def _row(t: ir.Table, code: str, value: ir.Value, score: ir.Value, at: datetime, evidence: ir.Value | None = None):
    return t.select(
        user_id=t.user_id,
        tag=ibis.literal(code),
        value=value.cast("string"),
        score=score.cast("float64"),
        evidence=evidence if evidence is not None else ibis.null("string"),
        computed_at=_stamp(at),
    )


def builtin_values(customers: ir.Table, interests: ir.Table, at: datetime) -> ir.Table:
    """Every built-in tag's rows (health tags aside: their values are the health table)."""
    parts = []
    for b in BUILTIN:
        if b.top:
            parts.append(_top_rows(interests, b, at))
            continue
        column = customers[b.column]
        if b.edges:
            value = ibis.cases(
                *[(column < edge, label) for edge, label in zip(b.edges, b.labels, strict=False)], else_=b.labels[-1]
            )
            score = column
        else:
            value = ibis.ifelse(column.cast("string") == "", ibis.null("string"), column.cast("string"))
            score = column if column.type().is_numeric() and not column.type().is_boolean() else ibis.null("float64")
        rows = _row(customers.filter(column.notnull()), b.code, value, score, at)
        parts.append(rows.filter(rows.value.notnull()))
    return ibis.union(*parts, distinct=False)


def _top_rows(interests: ir.Table, b: Builtin, at: datetime) -> ir.Table:
    mine = interests.filter(interests.kind == b.top)
    rank = ibis.row_number().over(ibis.window(group_by="user_id", order_by=[ibis.desc(mine.score.round(9)), mine.key]))
    ranked = mine.mutate(_rank=rank)
    from medreach.profiles.features import TOP_INTERESTS

    ranked = ranked.filter(ranked._rank < TOP_INTERESTS)
    return _row(ranked, b.code, ranked.key, ranked.score, at)


def rule_values(scope: Scope, code: str, definition: dict[str, Any], version: int, at: datetime) -> ir.Table:
    chosen = members(scope, definition["when"])
    evidence = json.dumps({"rule_version": version}, sort_keys=True)
    return _row(chosen, code, ibis.literal(definition["value"]), ibis.null("float64"), at, ibis.literal(evidence))


def import_values(con, lake_dir: Path, code: str, at: datetime) -> ir.Table | None:
    path = store.import_file(lake_dir, code)
    if not path.exists():
        return None
    t = con.read_parquet(str(path))
    return t.select(
        user_id=t.user_id,
        tag=ibis.literal(code),
        value=t.value,
        score=ibis.null("float64"),
        evidence=t.evidence,
        computed_at=_stamp(at),
    )
