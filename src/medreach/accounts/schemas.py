"""API shapes for accounts: registration, login, profiles, addresses, staff and roles."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from medreach.accounts import legal
from medreach.accounts.consents import PURPOSES as PURPOSES_OF_CONSENT
from medreach.accounts.consents import PurposeName, State
from medreach.accounts.legal import DocumentName
from medreach.accounts.permissions import PERMISSIONS
from medreach.core.schemas import InputModel

PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits: other scripts' digits are other spellings
# What `_phone` accepts, for the OpenAPI document: the number with any spaces and hyphens inside, after `+86`, and
# surrounded by any whitespace `str.strip` removes (the characters of Python's str.isspace, listed one by one).
_SPACE = r"[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
PHONE_PATTERN = rf"^{_SPACE}(\+86)?[ -]*1[ -]*[3-9]([ -]*[0-9]){{9}}[ -]*{_SPACE}$"
ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"  # exactly 18 characters: no room for spaces (the check digit: _id_number)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _phone(v: str) -> str:
    v = v.strip().removeprefix("+86").replace(" ", "").replace("-", "")
    if not PHONE_RE.match(v):
        raise ValueError("must be a mainland China mobile number (11 digits starting with 1)")
    return v


def _id_number(v: str) -> str:
    """A resident ID (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check character."""
    v = v.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", v):
        raise ValueError("must be an 18-character resident ID number")
    check = "10X98765432"[sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS, strict=False)) % 11]
    if v[17] != check:
        raise ValueError("the check digit of the ID number is wrong")
    return v


def _birth_date(v: date) -> date:
    if not date(1900, 1, 1) <= v <= date.today():
        raise ValueError("must be between 1900-01-01 and today")
    return v


def _role_names(v: list[str]) -> list[str]:
    return sorted(set(v))


Phone = Annotated[str, Field(max_length=20, json_schema_extra={"pattern": PHONE_PATTERN}), AfterValidator(_phone)]
IdNumber = Annotated[
    str, Field(max_length=18, json_schema_extra={"pattern": ID_NUMBER_PATTERN}), AfterValidator(_id_number)
]
# The rule itself (length, common passwords, likeness to the login) is accounts/passwords.py: localized reasons.
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="at least 8 characters; not a common password, not like the phone, email or name",
    ),
]
Gender = Literal["male", "female", "other", "unknown"]
Text64 = Annotated[str, Field(max_length=64)]
RoleName = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")]
PermissionCode = Annotated[str, Field(max_length=64)]


ConsentPurpose = PurposeName
VersionText = Annotated[str, Field(max_length=32)]


def _permissions(v: list[str]) -> list[str]:
    unknown = sorted(set(v) - set(PERMISSIONS))
    if unknown:
        raise ValueError(f"unknown permission: {', '.join(unknown)}")
    return sorted(set(v))


class RegisterIn(InputModel):
    phone: Phone | None = None
    email: EmailStr | None = Field(default=None, max_length=254)
    password: Password
    name: Text64 = ""
    agreements: dict[DocumentName, VersionText] = Field(
        default_factory=dict,
        description="the version of each legal document (GET /legal/documents) the customer read and accepted; "
        "both are required",
    )
    consents: dict[ConsentPurpose, bool] = Field(
        default_factory=dict,
        description="the optional purposes (GET /legal/purposes) chosen on the form; any left out take their default",
    )

    @model_validator(mode="after")
    def _one_login(self) -> RegisterIn:
        if (self.phone is None) == (self.email is None):
            raise ValueError("give exactly one of phone or email")
        return self


class LoginIn(InputModel):
    login: str = Field(min_length=1, max_length=254, description="phone number or email")
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(InputModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class MeOut(BaseModel):
    id: int
    email: str | None
    phone: str | None
    name: str
    gender: Gender
    birth_date: date | None
    region: str
    city: str
    occupation: str
    real_name: str | None
    id_number: str | None
    is_staff: bool
    roles: list[str]
    permissions: list[str]
    created_at: datetime
    pending_agreements: list[str] = Field(description="documents with a new version the user has not accepted yet")


class AuthOut(BaseModel):
    user: MeOut
    tokens: TokensOut


class ProfileIn(InputModel):
    name: Text64 | None = None
    gender: Gender | None = None
    birth_date: Annotated[date, AfterValidator(_birth_date)] | None = None
    region: Text64 | None = None
    city: Text64 | None = None
    occupation: Text64 | None = None
    real_name: Annotated[str, Field(max_length=32)] | None = None
    id_number: IdNumber | None = None


class PasswordIn(InputModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: Password


class AddressIn(InputModel):
    recipient: Annotated[str, Field(min_length=1, max_length=32)]
    phone: Phone
    province: Annotated[str, Field(min_length=1, max_length=32)]
    city: Annotated[str, Field(min_length=1, max_length=32)]
    district: Annotated[str, Field(max_length=32)] = ""
    detail: Annotated[str, Field(min_length=1, max_length=200)]
    postal_code: Annotated[str, Field(pattern=r"^(\d{6})?$")] = ""
    is_default: bool = False


class AddressPatch(InputModel):
    recipient: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    phone: Phone | None = None
    province: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    city: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    district: Annotated[str, Field(max_length=32)] | None = None
    detail: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    postal_code: Annotated[str, Field(pattern=r"^(\d{6})?$")] | None = None
    is_default: bool | None = None


class AddressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str
    is_default: bool


class UserOut(BaseModel):
    """A user as staff see them: a customer's personal fields masked (the full values through the reveal)."""

    id: int
    email: str | None
    phone: str | None
    name: str
    is_staff: bool
    licence_no: str
    is_active: bool
    roles: list[str]
    created_at: datetime
    last_login_at: datetime | None


class UserDetailOut(UserOut):
    gender: Gender
    birth_date: date | None
    region: str
    city: str
    occupation: str
    real_name: str | None
    id_number: str | None
    masked: bool


class RevealIn(InputModel):
    """Why the full personal data is needed (e.g. 联系收件人确认配送): kept in the audit log with who and what."""

    purpose: Annotated[str, Field(min_length=2, max_length=200)]


class RevealOut(BaseModel):
    """The full values of a record's masked personal fields, read for the stated purpose (audited)."""

    subject_type: str
    subject_id: int
    values: dict[str, str | None]
    purpose: str


class StaffIn(InputModel):
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    password: Password
    name: Annotated[str, Field(min_length=1, max_length=64)]
    licence_no: Annotated[str, Field(max_length=64)] = ""
    roles: Annotated[list[RoleName], Field(min_length=1, max_length=20), AfterValidator(_role_names)]

    @model_validator(mode="after")
    def _one_login(self) -> StaffIn:
        if (self.phone is None) == (self.email is None):
            raise ValueError("give exactly one of phone or email")
        return self


class UserPatch(InputModel):
    name: Text64 | None = None
    licence_no: Text64 | None = None
    is_active: bool | None = None
    roles: Annotated[list[RoleName], Field(max_length=20), AfterValidator(_role_names)] | None = None


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    builtin: bool
    permissions: list[str]


class RoleIn(InputModel):
    name: RoleName
    description: Annotated[str, Field(max_length=255)] = ""
    permissions: Annotated[list[PermissionCode], Field(max_length=100), AfterValidator(_permissions)]


class RolePatch(InputModel):
    description: Annotated[str, Field(max_length=255)] | None = None
    permissions: Annotated[list[PermissionCode], Field(max_length=100), AfterValidator(_permissions)] | None = None


class PermissionOut(BaseModel):
    code: str
    description: str


class ConsentIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    granted: bool


class PurposeOut(BaseModel):
    """An optional purpose of processing, as the registration form and the privacy settings explain it."""

    purpose: str
    default: bool
    sensitive: bool
    label_zh: str
    label_en: str
    description_zh: str
    description_en: str

    @classmethod
    def of(cls, purpose: PurposeName) -> PurposeOut:
        spec = PURPOSES_OF_CONSENT[purpose]
        return cls(
            purpose=purpose,
            default=spec.default,
            sensitive=spec.sensitive,
            label_zh=spec.label_zh,
            label_en=spec.label_en,
            description_zh=spec.zh,
            description_en=spec.en,
        )


class ConsentOut(PurposeOut):
    granted: bool
    decided_at: datetime | None

    @classmethod
    def of_state(cls, state: State) -> ConsentOut:
        return cls(**PurposeOut.of(state.purpose).model_dump(), granted=state.granted, decided_at=state.decided_at)


class LegalBlockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: Literal["heading", "paragraph", "list"]
    text: str
    items: list[str]


class LegalTextOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    title: str
    blocks: list[LegalBlockOut]


class LegalDocumentSummary(BaseModel):
    name: DocumentName
    version: str
    effective_date: date
    title_zh: str
    title_en: str

    @classmethod
    def of(cls, name: DocumentName) -> LegalDocumentSummary:
        current = legal.CURRENT[name]
        return cls(
            name=name,
            version=current.version,
            effective_date=current.effective,
            title_zh=legal.text(name, "zh-CN").title,
            title_en=legal.text(name, "en").title,
        )


class LegalDocumentOut(LegalDocumentSummary):
    texts: dict[str, LegalTextOut] = Field(description="the document in each language (zh-CN, en)")

    @classmethod
    def of(cls, name: DocumentName) -> LegalDocumentOut:
        texts = {lang: LegalTextOut.model_validate(legal.text(name, lang)) for lang in legal.LANGUAGES}
        return cls(**LegalDocumentSummary.of(name).model_dump(), texts=texts)


class AgreementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    document: DocumentName
    current_version: str
    accepted_version: str | None
    accepted_at: datetime | None
    up_to_date: bool


class AgreementIn(InputModel):
    document: DocumentName
    version: VersionText
