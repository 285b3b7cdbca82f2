"""Routes for accounts: auth, the caller's profile and addresses, and staff administration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from medreach.accounts import consents, legal, schemas, service
from medreach.accounts.deps import AppCache, CurrentUser, DbSession, require
from medreach.accounts.legal import DocumentName
from medreach.accounts.models import User
from medreach.core.openapi import problem_responses
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath

router = APIRouter(prefix="/api/v1")
NO_CONTENT: dict[str, Any] = {"status_code": status.HTTP_204_NO_CONTENT, "response_class": Response}


def _body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` adding rules the body's model cannot say to its schema (merged beside its `$ref`)."""
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


# Registration names exactly one login and accepts the version in force of every legal document; a signed-in
# user accepts the version in force of the document named.
REGISTER_RULES = _body_schema(
    {
        "required": ["agreements"],
        "properties": {
            "agreements": {
                "required": sorted(legal.CURRENT),
                "properties": {name: {"const": v.version} for name, v in legal.CURRENT.items()},
            }
        },
        "oneOf": [{"required": [login], "properties": {login: {"type": "string"}}} for login in ("phone", "email")],
    }
)
AGREEMENT_RULES = _body_schema(
    {
        "oneOf": [
            {"properties": {"document": {"const": name}, "version": {"const": v.version}}}
            for name, v in legal.CURRENT.items()
        ]
    }
)


# --- auth (public) ---------------------------------------------------------------------------


@router.post(
    "/auth/register",
    response_model=schemas.AuthOut,
    status_code=201,
    tags=["auth"],
    responses=problem_responses(**{"409": "The phone or e-mail is another account's login (LOGIN_TAKEN)"}),
    openapi_extra=REGISTER_RULES,
)
def register(data: schemas.RegisterIn, session: DbSession):
    user = service.register(session, data)
    return schemas.AuthOut(user=service.me(session, user), tokens=service.issue_tokens(session, user))


@router.post(
    "/auth/login",
    response_model=schemas.AuthOut,
    tags=["auth"],
    responses=problem_responses(
        **{
            "401": "Wrong login or password (INVALID_CREDENTIALS)",
            "403": "The account is disabled (ACCOUNT_DISABLED)",
            "429": "Too many failed tries for this account or address: wait `retry_after` seconds (LOGIN_LOCKED)",
        }
    ),
)
def login(data: schemas.LoginIn, session: DbSession, cache: AppCache):
    user = service.authenticate(session, cache, data.login, data.password)
    return schemas.AuthOut(user=service.me(session, user), tokens=service.issue_tokens(session, user))


@router.post(
    "/auth/refresh",
    response_model=schemas.TokensOut,
    tags=["auth"],
    responses=problem_responses(**{"401": "Unknown, spent, revoked or expired (INVALID_TOKEN, TOKEN_EXPIRED)"}),
)
def refresh(data: schemas.RefreshIn, session: DbSession, cache: AppCache):
    return service.refresh(session, cache, data.refresh_token)


@router.post("/auth/logout", tags=["auth"], **NO_CONTENT)
def logout(data: schemas.RefreshIn, session: DbSession, cache: AppCache):
    """End this login: its refresh token and every access token issued to it stop working at once."""
    service.logout(session, cache, data.refresh_token)


# --- legal documents and purposes of processing (public: registration shows them) --------------


@router.get("/legal/documents", response_model=list[schemas.LegalDocumentSummary], tags=["legal"])
def legal_documents():
    """The user agreement and the privacy policy in force: the versions registration accepts."""
    return [schemas.LegalDocumentSummary.of(name) for name in legal.CURRENT]


@router.get("/legal/documents/{name}", response_model=schemas.LegalDocumentOut, tags=["legal"])
def legal_document(name: DocumentName):
    return schemas.LegalDocumentOut.of(name)


@router.get("/legal/purposes", response_model=list[schemas.PurposeOut], tags=["legal"])
def purposes():
    """The optional purposes of processing, each explained, with its default."""
    return [schemas.PurposeOut.of(p) for p in consents.PURPOSES]


# --- the caller's own account ------------------------------------------------------------------


@router.get("/me", response_model=schemas.MeOut, tags=["me"])
def get_me(user: CurrentUser, session: DbSession):
    return service.me(session, user)


@router.patch("/me", response_model=schemas.MeOut, tags=["me"])
def patch_me(data: schemas.ProfileIn, user: CurrentUser, session: DbSession):
    return service.me(session, service.update_profile(session, user, data))


@router.post("/me/password", response_model=schemas.TokensOut, tags=["me"])
def change_password(data: schemas.PasswordIn, user: CurrentUser, session: DbSession, cache: AppCache):
    """Every login of the account ends, this one too; the answer is a new login's tokens."""
    return service.change_password(session, cache, user, data)


@router.get("/me/consents", response_model=list[schemas.ConsentOut], tags=["me"])
def my_consents(user: CurrentUser, session: DbSession):
    """What the caller allows, purpose by purpose (the newest decision, or the default)."""
    return [schemas.ConsentOut.of_state(s) for s in consents.states(session, user.id)]


