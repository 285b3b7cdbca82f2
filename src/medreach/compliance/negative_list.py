"""The online-sale negative list (药品管理法 Art 61; NMPA 药品网络销售禁止清单, first edition 2022-11).

Rules live in a versioned data file (data/online_sale_negative_list.toml); this module only reads it.
`check()` is the one place that decides whether a product may be sold online.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RULES_FILE = Path(__file__).parent / "data" / "online_sale_negative_list.toml"

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
    "injection": "注射剂",
}


@dataclass(frozen=True)
class Verdict:
    banned: bool
    reason: str
    version: str


@dataclass(frozen=True)
class Rules:
    version: str
    banned_flags: frozenset[str]
    injection_exempt_atc: tuple[str, ...]
    injection_exempt_keywords: tuple[str, ...]
    generics: tuple[tuple[str, bool], ...]  # (generic name, topical forms exempt)
    topical_forms: tuple[str, ...]


@lru_cache
def rules(path: Path = RULES_FILE) -> Rules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    inj = data.get("injections", {})
    return Rules(
        version=data["version"],
        banned_flags=frozenset(data["banned_flags"]),
        injection_exempt_atc=tuple(inj.get("exempt_atc_prefixes", [])),
        injection_exempt_keywords=tuple(inj.get("exempt_keywords", [])),
        generics=tuple((g["name_zh"], bool(g.get("topical_exempt", False))) for g in data.get("generic", [])),
        topical_forms=tuple(data.get("topical_forms", [])),
    )


def check(
    *,
    generic_name: str,
    dosage_form: str,
    special_flags: list[str] | tuple[str, ...],
    atc_code: str = "",
    drug_class: str = "",
) -> Verdict:
    r = rules()
    flags = set(special_flags)
    for flag in sorted(flags & r.banned_flags):
        return Verdict(True, f"网络禁售：{FLAG_NAMES.get(flag, flag)}", r.version)
    if "injection" in flags or "注射" in dosage_form:
        exempt = (atc_code and atc_code.upper().startswith(r.injection_exempt_atc)) or any(
            k in generic_name for k in r.injection_exempt_keywords
        )
        if not exempt:
            return Verdict(True, "网络禁售：注射剂（降血糖类除外）", r.version)
    topical = any(f in dosage_form for f in r.topical_forms)
    for name, topical_exempt in r.generics:
        if name in generic_name and not (topical and topical_exempt):
            return Verdict(True, f"网络禁售：{name}（禁止清单品种）", r.version)
    return Verdict(False, "", r.version)
