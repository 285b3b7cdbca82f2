"""Cleaning the event lake and aggregating it by day, defined once in Ibis (DuckDB or Spark).

The rules come from `data/cleaning.toml`; each step drops rows for one named reason and the run reports rows
in and out of every step. Nothing is dropped silently, and the raw lake is never changed: cleaned events go
to `lake/clean/events/` and the daily figures to `lake/marts/daily_events/`.
"""

from __future__ import annotations

import shutil
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
from ibis import _

from medreach.pipeline import engine
from medreach.tracking.lake import EVENT_SCHEMA

RULES_FILE = Path(__file__).parent / "data" / "cleaning.toml"
CHINA = ibis.interval(hours=8)  # Asia/Shanghai keeps no daylight saving: a business day is UTC+8


@dataclass(frozen=True)
class EventRules:
    dedupe_by: tuple[str, ...] = ("message_id",)
    bot_user_agents: tuple[str, ...] = ()
    max_events_per_minute: int = 60
    test_user_ids: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> EventRules:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))["events"]
        given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**given)


@dataclass
class Step:
    name: str  # the reason rows are dropped at this step
    rows_in: int
    rows_out: int

    @property
    def dropped(self) -> int:
        return self.rows_in - self.rows_out


@dataclass
class CleaningReport:
    engine: str
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0
    days: int = 0

    @property
    def rows_in(self) -> int:
        return self.steps[0].rows_in if self.steps else 0

    @property
    def rows_out(self) -> int:
        return self.steps[-1].rows_out if self.steps else 0

    def as_dict(self) -> dict:
        return {
            "engine": self.engine,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "days": self.days,
            "seconds": round(self.seconds, 3),
            "steps": [
                {"step": s.name, "rows_in": s.rows_in, "rows_out": s.rows_out, "dropped": s.dropped} for s in self.steps
            ],
        }


# --- the rules: each marks the rows it would drop ---------------------------------------------------------------
# Rows are marked in one pass and the first rule that matches is the reason; counting the reasons is then one
# query rather than one per step (which on Spark is the difference between seconds and a minute).


def duplicate(t: ibis.Table, rules: EventRules) -> ibis.Value:
    """The same event twice: keep the first received."""
    first = ibis.window(group_by=list(rules.dedupe_by), order_by=[_.received_at, _.source_id])
    return ibis.row_number().over(first) > 0


def bot(t: ibis.Table, rules: EventRules) -> ibis.Value:
    """Crawlers and scripts, by their user agent."""
    if not rules.bot_user_agents:
        return ibis.literal(False)
    agent = t.user_agent.lower()
    return t.user_agent.notnull() & ibis.or_(*[agent.contains(p.lower()) for p in rules.bot_user_agents])


def test_traffic(t: ibis.Table, rules: EventRules) -> ibis.Value:
    """Our own test accounts."""
    if not rules.test_user_ids:
        return ibis.literal(False)
    return t.user_id.notnull() & ibis.or_(*[t.user_id.like(p) for p in rules.test_user_ids])


def _as_is(expr: ibis.Table) -> ibis.Table:
    return expr


def _mark(t: ibis.Table, rules: EventRules, keep=_as_is) -> ibis.Table:
    """`mark`, with `keep` applied to the small intermediate tables (`run` computes them once and caches them,
    so the queries that count the reasons and write the clean events only stream the lake past them)."""
    # De-duplication. The window that picks the first copy would sort every row of the lake, whole, although
    # nearly every message id is seen once; so it runs only over the rows whose key repeats (found by one
    # narrow GROUP BY), and every other row is a first copy. `identical_to` (IS NOT DISTINCT FROM) makes NULL
    # keys one group, as they are one partition of the window.
    keys = list(rules.dedupe_by)
    repeated = keep(t.group_by(keys).aggregate(_copies=_.count()).filter(_._copies > 1).select(*keys))
    same_key = [t[k].identical_to(repeated[k]) for k in keys]
    copies = t.semi_join(repeated, same_key)
    copies = keep(copies.mutate(_dup=duplicate(copies, rules)))
    t = t.anti_join(repeated, same_key).mutate(_dup=ibis.literal(False)).union(copies, distinct=False)

    t = t.mutate(_bot=bot(t, rules), _test=test_traffic(t, rules))
    # Bursts. Counting every (anonymous id, minute) is millions of groups, with a costly time-zone-aware
    # truncation per row; but more than the limit in a minute means more than the limit in that (UTC) day, so
    # the minutes are counted only for the few (anonymous id, day) pairs over the limit, found by a cheaper count.
    limit = rules.max_events_per_minute
    alive = t.filter(~t._dup & ~t._bot & t.anonymous_id.notnull()).select(
        "anonymous_id", "timestamp", _day=_.timestamp.date()
    )
    busy = alive.group_by(["anonymous_id", "_day"]).aggregate(n=_.count())
    busy = keep(busy.filter(busy.n > limit).select("anonymous_id", "_day"))
    # (`identical_to`: events without a timestamp are one group, as they are one minute below.)
    suspects = alive.semi_join(busy, [alive.anonymous_id == busy.anonymous_id, alive._day.identical_to(busy._day)])
    per_minute = suspects.group_by(["anonymous_id", suspects.timestamp.truncate("m").name("minute")]).aggregate(
        n=_.count()
    )
    machines = keep(per_minute.filter(per_minute.n > limit).select("anonymous_id").distinct())
    reason = ibis.cases(
        (t._dup, "duplicate"),
        (t._bot, "bot"),
        (t.anonymous_id.isin(machines.anonymous_id), "burst"),
        (t._test, "test_traffic"),
        else_=ibis.null("string"),
    )
    return t.mutate(_reason=reason).drop("_dup", "_bot", "_test")


