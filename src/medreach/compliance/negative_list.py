"""The online-sale negative list (药品管理法 Art 61; NMPA 药品网络销售禁止清单, first edition 2022-11).

Rules live in a versioned data file (data/online_sale_negative_list.toml); this module only reads it, with the
ingredient knowledge of compliance.ingredients. `check()` is the one place that decides whether a product may be
sold online.

The ban is derived: the banned categories come from the product's active ingredients, from what its generic name
says (composite abbreviations such as 酚麻美敏, and the ingredient names it contains) and from its dosage form. Staff
flags (special_flags) can add a category no ingredient shows (a vaccine, a hospital preparation) but can never clear
a derived one: clearing `ephedrine_compound` on 新康泰克 leaves it banned, because its ingredients and its name
(复方盐酸伪麻黄碱) contain pseudoephedrine.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medreach.compliance import ingredients as knowledge

RULES_FILE = Path(__file__).parent / "data" / "online_sale_negative_list.toml"
BANNED_PREFIX = "网络禁售："
REASON_LENGTH = 255  # products.banned_reason

FLAG_NAMES = {
    "narcotic": "麻醉药品",
    "psychotropic_1": "第一类精神药品",
    "psychotropic_2": "第二类精神药品",
    "medical_toxic": "医疗用毒性药品",
    "radioactive": "放射性药品",
    "precursor_chemical": "药品类易制毒化学品",
    "vaccine": "疫苗",
    "blood_product": "血液制品",
    "ephedrine_compound": "含麻黄碱类复方制剂",
    "tramadol_compound": "含曲马多复方口服制剂",
    "opioid_compound_oral": "含麻醉药品口服复方制剂",
    "dextromethorphan_single_oral": "右美沙芬口服单方制剂",
    "anabolic_or_peptide_hormone": "蛋白同化制剂和肽类激素",
    "hospital_preparation": "医疗机构制剂",
    "tcm_formula_granule": "中药配方颗粒",
    "injection": "注射剂（降血糖类除外）",
    "listed_generic": "禁止清单品种（单方制剂）",
}


@dataclass(frozen=True)
class Finding:
    """One banned category of a product: the flag naming it, the ingredients that put it there (codes, may be
    empty for a form or a staff flag), and whether it is derived (ingredients, name, form) or only flagged."""

    flag: str
    ingredients: tuple[str, ...]
    derived: bool
    generic: str = ""  # for listed_generic: the listed generic name

    @property
    def label(self) -> str:
        base = f"{self.generic}（禁止清单品种）" if self.generic else FLAG_NAMES.get(self.flag, self.flag)
        names = [i.name_zh for c in self.ingredients if (i := knowledge.get(c)) and not self.generic]
        return f"{base}（{'、'.join(names)}）" if names else base


@dataclass(frozen=True)
class Verdict:
    banned: bool
    reason: str
    version: str
    findings: tuple[Finding, ...] = ()

    @property
    def derived(self) -> bool:
        """Banned whatever staff flag: the ingredients, the generic name or the form say so."""
        return any(f.derived for f in self.findings)


@dataclass(frozen=True)
class Rule:
    flag: str
    ingredient_class: str
    composition: str  # single, compound, any
    oral: bool


@dataclass(frozen=True)
class Generic:
    name_zh: str
    ingredient: str
    topical_exempt: bool
    any_composition: bool


@dataclass(frozen=True)
class Rules:
    version: str
    banned_flags: frozenset[str]
    rules: tuple[Rule, ...]
    injection_exempt_atc: tuple[str, ...]
    injection_exempt_keywords: tuple[str, ...]
    generics: tuple[Generic, ...]
    topical_forms: tuple[str, ...]
    non_oral_forms: tuple[str, ...]


@lru_cache
def rules(path: Path = RULES_FILE) -> Rules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    inj = data.get("injections", {})
    generics = tuple(
        Generic(
            name_zh=g["name_zh"],
            ingredient=g["ingredient"],
            topical_exempt=bool(g.get("topical_exempt", False)),
            any_composition=bool(g.get("any_composition", False)),
        )
        for g in data.get("generic", [])
    )
    unknown = [g.ingredient for g in generics if knowledge.get(g.ingredient) is None]
    if unknown:
        raise ValueError(f"{path.name} names ingredients missing from ingredients.toml: {unknown}")
    return Rules(
        version=data["version"],
        banned_flags=frozenset(data["banned_flags"]),
        rules=tuple(
            Rule(r["flag"], r["class"], r.get("composition", "any"), bool(r.get("oral", False)))
            for r in data.get("rule", [])
        ),
        injection_exempt_atc=tuple(inj.get("exempt_atc_prefixes", [])),
        injection_exempt_keywords=tuple(inj.get("exempt_keywords", [])),
        generics=generics,
        topical_forms=tuple(data.get("topical_forms", [])),
        non_oral_forms=tuple(data.get("non_oral_forms", [])),
    )


def version() -> str:
    """The version a verdict names: the rules' and the ingredient knowledge's together."""
    return rules().version


def check(
    *,
    generic_name: str,
    dosage_form: str,
    special_flags: Iterable[str] = (),
    atc_code: str = "",
    drug_class: str = "",
    ingredients: Iterable[str] = (),
) -> Verdict:
    """Whether a product may be sold online. `ingredients` are the product's active ingredient codes (unknown
    codes are ignored); the generic name adds what it names."""
    r = rules()
    given = {c for c in ingredients if knowledge.get(c) is not None}
    reading = knowledge.from_generic_name(generic_name)
    actives = given | reading.codes
    compound = len(actives) >= 2 or reading.compound
    single = ({reading.single} if reading.single else set()) | (actives if len(actives) == 1 else set())
    oral = not any(f in dosage_form for f in r.non_oral_forms)
    topical = any(f in dosage_form for f in r.topical_forms)
    found: dict[str, Finding] = {}

    def add(flag: str, codes: Iterable[str] = (), derived: bool = True, generic: str = "") -> None:
        key = f"{flag}:{generic}" if generic else flag
        old = found.get(key)
        merged = tuple(sorted(set(codes) | set(old.ingredients if old else ())))
        found[key] = Finding(flag, merged, derived or bool(old and old.derived), generic)

    for rule in r.rules:
        if rule.oral and not oral:
            continue
        pool = single if rule.composition == "single" else actives if rule.composition == "any" or compound else set()
        hits = [c for c in pool if rule.ingredient_class in knowledge.classes_of([c])]
        if hits:
            add(rule.flag, hits)
    insulin = "insulin" in knowledge.classes_of(actives)
    flags = set(special_flags)
    if "injection" in flags or "注射" in dosage_form:
        exempt = (
            insulin
            or bool(atc_code and atc_code.upper().startswith(r.injection_exempt_atc))
            or any(k in generic_name for k in r.injection_exempt_keywords)
        )
        if not exempt:
            add("injection", derived="注射" in dosage_form)
    for g in r.generics:
        if g.any_composition:  # a listed compound (复方米非司酮): by its name, or as a compound of the ingredient
            hit = g.name_zh in generic_name or (compound and g.ingredient in actives)
        else:  # 限于单方制剂
            hit = g.ingredient in single
        if hit and not (topical and g.topical_exempt):
            add("listed_generic", [g.ingredient], generic=g.name_zh)
    for flag in sorted(flags & r.banned_flags):
        add(flag, derived=False)
    findings = tuple(found.values())
    if not findings:
        return Verdict(False, "", r.version)
    reason = BANNED_PREFIX + "；".join(f.label for f in findings)
    if len(reason) > REASON_LENGTH:
        reason = reason[: REASON_LENGTH - 1] + "…"
    return Verdict(True, reason, r.version, findings)