@router.put("/me/consents/{purpose}", response_model=schemas.ConsentOut, tags=["me"])
def decide_consent(purpose: schemas.ConsentPurpose, data: schemas.ConsentIn, user: CurrentUser, session: DbSession):
    """Grant or withdraw one purpose; it takes effect at once and the decision is kept as evidence."""
    return schemas.ConsentOut.of_state(consents.decide(session, user, purpose, data.granted))


@router.get("/me/agreements", response_model=list[schemas.AgreementOut], tags=["me"])
def my_agreements(user: CurrentUser, session: DbSession):
    """Which version of each legal document the caller accepted, and when."""
    return legal.standings(session, user.id)


@router.post("/me/agreements", response_model=schemas.AgreementOut, tags=["me"], openapi_extra=AGREEMENT_RULES)
def accept_agreement(data: schemas.AgreementIn, user: CurrentUser, session: DbSession):
    """Accept the version in force of a document that changed since the caller last accepted it."""
    return legal.accept(session, user.id, data.document, data.version)


@router.get("/addresses", response_model=list[schemas.AddressOut], tags=["me"])
def list_addresses(user: CurrentUser, session: DbSession):
    return service.list_addresses(session, user)


@router.post("/addresses", response_model=schemas.AddressOut, status_code=201, tags=["me"])
def create_address(data: schemas.AddressIn, user: CurrentUser, session: DbSession):
    return service.create_address(session, user, data)


@router.get("/addresses/{address_id}", response_model=schemas.AddressOut, tags=["me"])
def get_address(address_id: IdPath, user: CurrentUser, session: DbSession):
    return service.get_address(session, user, address_id)


@router.patch("/addresses/{address_id}", response_model=schemas.AddressOut, tags=["me"])
def update_address(address_id: IdPath, data: schemas.AddressPatch, user: CurrentUser, session: DbSession):
    return service.update_address(session, user, address_id, data)


@router.delete("/addresses/{address_id}", tags=["me"], **NO_CONTENT)
def delete_address(address_id: IdPath, user: CurrentUser, session: DbSession):
    service.delete_address(session, user, address_id)


# --- staff administration ------------------------------------------------------------------------


@router.get("/admin/users", response_model=Page[schemas.UserOut], tags=["admin"])
def list_users(
    session: DbSession,
    paging: Paging,
    viewer: Annotated[User, require("users:read")],
    q: Annotated[str | None, Query(max_length=100)] = None,
    is_staff: bool | None = None,
    role: Annotated[str | None, Query(max_length=64)] = None,
):
    rows, total = service.search_users(session, viewer, paging, q=q, is_staff=is_staff, role=role)
    perms = service.permissions_of(viewer)
    return Page(items=[service.user_view(u, perms) for u in rows], total=total, **paging.model_dump())


@router.get("/admin/users/{user_id}", response_model=schemas.UserDetailOut, tags=["admin"])
def read_user(user_id: IdPath, session: DbSession, viewer: Annotated[User, require("users:read")]):
    return service.read_user(session, viewer, user_id)


@router.post("/admin/users/{user_id}/reveal", response_model=schemas.RevealOut, tags=["admin"])
def reveal_user(
    user_id: IdPath, data: schemas.RevealIn, session: DbSession, viewer: Annotated[User, require("pii:reveal")]
):
    """The customer's e-mail, phone, real name and ID number in full, for the stated purpose (audited)."""
    return service.reveal_user(session, viewer, user_id, data.purpose)


@router.post("/admin/users", response_model=schemas.UserOut, status_code=201, tags=["admin"])
def create_staff(data: schemas.StaffIn, session: DbSession, actor: Annotated[User, require("users:manage")]):
    return service.user_view(service.create_staff(session, actor, data), service.permissions_of(actor))


@router.patch("/admin/users/{user_id}", response_model=schemas.UserOut, tags=["admin"])
def update_user(
    user_id: IdPath, data: schemas.UserPatch, session: DbSession, actor: Annotated[User, require("users:manage")]
):
    return service.user_view(service.update_user(session, actor, user_id, data), service.permissions_of(actor))


@router.get("/admin/roles", response_model=list[schemas.RoleOut], tags=["admin"])
def list_roles(session: DbSession, _: Annotated[User, require("users:manage")]):
    return service.list_roles(session)


@router.post("/admin/roles", response_model=schemas.RoleOut, status_code=201, tags=["admin"])
def create_role(data: schemas.RoleIn, session: DbSession, actor: Annotated[User, require("users:manage")]):
    return service.create_role(session, actor, data)


@router.patch("/admin/roles/{name}", response_model=schemas.RoleOut, tags=["admin"])
def update_role(
    name: Annotated[str, schemas.Field(max_length=64)],
    data: schemas.RolePatch,
    session: DbSession,
    actor: Annotated[User, require("users:manage")],
):
    return service.update_role(session, actor, name, data)


@router.delete("/admin/roles/{name}", tags=["admin"], **NO_CONTENT)
def delete_role(
    name: Annotated[str, schemas.Field(max_length=64)],
    session: DbSession,
    actor: Annotated[User, require("users:manage")],
):
    service.delete_role(session, actor, name)


@router.get("/admin/permissions", response_model=list[schemas.PermissionOut], tags=["admin"])
def list_permissions(_: Annotated[User, require("users:manage")]):
    return service.permission_catalogue()
