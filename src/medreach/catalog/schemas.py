"""API shapes for the catalog: products as customers and staff see them, categories, import reports."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from medreach.catalog.models import DrugClass
from medreach.compliance import ingredients as knowledge
from medreach.core.schemas import InputModel, MultiLine

SpecialFlag = Literal[
    "narcotic",
    "psychotropic_1",
    "psychotropic_2",
    "medical_toxic",
    "radioactive",
    "precursor_chemical",
    "vaccine",
    "blood_product",
    "ephedrine_compound",
    "tramadol_compound",
    "opioid_compound_oral",
    "dextromethorphan_single_oral",
    "anabolic_or_peptide_hormone",
    "injection",
    "hospital_preparation",
    "tcm_formula_granule",
]
SearchSort = Literal["relevance", "price_asc", "price_desc", "sales", "newest"]
RX_NOTICE = "处方药须凭处方在药师指导下购买和使用"
OTC_NOTICE = "请按药品说明书或者在药师指导下购买和使用"
StockStatus = Literal["in_stock", "low", "out"]
PurchaseMode = Literal["cart", "prescription", "unavailable"]
Str8 = Annotated[str, Field(max_length=8)]
Str32 = Annotated[str, Field(max_length=32)]
Str64 = Annotated[str, Field(max_length=64)]
Str128 = Annotated[str, Field(max_length=128)]
Str255 = Annotated[str, Field(max_length=255)]
Text2000 = Annotated[MultiLine, Field(max_length=2000)]  # descriptions keep their line breaks


MAX_INGREDIENTS = 40
# One ingredient in a CSV cell: code or name, optionally ':' and an amount with its unit ("pseudoephedrine:90mg").
_INGREDIENT_CELL = re.compile(r"^(?P<name>[^:：]+?)\s*(?:[:：]\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>\S*))?$")


def parse_ingredients(cell: str) -> list[dict]:
    """'paracetamol:325mg; pseudoephedrine:30mg' (a CSV cell) as ingredient dicts; bad parts are kept as codes, so
    that validation names them."""
    out: list[dict] = []
    for part in (p.strip() for p in cell.replace("；", ";").split(";")):
        if not part:
            continue
        m = _INGREDIENT_CELL.match(part)
        if m is None:
            out.append({"code": part})
            continue
        item: dict = {"code": m["name"].strip()}
        if m["amount"]:
            item["amount"], item["unit"] = float(m["amount"]), m["unit"] or ""
        out.append(item)
    return out


def format_ingredients(items: list[dict]) -> str:
    """The CSV cell of a product's ingredients (the inverse of parse_ingredients)."""

    def number(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else repr(float(x))  # never an exponent

    return ";".join(
        f"{i['code']}:{number(i['amount'])}{i.get('unit', '')}" if i.get("amount") is not None else i["code"]
        for i in items
    )


class ActiveIngredient(InputModel):
    """An active ingredient of a product: a code of compliance/data/ingredients.toml (its Chinese name or an alias
    is accepted and stored as the code), with the amount per unit of use where the label gives one."""

    code: Annotated[str, Field(min_length=1, max_length=48)]
    amount: Annotated[float, Field(gt=0, le=1_000_000_000)] | None = None
    unit: Annotated[str, Field(max_length=12, pattern=r"^[^\s:;]*$")] = ""

    @field_validator("code")
    @classmethod
    def _known(cls, v: str) -> str:
        code = knowledge.resolve(v)
        if code is None:
            raise PydanticCustomError("ingredient_unknown", "unknown active ingredient {name}", {"name": v})
        return code


def _ingredient_list(v):
    """CSV cells carry ingredients as 'code:amount unit;…'; each code is listed once."""
    return parse_ingredients(v) if isinstance(v, str) else v


def _distinct(items: list[ActiveIngredient] | None) -> list[ActiveIngredient] | None:
    if items is not None and len({i.code for i in items}) != len(items):
        raise PydanticCustomError("ingredient_repeated", "an active ingredient is listed twice")
    return items


class CategoryOut(BaseModel):
    id: int
    code: str
    parent_code: str | None
    name_zh: str
    name_en: str
    product_count: int = 0
    children: list[CategoryOut] = []


class CategoryIn(InputModel):
    code: Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
    parent_code: Annotated[str, Field(max_length=32)] | None = None
    name_zh: Annotated[str, Field(min_length=1, max_length=64)]
    name_en: Str64 = ""
    sort: Annotated[int, Field(ge=0, le=10_000)] = 0


class ProductIn(InputModel):
    """A product as staff create or import it. online_banned is derived, never given."""

    sku: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    generic_name: Annotated[str, Field(min_length=1, max_length=128)]
    brand_name: Str64 = ""
    specification: Str128 = ""
    dosage_form: Str32 = ""
    manufacturer: Str128 = ""
    approval_number: Str64 = ""
    drug_class: DrugClass
    special_flags: list[SpecialFlag] = []
    # Required for drugs (rx, otc_a, otc_b); the negative list reads them.
    active_ingredients: Annotated[list[ActiveIngredient], Field(max_length=MAX_INGREDIENTS)] = []
    atc_code: Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z0-9]*$")] = ""
    category_code: Annotated[str, Field(min_length=1, max_length=32)]
    indications: Text2000 = ""
    contraindications: Text2000 = ""
    pregnancy: Str64 = ""
    children: Str64 = ""
    elderly: Str64 = ""
    usage_dosage: Text2000 = ""
    pack_size: Annotated[int, Field(ge=1, le=100_000)] = 1
    pack_unit: Str8 = ""
    daily_dose: Annotated[Decimal, Field(gt=0, le=1000, max_digits=10, decimal_places=4)] | None = None
    price_fen: Annotated[int, Field(ge=1, le=100_000_000)]
    stock: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    max_per_order: Annotated[int, Field(ge=1, le=999)] = 10
    batch_no: Str32 = ""
    expiry_date: date | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=30)] = []
    image_url: Str255 = ""
    is_active: bool = True

    @field_validator("special_flags", "tags", mode="before")
    @classmethod
    def _split(cls, v):
        """CSV cells carry lists as 'a;b'."""
        if isinstance(v, str):
            return [x.strip() for x in v.replace("；", ";").split(";") if x.strip()]
        return v

    _ingredients = field_validator("active_ingredients", mode="before")(_ingredient_list)
    _ingredients_once = field_validator("active_ingredients")(_distinct)


