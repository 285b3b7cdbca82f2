"""The set-level cleaning of a dataset, defined once in Ibis (DuckDB or Spark), in this order:

1. exact duplicates (every declared column equal): the first imported is kept;
2. duplicates by key: the latest by `latest_by` (then the last imported) is kept;
3. rows missing a column whose policy is `drop`;
4. outliers by IQR fences or the robust (median/MAD) z-score: flagged, capped or dropped;
5. missing values filled by a constant, the median or the mode (optionally within a group).

Every step reports rows in and out, and what it flagged, capped or filled. Statistics (quartiles, medians,
modes) are computed by the engine and applied as literals, so both engines give identical rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from medreach.pipeline.cleaning import Step  # a step's name is its drop reason: duplicate_key, missing:<col>, …
from medreach.pipeline.datasets import IMPORT_ID, ROW_NO, ColumnSpec, DatasetSpec, Outliers

MAD_TO_Z = 0.6745  # the modified z-score: 0.6745 (x - median) / MAD (Iglewicz and Hoaglin)
MEAN_AD_TO_Z = 1.253314  # when MAD is 0 (over half the values equal): (x - median) / (1.253314 MeanAD)


@dataclass
class Outcome:
    table: ir.Table
    steps: list[Step] = field(default_factory=list)
    outliers: dict[str, dict[str, Any]] = field(default_factory=dict)
    filled: dict[str, dict[str, Any]] = field(default_factory=dict)
    cached: list[ir.Table] = field(default_factory=list)

    def release(self) -> None:
        for table in self.cached:
            table.release()


def _count(con, t: ir.Table) -> int:
    return int(con.execute(t.count()))


def _value_columns(spec: DatasetSpec) -> list[str]:
    return [c.name for c in spec.columns]


def drop_exact_duplicates(t: ir.Table, spec: DatasetSpec) -> ir.Table:
    first = ibis.window(group_by=_value_columns(spec), order_by=[t[IMPORT_ID], t[ROW_NO]])
    return _keep(t, ibis.row_number().over(first) == 0)


def drop_key_duplicates(t: ir.Table, spec: DatasetSpec) -> ir.Table:
    """Rows with the whole key keep only their latest copy; a row missing part of its key is left alone."""
    order = ([ibis.desc(t[spec.latest_by], nulls_first=False)] if spec.latest_by else []) + [
        ibis.desc(t[IMPORT_ID]),
        ibis.desc(t[ROW_NO]),
    ]
    latest = ibis.window(group_by=list(spec.key), order_by=order)
    keyed = ibis.and_(*[t[k].notnull() for k in spec.key])
    return _keep(t, ~keyed | (ibis.row_number().over(latest) == 0))


def _keep(t: ir.Table, condition: ir.BooleanValue) -> ir.Table:
    """Filter on a window function by way of a column (Spark cannot resolve one inside a filter)."""
    return t.mutate(_keep=condition).filter(ibis._._keep).drop("_keep")


def fences(con, t: ir.Table, column: ColumnSpec) -> tuple[float, float] | None:
    """The (lower, upper) limits outside which a value is an outlier; None when the data has no spread."""
    x, rule = t[column.name], _outlier_rule(column)
    if rule.method == "iqr":
        q = con.execute(t.aggregate(q1=x.quantile(0.25), q3=x.quantile(0.75))).iloc[0]
        if q.isna().any():
            return None
        spread = float(q.q3 - q.q1)
        return _limits(float(q.q1) - rule.threshold * spread, float(q.q3) + rule.threshold * spread)
    median = con.execute(x.median())
    if median is None or median != median:
        return None
    deviation = (x - float(median)).abs()
    mad = con.execute(deviation.median())
    if mad:
        reach = rule.threshold * float(mad) / MAD_TO_Z
    else:
        mean_ad = con.execute(deviation.mean())
        if not mean_ad:  # every value equal: nothing stands out
            return None
        reach = rule.threshold * MEAN_AD_TO_Z * float(mean_ad)
    return _limits(float(median) - reach, float(median) + reach)


def _limits(lower: float, upper: float) -> tuple[float, float]:
    """Rounded, so that engines summing in different orders draw the same line."""
    return round(lower, 4), round(upper, 4)


def _outlier_rule(column: ColumnSpec) -> Outliers:
    if column.outliers is None:
        raise ValueError(f"column {column.name} declares no outlier rule")
    return column.outliers


def treat_outliers(con, t: ir.Table, column: ColumnSpec) -> tuple[ir.Table, dict[str, Any]]:
    name, rule = column.name, _outlier_rule(column)
    limits = fences(con, t, column)
    detail: dict[str, Any] = {
        "method": rule.method,
        "action": rule.action,
        "threshold": rule.threshold,
        "lower": None,
        "upper": None,
        "count": 0,
    }
    flag = f"{name}_outlier"
    if limits is None:
        return (t if rule.action == "drop" else t.mutate(**{flag: ibis.literal(False)})), detail
    lower, upper = limits
    outside = ((t[name] < lower) | (t[name] > upper)).fill_null(False)
    detail.update(lower=lower, upper=upper, count=_count(con, t.filter(outside)))
    if rule.action == "drop":
        return t.filter(~outside), detail
    t = t.mutate(**{flag: outside})
    if rule.action == "cap":
        capped = t[name].clip(lower=lower, upper=upper)
        if column.rule.type in ("int", "money"):
            capped = capped.round().cast("int64")
        t = t.mutate(**{name: capped})
    return t, detail


def _mode(con, t: ir.Table, name: str, group_by: str | None) -> ir.Table | Any:
    """The most frequent value (ties: the smallest), overall or per group (as a table of group, value)."""
    keys = [group_by] if group_by else []
    counts = t.filter(t[name].notnull()).group_by([*keys, name]).aggregate(n=ibis._.count())
    if not group_by:
        top = con.execute(counts.order_by([ibis.desc("n"), name]).limit(1))
        return None if top.empty else top.iloc[0][name]
    rank = ibis.window(group_by=group_by, order_by=[ibis.desc(counts.n), counts[name]])
    return counts.filter(ibis.row_number().over(rank) == 0).select(group_by, _fill=counts[name])


def _typed(value: Any, column: ColumnSpec):
    if value is None:
        return None
    if column.rule.type in ("int", "money"):
        return round(float(value))
    if column.rule.type in ("float", "quantity"):
        return float(value)
    return value.item() if hasattr(value, "item") else value


def fill_missing(con, t: ir.Table, column: ColumnSpec) -> tuple[ir.Table, dict[str, Any]]:
    name, rule = column.name, column.missing
    x = t[name]
    count = _count(con, t.filter(x.isnull()))
    detail: dict[str, Any] = {"policy": rule.policy, "group_by": rule.group_by, "count": count, "value": None}
    if count == 0:
        return t, detail
    if rule.policy == "constant":
        overall = rule.value
    elif rule.policy == "median":
        overall = con.execute(x.median())
        overall = None if overall is None or overall != overall else overall
    else:
        overall = _mode(con, t, name, None)
    overall = _typed(overall, column)
    detail["value"] = overall
    fallback = ibis.literal(overall, type=x.type()) if overall is not None else ibis.null(x.type())
    if rule.group_by and rule.policy in ("median", "mode"):
        g = rule.group_by
        if rule.policy == "median":
            per_group = t.filter(x.notnull()).group_by(g).aggregate(_fill=t[name].median())
            if column.rule.type in ("int", "money"):
                per_group = per_group.mutate(_fill=per_group._fill.round().cast("int64"))
        else:
            per_group = _mode(con, t, name, g)
        joined = t.left_join(per_group, t[g] == per_group[g]).select(t, per_group._fill)
        value = joined[name].fill_null(joined._fill.cast(x.type())).fill_null(fallback)
        return joined.mutate(**{name: value}).drop("_fill"), detail
    return t.mutate(**{name: x.fill_null(fallback)}), detail


def clean(con, t: ir.Table, spec: DatasetSpec) -> Outcome:
    """Apply the dataset's policies to its staged rows; the result keeps `_import`/`_row` for ordering."""
    out = Outcome(t)

    def step(name: str, table: ir.Table, rows_in: int) -> int:
        out.table = table.cache()
        out.cached.append(out.table)
        rows = _count(con, out.table)
        out.steps.append(Step(name, rows_in, rows))
        return rows

    rows = _count(con, t)
    if spec.dedupe_exact:
        rows = step("duplicate", drop_exact_duplicates(out.table, spec), rows)
    if spec.key:
        rows = step("duplicate_key", drop_key_duplicates(out.table, spec), rows)
    for column in spec.columns:
        if column.missing.policy == "drop":
            rows = step(f"missing:{column.name}", out.table.filter(out.table[column.name].notnull()), rows)
    for column in spec.columns:
        if not column.outliers:
            continue
        table, out.outliers[column.name] = treat_outliers(con, out.table, column)
        if column.outliers.action == "drop":
            rows = step(f"outlier:{column.name}", table, rows)
        else:
            out.table = table
    for column in spec.columns:
        if column.missing.policy in ("constant", "median", "mode"):
            out.table, out.filled[column.name] = fill_missing(con, out.table, column)
    return out
