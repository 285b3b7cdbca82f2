"""Active ingredients: the curated, versioned knowledge in data/ingredients.toml, read in one place.

The catalog validates product ingredients against it, the online-sale negative list derives its banned categories
from it, and the drug-safety checks of recommendations use the same entries: `shared()` finds the ingredients two
products have in common (two cold remedies with paracetamol), `same_group()` the therapeutic groups (two statins),
`interactions()` the documented interactions between two sets of ingredients.

Generic names are read too (`from_generic_name`): composite abbreviations (酚麻美敏 → paracetamol, pseudoephedrine,
dextromethorphan, chlorphenamine) and the ingredient names and aliases a name contains, longest first, so that
伪麻黄碱 is not also read as 麻黄碱 and 双氢可待因 not as 可待因.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

INGREDIENTS_FILE = Path(__file__).parent / "data" / "ingredients.toml"
# 药品通用名称命名原则: a compound preparation's name starts with 复方 or abbreviates its ingredients
COMPOUND_MARK = "复方"


@dataclass(frozen=True)
class Ingredient:
    code: str
    name_zh: str
    name_en: str
    pinyin: str
    aliases: tuple[str, ...]
    kind: str  # chemical, tcm, biological
    classes: frozenset[str]
    group: str
    atc: str


@dataclass(frozen=True)
class Interaction:
    a: str  # an ingredient code or "group:<group>"
    b: str
    severity: str  # contraindicated, major, moderate
    effect: str
    source: str


@dataclass(frozen=True)
class NameReading:
    """What a generic name says about the ingredients: the codes it names, and whether it reads as a compound."""

    codes: frozenset[str]
    compound: bool  # 复方…, a composite abbreviation, or two or more ingredients named

    @property
    def single(self) -> str | None:
        """The one ingredient of a name that reads as a single-ingredient preparation, else None."""
        return next(iter(self.codes)) if len(self.codes) == 1 and not self.compound else None


@dataclass(frozen=True)
class Knowledge:
    version: str
    source: str
    by_code: dict[str, Ingredient]
    composites: tuple[tuple[str, tuple[str, ...]], ...]  # longest name first
    interactions: tuple[Interaction, ...]
    _terms: tuple[tuple[str, str], ...]  # (term, code): names and aliases of chemicals, longest first
    _lookup: dict[str, str]  # code, Chinese name, alias, English name (lower case) -> code


@lru_cache
def knowledge(path: Path = INGREDIENTS_FILE) -> Knowledge:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    by_code: dict[str, Ingredient] = {}
    for row in data["ingredient"]:
        if row["code"] in by_code:
            raise ValueError(f"ingredient {row['code']} is listed twice in {path.name}")
        by_code[row["code"]] = Ingredient(
            code=row["code"],
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            pinyin=row.get("pinyin", ""),
            aliases=tuple(row.get("aliases", [])),
            kind=row.get("kind", "chemical"),
            classes=frozenset(row.get("classes", [])),
            group=row.get("group", ""),
            atc=row.get("atc", ""),
        )
    composites = tuple(
        sorted(((c["name"], tuple(c["ingredients"])) for c in data.get("composite", [])), key=lambda c: -len(c[0]))
    )
    for name, codes in composites:
        unknown = [c for c in codes if c not in by_code]
        if unknown:
            raise ValueError(f"composite {name} names unknown ingredients {unknown}")
    terms: dict[str, str] = {}
    lookup: dict[str, str] = {}
    for ing in by_code.values():
        lookup[ing.code] = ing.code
        lookup.setdefault(ing.name_en.lower(), ing.code)
        for term in (ing.name_zh, *ing.aliases):
            lookup.setdefault(term, ing.code)
            if ing.kind == "chemical" and len(term) >= 2:  # materia medica names are no generic-name signal
                terms.setdefault(term, ing.code)
    interactions = tuple(
        Interaction(i["a"], i["b"], i["severity"], i.get("effect", ""), i.get("source", ""))
        for i in data.get("interaction", [])
    )
    return Knowledge(
        version=data["version"],
        source=data.get("source", ""),
        by_code=by_code,
        composites=composites,
        interactions=interactions,
        _terms=tuple(sorted(terms.items(), key=lambda t: -len(t[0]))),
        _lookup=lookup,
    )


def get(code: str) -> Ingredient | None:
    return knowledge().by_code.get(code)


def resolve(text: str) -> str | None:
    """The code of an ingredient given by its code, Chinese name, an alias or its English name; None if unknown."""
    text = text.strip()
    k = knowledge()
    return k._lookup.get(text) or k._lookup.get(text.lower())


def classes_of(codes: Iterable[str]) -> frozenset[str]:
    k = knowledge()
    return frozenset(c for code in codes if code in k.by_code for c in k.by_code[code].classes)


def from_generic_name(name: str) -> NameReading:
    """The ingredients a generic name names: composite abbreviations first, then chemical names and aliases,
    longest first and without overlaps."""
    k = knowledge()
    taken = [False] * len(name)
    codes: set[str] = set()
    composite = False

    def claim(term: str) -> bool:
        found = False
        for m in re.finditer(re.escape(term), name):
            if not any(taken[m.start() : m.end()]):
                taken[m.start() : m.end()] = [True] * len(term)
                found = True
        return found

    for term, parts in k.composites:
        if claim(term):
            codes.update(parts)
            composite = True
    named = 0
    for term, code in k._terms:
        if claim(term):
            named += code not in codes
            codes.add(code)
    return NameReading(frozenset(codes), compound=composite or COMPOUND_MARK in name or named >= 2)


def shared(a: Iterable[str], b: Iterable[str]) -> frozenset[str]:
    """The ingredients two products have in common (a duplicate-ingredient check)."""
    return frozenset(a) & frozenset(b)


def same_group(a: Iterable[str], b: Iterable[str]) -> frozenset[str]:
    """The therapeutic groups two products share (a duplicate-therapy check)."""
    k = knowledge()

    def groups(codes: Iterable[str]) -> set[str]:
        return {k.by_code[c].group for c in codes if c in k.by_code and k.by_code[c].group}

    return frozenset(groups(a) & groups(b))


def interactions(a: Iterable[str], b: Iterable[str]) -> list[Interaction]:
    """The documented interactions between the ingredients of one product (a) and another's (b), either way."""
    k = knowledge()

    def keys(codes: Iterable[str]) -> set[str]:
        out = set()
        for c in codes:
            out.add(c)
            if c in k.by_code and k.by_code[c].group:
                out.add(f"group:{k.by_code[c].group}")
        return out

    ka, kb = keys(a), keys(b)
    return [i for i in k.interactions if (i.a in ka and i.b in kb) or (i.a in kb and i.b in ka)]