class ProductPatch(InputModel):
    generic_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    brand_name: Str64 | None = None
    specification: Str128 | None = None
    dosage_form: Str32 | None = None
    manufacturer: Str128 | None = None
    approval_number: Str64 | None = None
    drug_class: DrugClass | None = None
    special_flags: list[SpecialFlag] | None = None
    active_ingredients: Annotated[list[ActiveIngredient], Field(max_length=MAX_INGREDIENTS)] | None = None
    atc_code: Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z0-9]*$")] | None = None
    category_code: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    indications: Text2000 | None = None
    contraindications: Text2000 | None = None
    pregnancy: Str64 | None = None
    children: Str64 | None = None
    elderly: Str64 | None = None
    usage_dosage: Text2000 | None = None
    pack_size: Annotated[int, Field(ge=1, le=100_000)] | None = None
    pack_unit: Str8 | None = None
    daily_dose: Annotated[Decimal, Field(gt=0, le=1000, max_digits=10, decimal_places=4)] | None = None
    price_fen: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    stock: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    max_per_order: Annotated[int, Field(ge=1, le=999)] | None = None
    batch_no: Str32 | None = None
    expiry_date: date | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=30)] | None = None
    image_url: Str255 | None = None
    is_active: bool | None = None

    _ingredients = field_validator("active_ingredients", mode="before")(_ingredient_list)
    _ingredients_once = field_validator("active_ingredients")(_distinct)


class ActiveIngredientOut(BaseModel):
    code: str
    amount: float | None
    unit: str
    name_zh: str
    name_en: str


class BanFinding(BaseModel):
    """One banned category of a product. derived: from its ingredients, generic name or form, so no staff flag
    can clear it; otherwise it comes only from a special flag."""

    flag: str
    label: str
    ingredients: list[str]  # codes
    generic: str  # for listed_generic: the listed generic name
    derived: bool


class ProductAdminOut(ProductIn):
    id: int
    active_ingredients: list[ActiveIngredientOut]  # type: ignore[assignment]  # with their names
    category_name: str
    online_banned: bool
    banned_reason: str
    ban_findings: list[BanFinding]
    ban_derived: bool  # banned whatever the flags say
    negative_list_version: str
    sales: int
    days_of_supply: float | None
    created_at: datetime
    updated_at: datetime


class ProductCard(BaseModel):
    """A product in a list (home, category, search). Display rules already applied."""

    id: int
    sku: str
    name: str
    generic_name: str
    brand_name: str
    specification: str
    drug_class: DrugClass
    class_label: str
    price_fen: int
    image_url: str | None  # None: an Rx package image is not shown before the viewer's prescription is approved
    stock_status: StockStatus
    purchase_mode: PurchaseMode
    notice: str  # the mandatory risk notice for Rx / OTC; '' otherwise
    rating: float | None = None
    review_count: int = 0
    promo_price_fen: int | None = None  # the running promotion's one-unit price, if any
    promo_label: str = ""


class ProductDetail(ProductCard):
    dosage_form: str
    manufacturer: str
    approval_number: str
    category_code: str
    category_path: list[str]
    pack_size: int
    pack_unit: str
    days_of_supply: float | None
    max_per_order: int
    rx_approved: bool  # the viewer holds an approved prescription covering this product
    # Shown only when allowed (not Rx, or Rx with the viewer's approved prescription):
    indications: str | None
    contraindications: str | None
    pregnancy: str | None
    children: str | None
    elderly: str | None
    usage_dosage: str | None
    expiry_date: date | None


class ImportRowError(BaseModel):
    row: int
    sku: str
    field: str
    message: str


class ImportReport(BaseModel):
    rows: int
    created: int
    updated: int
    rejected: int
    banned: int
    dry_run: bool
    errors: list[ImportRowError]


class BulkPriceStockItem(InputModel):
    sku: Annotated[str, Field(min_length=1, max_length=32)]
    price_fen: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    stock: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    stock_delta: Annotated[int, Field(ge=-10_000_000, le=10_000_000)] | None = None


class BulkUpdateIn(InputModel):
    items: Annotated[list[BulkPriceStockItem], Field(min_length=1, max_length=5000)]


class BulkUpdateOut(BaseModel):
    updated: int
    errors: list[ImportRowError]


class StockMovementOut(BaseModel):
    id: int
    product_id: int
    delta: int
    reason: str
    ref: str
    actor_id: int | None
    at: datetime


class SearchOut(BaseModel):
    items: list[ProductCard]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]]
    corrected: str | None = None
