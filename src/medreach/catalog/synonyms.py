"""The search synonym table (data/synonyms.csv): a term and the words that mean the same to a shopper."""

from __future__ import annotations

import csv
from pathlib import Path

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.csv"


def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        return {
            row["term"].strip(): [s.strip() for s in row["synonyms"].split(";") if s.strip()]
            for row in csv.DictReader(f)
            if row.get("term")
        }
