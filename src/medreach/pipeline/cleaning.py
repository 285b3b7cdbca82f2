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
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


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
        return {"engine": self.engine, "rows_in": self.rows_in, "rows_out": self.rows_out, "days": self.days,
                "seconds": round(self.seconds, 3),
                "steps": [{"step": s.name, "rows_in": s.rows_in, "rows_out": s.rows_out, "dropped": s.dropped}
                          for s in self.steps]}


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


def mark(t: ibis.Table, rules: EventRules) -> ibis.Table:
    """`t` with `_reason`: why a row is dropped (duplicate, bot, burst, test_traffic), or NULL to keep it.
    Bursts (more events from one anonymous id in a minute than a person can send) are counted over the rows
    the earlier rules keep."""
    t = t.mutate(_dup=duplicate(t, rules), _bot=bot(t, rules), _test=test_traffic(t, rules))
    alive = t.filter(~t._dup & ~t._bot & t.anonymous_id.notnull())
    per_minute = alive.group_by([alive.anonymous_id, alive.timestamp.truncate("m").name("minute")]).aggregate(n=_.count())
    machines = per_minute.filter(_.n > rules.max_events_per_minute).anonymous_id
    reason = ibis.cases((t._dup, "duplicate"), (t._bot, "bot"), (t.anonymous_id.isin(machines), "burst"),
                        (t._test, "test_traffic"), else_=ibis.null("string"))
    return t.mutate(_reason=reason).drop("_dup", "_bot", "_test")


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
        person=ibis.coalesce(clean.user_id, clean.anonymous_id))
    return (counted.group_by(["day", "name"])
            .aggregate(events=_.count(), people=_.person.nunique(), signed_in=_.user_id.nunique())
            .order_by(["day", "name"]))


def events_table(con, lake_dir: Path) -> ibis.Table:
    """The lake's events in the declared schema (JSON kept as text, so both engines agree)."""
    t = engine.read_events(con, lake_dir)
    columns = {name: t[name].cast("string") if kind == "JSON" else t[name] for name, (kind, _e) in EVENT_SCHEMA.items()}
    return t.select(**columns)


def run(lake_dir: Path, engine_name: str = "duckdb", spark_master: str = "local[*]",
        rules: EventRules | None = None) -> CleaningReport:
    """Clean the whole event lake and rebuild the daily mart; returns the report."""
    rules = rules or EventRules.load()
    report = CleaningReport(engine=engine_name)
    started = time.perf_counter()
    con = engine.connect(engine_name, spark_master)
    cached = []
    try:
        if not engine.has_events(lake_dir):
            return report
        events = engine.materialize(events_table(con, lake_dir))
        cached.append(events)
        marked = engine.materialize(mark(events, rules))
        cached.append(marked)
        counts = con.to_pyarrow(marked.group_by("_reason").aggregate(n=_.count())).to_pylist()
        report.steps = report_steps({row["_reason"]: row["n"] for row in counts})
        cleaned = marked.filter(marked._reason.isnull()).drop("_reason")
        out = lake_dir / "clean" / "events"
        mart = lake_dir / "marts" / "daily_events"
        for folder in (out, mart):
            shutil.rmtree(folder, ignore_errors=True)
        engine.write_parquet(con, cleaned, out)
        daily = daily_events(cleaned)
        report.days = int(con.execute(daily.day.nunique()))
        engine.write_parquet(con, daily, mart)
    finally:
        for table in cached:
            table.release()
        engine.release(con, engine_name)
        report.seconds = time.perf_counter() - started
    return report
