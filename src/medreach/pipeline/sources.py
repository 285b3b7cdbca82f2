"""Connector sources configured by the operator in a TOML file (`MEDREACH_PIPELINE_SOURCES`): each names its
connector kind, the dataset it feeds, an optional cron schedule, and the connector's own settings. Secrets
stay out of the file: connectors replace `${ENV_NAME}` in URLs and headers from the environment.

    [sources.erp_orders]
    kind = "database"
    dataset = "external_orders"
    schedule = "*/30 * * * *"
    url = "mysql+pymysql://reader:${ERP_DB_PASSWORD}@erp.internal/erp"
    table = "orders"
    watermark = "updated_at"
    key = ["order_no"]

A scraper source may take its settings from a per-site file: `site_file = "sites/example_pharmacy.toml"`
(relative to the sources file; keys given in the source win).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medreach.pipeline.connectors import KINDS


class SourceError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    dataset: str
    title: str
    config: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    max_attempts: int = 3


def parse(text: str, base: Path) -> dict[str, Source]:
    out = {}
    for name, raw in tomllib.loads(text).get("sources", {}).items():
        raw = dict(raw)
        kind, dataset = raw.pop("kind", None), raw.pop("dataset", None)
        if kind not in KINDS or not dataset:
            raise SourceError(f"source {name}: needs kind ({', '.join(KINDS)}) and dataset")
        if "site_file" in raw:  # a scraper's per-site settings
            raw = {**tomllib.loads((base / raw.pop("site_file")).read_text(encoding="utf-8")), **raw}
        out[name] = Source(
            name=name,
            kind=kind,
            dataset=dataset,
            title=raw.pop("title", name),
            schedule=raw.pop("schedule", None),
            max_attempts=int(raw.pop("max_attempts", 3)),
            config=raw,
        )
    return out


def load(path: Path | None) -> dict[str, Source]:
    if path is None:
        return {}
    if not path.is_file():
        raise SourceError(f"MEDREACH_PIPELINE_SOURCES: no such file {path}")
    return parse(path.read_text(encoding="utf-8"), path.parent)