def mark(t: ibis.Table, rules: EventRules) -> ibis.Table:
    """`t` with `_reason`: why a row is dropped (duplicate, bot, burst, test_traffic), or NULL to keep it.
    Bursts (more events from one anonymous id in a minute than a person can send) are counted over the rows
    the earlier rules keep."""
    return _mark(t, rules)


REASONS = ("duplicate", "bot", "burst", "test_traffic")


def report_steps(counts: dict[str | None, int]) -> list[Step]:
    """Rows in and out of each rule, in order, from the count of rows per reason."""
    steps, rows = [], sum(counts.values())
    for reason in REASONS:
        dropped = counts.get(reason, 0)
        steps.append(Step(reason, rows, rows - dropped))
        rows -= dropped
    return steps


def daily_events(clean: ibis.Table) -> ibis.Table:
    """Per Shanghai business day and event: how many (canonical copies only), by how many people."""
    counted = clean.filter(clean.canonical.fill_null(True)).mutate(
        day=(clean.timestamp + CHINA).date(),
        name=ibis.coalesce(clean.event, clean.type),
        person=ibis.coalesce(clean.user_id, clean.anonymous_id),
    )
    # One grouping by person, then one by day and event, instead of two COUNT(DISTINCT)s over every event (each
    # its own large hash table in DuckDB; Spark copies the rows for each). A signed-in event's person is its
    # user_id, so the distinct user_ids are the people with at least one signed-in event.
    per_person = counted.group_by(["day", "name", "person"]).aggregate(n=_.count(), signed=_.user_id.notnull().any())
    return (
        per_person.group_by(["day", "name"])
        .aggregate(events=_.n.sum().cast("int64"), people=_.person.count(), signed_in=_.person.count(where=_.signed))
        .order_by(["day", "name"])
    )


def events_table(con, lake_dir: Path) -> ibis.Table:
    """The lake's events in the declared schema (JSON kept as text, so both engines agree)."""
    t = engine.read_events(con, lake_dir)
    columns = {name: t[name].cast("string") if kind == "JSON" else t[name] for name, (kind, _e) in EVENT_SCHEMA.items()}
    return t.select(**columns)


OUTPUTS = (Path("clean") / "events", Path("marts") / "daily_events")


def run(
    lake_dir: Path,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
    rules: EventRules | None = None,
    out_dir: Path | None = None,
) -> CleaningReport:
    """Clean the whole event lake and rebuild the daily mart under `out_dir` (default: the lake itself; the
    job writes to a staging folder and publishes it once the expectations hold); returns the report."""
    rules = rules or EventRules.load()
    report = CleaningReport(engine=engine_name)
    started = time.perf_counter()
    con = engine.connect(engine_name, spark_master)
    cached = []

    def keep(expr: ibis.Table) -> ibis.Table:
        cached.append(engine.materialize(expr))
        # Compute it now (free on DuckDB, where the cache is a table already): Spark caches lazily, and only a
        # computed cache tells its planner the table is small enough to broadcast in the joins that use it,
        # instead of shuffling the whole lake to join it.
        con.execute(cached[-1].count())
        return cached[-1]

    try:
        if not engine.has_events(lake_dir):
            return report
        # The lake is never copied: only small tables are cached (the repeated keys and their rows, the busy
        # anonymous ids, the machines' ids), and each query below streams the Parquet files past them: counting
        # the reasons reads a few narrow columns, writing the clean events reads every column once.
        marked = _mark(events_table(con, lake_dir), rules, keep)
        counts = con.to_pyarrow(marked.group_by("_reason").aggregate(n=_.count())).to_pylist()
        report.steps = report_steps({row["_reason"]: row["n"] for row in counts})
        out, mart = ((out_dir or lake_dir) / rel for rel in OUTPUTS)
        for folder in (out, mart):
            shutil.rmtree(folder, ignore_errors=True)
        engine.write_parquet(con, marked.filter(marked._reason.isnull()).drop("_reason"), out)
        # The mart from the clean files just written (a narrow read), not from the marking all over again.
        daily = keep(daily_events(engine.read_folder(con, out)))
        report.days = int(con.execute(daily.day.nunique()))
        engine.write_parquet(con, daily, mart)
    finally:
        for table in cached:
            table.release()
        engine.release(con, engine_name)
        report.seconds = time.perf_counter() - started
    return report


def publish(staging: Path, lake_dir: Path) -> None:
    """Put a staged run's clean events and daily mart in the lake in place of the previous ones."""
    for rel in OUTPUTS:
        target, old = lake_dir / rel, lake_dir / rel.parent / f".{rel.name}.old"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        (staging / rel).rename(target)
        shutil.rmtree(old, ignore_errors=True)
