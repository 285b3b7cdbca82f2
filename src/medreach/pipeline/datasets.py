"""Datasets that connectors bring into the lake, declared in `data/datasets.toml`: their columns, how each is
normalised, and the cleaning policies and expectations that apply to them.

On disk, under `lake/datasets/<name>/`:
  raw/part-*.parquet   what connectors read, as read (every value as text), plus the import it came with
  clean/data.parquet   the cleaned table, replaced only by a run whose expectations hold
  state.json           each source's checkpoint, so an interrupted pull resumes
  imports.jsonl        one line per finished import: which source, rows read, written and rejected
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from medreach.core.errors import not_found
from medreach.pipeline.normalize import STRING_STEPS, TYPES, VALUE_STEPS, ColumnRule

SPEC_FILE = Path(__file__).parent / "data" / "datasets.toml"
ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "money": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "quantity": pa.float64(),
}
NUMERIC = ("int", "float", "money", "quantity")
# Columns every raw row carries: which import brought it and its place in that import (for "last imported").
IMPORT_ID, ROW_NO = "_import", "_row"


class SpecError(ValueError):
    """A dataset declaration that cannot work (unknown type, a policy that does not fit the column)."""


@dataclass(frozen=True)
class Missing:
    policy: str = "keep"  # keep | drop | constant | median | mode
    value: Any = None
    group_by: str | None = None


@dataclass(frozen=True)
class Outliers:
    method: str  # iqr | robust_z
    action: str  # flag | cap | drop
    threshold: float  # k for iqr, the modified z-score for robust_z


@dataclass(frozen=True)
class ColumnSpec:
    source: str  # the name in the declaration (and in sources, with `aliases`)
    name: str  # the name in the clean table
    rule: ColumnRule
    aliases: tuple[str, ...] = ()
    pii: bool = False
    missing: Missing = Missing()
    outliers: Outliers | None = None
    expect: dict[str, Any] = field(default_factory=dict)

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.rule.type]

    @property
    def numeric(self) -> bool:
        return self.rule.type in NUMERIC


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()  # clean-table names
    latest_by: str | None = None
    dedupe_exact: bool = True
    min_rows: int = 0

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def clean_schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.arrow_type) for c in self.columns])

    def match_header(self, header: list[str]) -> dict[str, ColumnSpec]:
        """Which declared column each source column is (by name or alias, case and width ignored)."""
        names = {_fold(n): c for c in self.columns for n in (c.source, c.name, *c.aliases)}
        return {h: names[_fold(h)] for h in header if _fold(h) in names}


def _fold(name: str) -> str:
    return STRING_STEPS["fullwidth"](name).strip().lower()


def _column(source: str, raw: dict, dataset: str) -> ColumnSpec:
    where = f"{dataset}.{source}"
    kind = raw.get("type", "string")
    if kind not in TYPES:
        raise SpecError(f"{where}: unknown type {kind!r}")
    steps = tuple(raw.get("normalize", ()))
    for step in steps:
        if step not in STRING_STEPS and step not in VALUE_STEPS:
            raise SpecError(f"{where}: unknown normalisation {step!r}")
    if kind == "quantity" and not raw.get("unit"):
        raise SpecError(f"{where}: a quantity needs its unit")
    missing = raw.get("missing", "keep")
    missing = Missing(missing) if isinstance(missing, str) else Missing(**missing)
    if missing.policy not in ("keep", "drop", "constant", "median", "mode"):
        raise SpecError(f"{where}: unknown missing-value policy {missing.policy!r}")
    if missing.policy == "median" and kind not in NUMERIC:
        raise SpecError(f"{where}: a median needs a numeric column")
    outliers = None
    if "outliers" in raw:
        o = raw["outliers"]
        if (
            kind not in NUMERIC
            or o.get("method") not in ("iqr", "robust_z")
            or o.get("action") not in ("flag", "cap", "drop")
        ):
            raise SpecError(f"{where}: outliers need a numeric column, method iqr|robust_z, action flag|cap|drop")
        default = 1.5 if o["method"] == "iqr" else 3.5
        outliers = Outliers(o["method"], o["action"], float(o.get("k", o.get("threshold", default))))
    rule = ColumnRule(
        type=kind,
        normalize=steps,
        timezone=raw.get("timezone", "Asia/Shanghai"),
        format=raw.get("format"),
        unit=raw.get("unit"),
        region=raw.get("region", "CN"),
    )
    return ColumnSpec(
        source=source,
        name=raw.get("rename", source),
        rule=rule,
        aliases=tuple(raw.get("aliases", ())),
        pii=bool(raw.get("pii", False)),
        missing=missing,
        outliers=outliers,
        expect=dict(raw.get("expect", {})),
    )


def parse(text: str) -> dict[str, DatasetSpec]:
    specs = {}
    for name, raw in tomllib.loads(text).items():
        columns = tuple(_column(src, col, name) for src, col in raw.get("columns", {}).items())
        names = {c.name for c in columns}
        key = tuple(raw.get("key", ()))
        for ref in (*key, raw.get("latest_by"), *(c.missing.group_by for c in columns)):
            if ref is not None and ref not in names:
                raise SpecError(f"{name}: {ref!r} is not one of its columns")
        specs[name] = DatasetSpec(
            name=name,
            title_zh=raw.get("title_zh", name),
            title_en=raw.get("title_en", name),
            description_zh=raw.get("description_zh", ""),
            description_en=raw.get("description_en", ""),
            columns=columns,
            key=key,
            latest_by=raw.get("latest_by"),
            dedupe_exact=raw.get("dedupe_exact", True),
            min_rows=int(raw.get("min_rows", 0)),
        )
    return specs


@cache
def _load(path: Path, mtime: float) -> dict[str, DatasetSpec]:
    return parse(path.read_text(encoding="utf-8"))


def all_specs(path: Path = SPEC_FILE) -> dict[str, DatasetSpec]:
    return _load(path, path.stat().st_mtime)


def get(name: str, path: Path = SPEC_FILE) -> DatasetSpec:
    specs = all_specs(path)
    if name not in specs:
        raise not_found("dataset")
    return specs[name]


@dataclass(frozen=True)
class DatasetFiles:
    lake_dir: Path
    name: str

    @property
    def root(self) -> Path:
        return self.lake_dir / "datasets" / self.name

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def clean(self) -> Path:
        return self.root / "clean" / "data.parquet"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def raw_parts(self) -> list[Path]:
        return sorted(self.raw.glob("part-*.parquet"))

    def raw_rows(self) -> int:
        return _rows(self.raw_parts())

    def clean_rows(self) -> int | None:
        return _rows([self.clean]) if self.clean.exists() else None

    @property
    def ledger(self) -> Path:
        return self.root / "imports.jsonl"

    def imports(self) -> list[dict[str, Any]]:
        """Every import whose rows are in the raw files, newest first, with what its run recorded."""
        recorded = {}
        if self.ledger.exists():
            for line in self.ledger.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                recorded[entry["import_id"]] = entry
        parts: dict[str, list[Path]] = {}
        for part in self.raw_parts():
            parts.setdefault(_import_of(part), []).append(part)
        return [
            {
                "import_id": import_id,
                "files": len(files),
                "rows": _rows(files),
                **{k: v for k, v in recorded.get(import_id, {}).items() if k != "import_id"},
            }
            for import_id, files in sorted(parts.items(), reverse=True)
        ]

    def remove_import(self, import_id: str) -> int:
        """Take an import's rows out of the raw files (a bad file, a wrong export); returns the files removed.
        The clean table changes at the next clean."""
        parts = [p for p in self.raw_parts() if _import_of(p) == import_id]
        for part in parts:
            part.unlink()
        return len(parts)

    def record_import(self, entry: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.ledger.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def save_state(self, state: dict[str, Any]) -> None:
        """Written to a temporary file and renamed, so a crash leaves the old state or the new, never half."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, default=str))
        os.replace(tmp, self.state_file)


def _import_of(part: Path) -> str:
    """The import a raw part came with: part-<import id>-<batch>.parquet."""
    return part.stem.removeprefix("part-").rsplit("-", 1)[0]


def _rows(files: list[Path]) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)
