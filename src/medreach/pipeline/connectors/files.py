"""Files an analyst brings: CSV (UTF-8 or the GB18030 that Chinese Excel writes), Excel (.xlsx), JSON Lines and
Parquet. Every value is passed on as the file holds it; a row that cannot be read is rejected with its line."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from medreach.pipeline.connectors import Batch, ConnectorError, Record, Rejection

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}


def detect_format(name: str) -> str:
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise ConnectorError(f"unsupported file type {Path(name).suffix or name!r}: csv, xlsx, jsonl or parquet")
    return fmt


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without a BOM) if the file decodes as UTF-8, else GB18030 (a superset of GBK/GB2312)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def _plain(value: Any) -> Any:
    """Excel cells and Parquet values as JSON-friendly values (dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class FileSource:
    path: Path
    format: str = ""  # csv | excel | jsonl | parquet; default: from the file name
    batch_size: int = 5000
    kind: str = "file"
    incremental: bool = False

    @classmethod
    def from_config(cls, cfg: dict) -> FileSource:
        return cls(Path(cfg["path"]), cfg.get("format", ""), int(cfg.get("batch_size", 5000)))

    def batches(self, checkpoint: dict | None) -> Iterator[Batch]:
        """Batches of records; the checkpoint is the number of records already taken from the file."""
        if not self.path.is_file():
            raise ConnectorError(f"no such file: {self.path.name}")
        fmt = self.format or detect_format(self.path.name)
        skip = int((checkpoint or {}).get("row", 0))
        reader = {"csv": self._csv, "excel": self._excel, "jsonl": self._jsonl, "parquet": self._parquet}[fmt]
        records: list[Record] = []
        rejected: list[Rejection] = []
        row = 0
        total = self._parquet_rows() if fmt == "parquet" else None
        for item in reader():
            row += 1
            if row <= skip:
                continue
            if isinstance(item, Rejection):
                rejected.append(item)
            else:
                records.append(item)
            if len(records) + len(rejected) >= self.batch_size:
                yield Batch(records, {"row": row}, rejected, done=row, total=total)
                records, rejected = [], []
        if records or rejected or row <= skip:
            yield Batch(records, {"row": row}, rejected, done=row, total=total)

    def _csv(self) -> Iterator[Record | Rejection]:
        encoding = detect_encoding(self.path)
        with self.path.open(newline="", encoding=encoding) as f:
            sample = f.read(64 * 1024)
            f.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(f, dialect)
            header = [h.strip() for h in next(reader, [])]
            if not header or any(not h for h in header):
                raise ConnectorError("the first line must name every column")
            for fields in reader:
                if not any(fields):
                    continue  # a blank line
                if len(fields) != len(header):
                    yield Rejection(
                        "malformed_row", f"line {reader.line_num}: {len(fields)} fields, the header has {len(header)}"
                    )
                    continue
                yield dict(zip(header, fields, strict=True))

    def _excel(self) -> Iterator[Record | Rejection]:
        from openpyxl import load_workbook

        try:
            book = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as e:  # noqa: BLE001  openpyxl raises several kinds for a file that is not a workbook
            raise ConnectorError(f"not an Excel workbook: {e}") from None
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
            if not header or any(not h for h in header):
                raise ConnectorError("the first row must name every column")
            for cells in rows:
                if all(c is None for c in cells):
                    continue
                yield {h: _plain(c) for h, c in zip(header, cells, strict=False)}
        finally:
            book.close()

    def _jsonl(self) -> Iterator[Record | Rejection]:
        with self.path.open(encoding="utf-8-sig") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as e:
                    yield Rejection("invalid_json", f"line {n}: {e.msg}")
                    continue
                yield value if isinstance(value, dict) else Rejection("not_an_object", f"line {n}")

    def _parquet_rows(self) -> int:
        try:
            return pq.ParquetFile(self.path).metadata.num_rows
        except Exception as e:  # noqa: BLE001  pyarrow raises ArrowInvalid/OSError for a file that is not Parquet
            raise ConnectorError(f"not a Parquet file: {e}") from None

    def _parquet(self) -> Iterator[Record | Rejection]:
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.batch_size):
            for record in batch.to_pylist():
                yield {k: _plain(v) for k, v in record.items()}
