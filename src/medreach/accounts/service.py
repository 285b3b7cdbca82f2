"""Accounts logic: registration, throttled login, token rotation and revocation, profiles, addresses, staff and roles.

Plain functions taking a session; each public write commits its own transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medreach.accounts import consents, legal, passwords, schemas
from medreach.accounts.models import Address, RefreshToken, Role, RolePermission, User, user_roles
from medreach.accounts.permissions import BUILTIN_ROLES, PERMISSIONS, expand
from medreach.accounts.throttle import LoginThrottle, Scope
from medreach.core.cache import Cache
from medreach.core.context import client_info
from medreach.core.db import get_or_404, retrying
from medreach.core.errors import AppError, not_found
from medreach.core.pagination import PageParams, paginate
from medreach.core.security import (
    blind_index,
    hash_password,
    issue_access_token,
    mask_fields,
    new_opaque_token,
    sha256_hex,
    verify_password,
)
from medreach.core.settings import get_settings
from medreach.ops.service import audit

# --- roles and permissions ----------------------------------------------------------------------------


def ensure_builtin_roles(session: Session) -> None:
    """Create the built-in roles and bring their grants up to the catalogue (idempotent)."""
    existing = {r.name: r for r in session.scalars(select(Role))}
    for name, (description, perms) in BUILTIN_ROLES.items():
        role = existing.get(name) or Role(name=name, builtin=True)
        role.description, role.builtin = description, True
        have = set(role.permissions)
        role.grants = [g for g in role.grants if g.permission in perms] + [
            RolePermission(permission=p) for p in sorted(perms - have)
        ]
        session.add(role)
    session.commit()


def permissions_of(user: User) -> set[str]:
    return expand({p for role in user.roles for p in role.permissions})


def _roles_by_name(session: Session, names: list[str]) -> list[Role]:
    roles = list(session.scalars(select(Role).where(Role.name.in_(names))))
    missing = sorted(set(names) - {r.name for r in roles})
    if missing:
        raise AppError(422, "ROLE_UNKNOWN", field="roles", role=missing[0])
    return roles


def _check_grantable(actor: User, permissions: set[str]) -> None:
    """Nobody hands out a permission they do not hold themselves (no escalation by role editing)."""
    lacking = sorted(permissions - permissions_of(actor))
    if lacking:
        raise AppError(403, "PERMISSION_DENIED", permission=lacking[0])


# --- registration and login ----------------------------------------------------------------------------


def _login_index(login: str) -> tuple[str, str] | None:
    """('email', value) or ('phone', blind index) for a login string; None if it is neither."""
    login = login.strip()
    if "@" in login:
        return "email", login.lower()
    try:
        return "phone", blind_index(schemas._phone(login))
    except ValueError:
        return None


def find_by_login(session: Session, login: str) -> User | None:
    key = _login_index(login)
    if key is None:
        return None
    column = User.email if key[0] == "email" else User.phone_index
    return session.scalar(select(User).where(column == key[1]))


def names_of(session: Session, user_ids: list[int]) -> dict[int, str]:
    """Display names by user id (a review's author, say), for the domains that show them."""
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(set(user_ids)))).tuples().all())


def customers_by_ids(session: Session, user_ids: list[int]) -> list[User]:
    """The customers (not staff) among these user ids."""
    return list(session.scalars(select(User).where(User.id.in_(user_ids), User.is_staff.is_(False))))


def lock_user(session: Session, user_id: int) -> None:
    """Hold the user's row until the transaction ends: serialises a customer's limits (coupons, points)."""
    session.scalar(select(User.id).where(User.id == user_id).with_for_update())


def _new_user(
    session: Session,
    *,
    email: str | None,
    phone: str | None,
    password: str,
    name: str,
    roles: list[Role],
    is_staff: bool,
) -> User:
    email = email.lower() if email else None
    phone_index = blind_index(phone) if phone else None
    if email and session.scalar(select(User.id).where(User.email == email)):
        raise AppError(409, "LOGIN_TAKEN", field="email")
    if phone_index and session.scalar(select(User.id).where(User.phone_index == phone_index)):
        raise AppError(409, "LOGIN_TAKEN", field="phone")
    user = User(
        email=email,
        phone=phone,
        phone_index=phone_index,
        password_hash=hash_password(password),
        name=name,
        is_staff=is_staff,
        roles=roles,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as e:  # a concurrent registration of the same login won the race
        session.rollback()
        raise AppError(409, "LOGIN_TAKEN", field="email" if email else "phone") from e
    return user


def register(session: Session, data: schemas.RegisterIn) -> User:
    """A customer account, with the legal documents it accepted and the purposes chosen on the form, in one
    transaction."""
    legal.check_accepted(data.agreements)
    passwords.check(data.password, field="password", personal=[data.phone, data.email, data.name])
    customer = _roles_by_name(session, ["customer"])
    user = _new_user(
        session,
        email=data.email,
        phone=data.phone,
        password=data.password,
        name=data.name,
        roles=customer,
        is_staff=False,
    )
    legal.record(session, user.id, data.agreements, "registration")
    consents.record_registration(session, user, data.consents)
    session.commit()
    return user


def _login_scopes(login: str, user: User | None) -> list[Scope]:
    """What a login try is counted against: the account (a known one by its id, an unknown login by its normalised
    form) and the client IP."""
    s = get_settings()
    if user is not None:
        account = f"user:{user.id}"
    else:
        kind, value = _login_index(login) or ("other", login.strip().lower())
        account = f"{kind}:{sha256_hex(value)}"
    return [
        Scope("account", "login:account:" + account, s.login_free_failures),
        Scope("ip", "login:ip:" + sha256_hex(client_info.get().ip), s.login_ip_free_failures),
    ]


def authenticate(session: Session, cache: Cache, login: str, password: str) -> User:
    """Check a login, throttled per account and per client IP (accounts/throttle.py)."""
    user = find_by_login(session, login)
    scopes = _login_scopes(login, user)
    attempt = LoginThrottle(cache, get_settings()).begin(scopes)
    right = verify_password(user.password_hash if user else None, password)  # the same work for unknown logins
    if user is None or not right:
        for scope, failures, delay in attempt.failed():
            audit(
                session,
                actor_id=user.id if user else None,
                actor_login=login[:254],
                action="auth.lockout",
                subject_type="user" if scope.name == "account" else "client",
                subject_id=(user.id if user else "") if scope.name == "account" else client_info.get().ip,
                outcome="denied",
                detail={"scope": scope.name, "failures": failures, "delay_seconds": delay},
            )
        session.commit()
        raise AppError(401, "INVALID_CREDENTIALS")
    attempt.succeeded(scopes[0])
    if not user.is_active:
        raise AppError(403, "ACCOUNT_DISABLED")
    user.last_login_at = datetime.now(UTC)
    if user.is_staff:
        audit(
            session,
            actor_id=user.id,
            actor_login=user.login,
            action="auth.staff_login",
            subject_type="user",
            subject_id=user.id,
        )
    session.commit()
    return user


def issue_tokens(session: Session, user: User, family: str | None = None) -> schemas.TokensOut:
    """A refresh token in `family` (a new login unless given) and an access token bound to that login."""
    family = family or uuid.uuid4().hex
    access, expires_in = issue_access_token(user.id, family)
    token, token_hash = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=token_hash,
            family=family,
            expires_at=datetime.now(UTC) + timedelta(days=get_settings().refresh_token_days),
        )
    )
    session.commit()
    return schemas.TokensOut(access_token=access, refresh_token=token, expires_in=expires_in)


# A login's access tokens work while it has a refresh token not yet revoked. The verdict "still live" is kept
# this long in the cache so most requests need no query; ending a login drops it at once (in every process
# with Redis; without Redis another process may take this long to notice).
LIVE_VERDICT_SECONDS = 15


def _live_key(family: str) -> str:
    return "login-live:" + family


def login_is_live(session: Session, cache: Cache, family: str) -> bool:
    """Whether a login (refresh-token family) still stands: not logged out, not ended by a password change, a
    spent token's reuse or an account's suspension."""
    if cache.get(_live_key(family)):
        return True
    live = session.scalar(
        select(RefreshToken.id).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None)).limit(1)
    )
    if live is not None:
        cache.set(_live_key(family), "1", LIVE_VERDICT_SECONDS)
    return live is not None


def _end_logins(session: Session, *conditions) -> list[str]:
    """Revoke the refresh tokens matching `conditions` (in the caller's transaction); returns their families,
    whose live verdicts the caller drops with `_forget_live` once the change is committed."""
    families = list(
        session.scalars(select(RefreshToken.family).where(RefreshToken.revoked_at.is_(None), *conditions).distinct())
    )
    session.execute(
        update(RefreshToken).where(RefreshToken.revoked_at.is_(None), *conditions).values(revoked_at=datetime.now(UTC))
    )
    return families


def _forget_live(cache: Cache, families: list[str]) -> None:
    if families:
        cache.delete(*(_live_key(f) for f in families))


def refresh(session: Session, cache: Cache, token: str) -> schemas.TokensOut:
    """Rotate a refresh token. Presenting a spent one ends its whole login (a stolen token)."""
    return retrying(session, lambda: _rotate(session, cache, token))


def _rotate(session: Session, cache: Cache, token: str) -> schemas.TokensOut:
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(token)))
    if row is None:
        raise AppError(401, "INVALID_TOKEN")
    now = datetime.now(UTC)
    claimed = session.execute(
        update(RefreshToken).where(RefreshToken.id == row.id, RefreshToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    spent = cast(CursorResult, claimed).rowcount == 0
    user = session.get(User, row.user_id)
    if spent or user is None or not user.is_active:
        _end_logins(session, RefreshToken.family == row.family)
        if spent:
            audit(
                session,
                actor_id=row.user_id,
                action="auth.refresh_reuse",
                subject_type="user",
                subject_id=row.user_id,
                outcome="denied",
            )
        session.commit()
        _forget_live(cache, [row.family])
        raise AppError(401, "INVALID_TOKEN")
    if row.expires_at <= now:
        session.commit()
        _forget_live(cache, [row.family])
        raise AppError(401, "TOKEN_EXPIRED")
    return issue_tokens(session, user, family=row.family)


def logout(session: Session, cache: Cache, token: str) -> None:
    """End the login this refresh token belongs to: its refresh and access tokens stop working at once."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(token)))
    if row is not None:
        _end_logins(session, RefreshToken.family == row.family)
        session.commit()
        _forget_live(cache, [row.family])


# --- the customer's own data ------------------------------------------------------------------------------


def me(session: Session, user: User) -> schemas.MeOut:
    computed = ("roles", "permissions", "pending_agreements")
    fields = {f: getattr(user, f) for f in schemas.MeOut.model_fields if f not in computed}
    return schemas.MeOut(
        **fields,
        roles=user.role_names,
        permissions=sorted(permissions_of(user)),
        pending_agreements=[] if user.is_staff else legal.pending(session, user.id),
    )


def update_profile(session: Session, user: User, data: schemas.ProfileIn) -> User:
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in ("name", "gender", "region", "city", "occupation"):
            continue  # these columns are never null; null means "leave as is"
        setattr(user, field, value)
    session.commit()
    return user


def change_password(session: Session, cache: Cache, user: User, data: schemas.PasswordIn) -> schemas.TokensOut:
    if not verify_password(user.password_hash, data.current_password):
        raise AppError(422, "WRONG_PASSWORD", field="current_password")
    passwords.check(data.new_password, field="new_password", personal=[user.phone, user.email, user.name])
    user.password_hash = hash_password(data.new_password)
    # Every login of the user ends, this one too (its token may be the stolen one); the caller gets a new one.
    ended = _end_logins(session, RefreshToken.user_id == user.id)
    session.commit()
    _forget_live(cache, ended)
    return issue_tokens(session, user)


def list_addresses(session: Session, user: User) -> list[Address]:
    return list(
        session.scalars(
            select(Address).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id)
        )
    )


def get_address(session: Session, user: User, address_id: int) -> Address:
    """The address if it belongs to the user; another user's address is 'not found', never shown."""
    return get_or_404(session, Address, address_id, "address", owner_id=user.id)


def _make_default(session: Session, user: User, address: Address) -> None:
    session.execute(
        update(Address).where(Address.user_id == user.id, Address.id != address.id).values(is_default=False)
    )
    address.is_default = True


def create_address(session: Session, user: User, data: schemas.AddressIn) -> Address:
    first = session.scalar(select(func.count()).where(Address.user_id == user.id)) == 0
    address = Address(user_id=user.id, **data.model_dump(exclude={"is_default"}))
    session.add(address)
    session.flush()
    if data.is_default or first:
        _make_default(session, user, address)
    session.commit()
    return address


def update_address(session: Session, user: User, address_id: int, data: schemas.AddressPatch) -> Address:
    address = get_address(session, user, address_id)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    make_default = changes.pop("is_default", None)
    for field, value in changes.items():
        setattr(address, field, value)
    if make_default:
        _make_default(session, user, address)
    elif make_default is False:
        address.is_default = False
    session.commit()
    return address


def delete_address(session: Session, user: User, address_id: int) -> None:
    address = get_address(session, user, address_id)
    session.delete(address)
    session.commit()


# --- staff views of users -------------------------------------------------------------------------------------


CUSTOMER_PII = {"email": "email", "phone": "phone", "real_name": "name", "id_number": "id_number"}


def _staff_fields(user: User) -> dict[str, Any]:
    """A user's fields as staff see them: a customer's personal data masked, for every viewer (the full values
    only through reveal_user). Staff accounts show their work login in full to those who manage them."""
    fields = {
        "id": user.id,
        "email": user.email,
        "phone": user.phone,
        "name": user.name,
        "is_staff": user.is_staff,
        "licence_no": user.licence_no,
        "is_active": user.is_active,
        "roles": user.role_names,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
        "gender": user.gender,
        "birth_date": user.birth_date,
        "region": user.region,
        "city": user.city,
        "occupation": user.occupation,
        "real_name": user.real_name,
        "id_number": user.id_number,
        "masked": not user.is_staff,
    }
    return mask_fields(fields, CUSTOMER_PII) if fields["masked"] else fields


def user_view(user: User, viewer_permissions: set[str] | None = None) -> schemas.UserOut:
    """A user in a staff list, masked alike for every viewer (`viewer_permissions` unmasks nothing)."""
    return schemas.UserOut.model_validate(_staff_fields(user))


def user_detail_view(user: User, viewer_permissions: set[str] | None = None) -> schemas.UserDetailOut:
    """A user's page for staff, masked alike for every viewer (`viewer_permissions` unmasks nothing)."""
    return schemas.UserDetailOut.model_validate(_staff_fields(user))


def reveal(
    session: Session,
    viewer: User,
    subject_type: str,
    subject_id: int,
    values: dict[str, str | None],
    purpose: str,
    needs: str,
) -> schemas.RevealOut:
    """Hand a record's full personal data to a viewer who stated why: audited (who, which record, which fields,
    why) in the same transaction. Every domain's reveal ends here. The route asks for pii:reveal; the viewer must
    also hold `needs`, the permission of the masked view itself (a reveal opens no view the viewer lacks)."""
    if needs not in permissions_of(viewer):
        raise AppError(403, "PERMISSION_DENIED", permission=needs)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="pii.reveal",
        subject_type=subject_type,
        subject_id=subject_id,
        detail={"purpose": purpose, "fields": sorted(values)},
    )
    session.commit()
    return schemas.RevealOut(subject_type=subject_type, subject_id=subject_id, values=values, purpose=purpose)


def reveal_user(session: Session, viewer: User, user_id: int, purpose: str) -> schemas.RevealOut:
    """A customer's masked fields in full, for the stated purpose."""
    user = get_or_404(session, User, user_id, "user")
    if user.is_staff:  # staff logins are shown in full already; a reveal is for customers' personal data
        raise not_found("user")
    values = {f: getattr(user, f) for f in CUSTOMER_PII}
    return reveal(session, viewer, "user", user.id, values, purpose, needs="users:read")


def search_users(
    session: Session,
    viewer: User,
    params: PageParams,
    *,
    q: str | None = None,
    is_staff: bool | None = None,
    role: str | None = None,
) -> tuple[list[User], int]:
    query = select(User)
    if is_staff is not None:
        query = query.where(User.is_staff == is_staff)
    if role:
        query = query.where(User.id.in_(select(user_roles.c.user_id).join(Role).where(Role.name == role)))
    if q:
        q = q.strip()
        conds = [User.name.contains(q, autoescape=True), User.email.contains(q.lower(), autoescape=True)]
        key = _login_index(q)
        if key and key[0] == "phone":
            conds.append(User.phone_index == key[1])  # an exact phone number finds its owner
        if q.isdigit() and len(q) < 10:
            conds.append(User.id == int(q))
        query = query.where(or_(*conds))
    rows, total = paginate(session, query.order_by(User.id.desc()), params)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="users.list",
        subject_type="user",
        detail={"q": q or "", "is_staff": is_staff, "role": role or "", "returned": [u.id for u in rows]},
    )
    session.commit()
    return rows, total


def read_user(session: Session, viewer: User, user_id: int) -> schemas.UserDetailOut:
    user = get_or_404(session, User, user_id, "user")
    view = user_detail_view(user)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="users.read",
        subject_type="user",
        subject_id=user.id,
        detail={"unmasked": not view.masked},
    )
    session.commit()
    return view


def create_staff(session: Session, actor: User, data: schemas.StaffIn) -> User:
    if "customer" in data.roles:
        raise AppError(422, "ROLE_NOT_STAFF", field="roles", role="customer")
    roles = _roles_by_name(session, data.roles)
    _check_grantable(actor, {p for r in roles for p in r.permissions})
    passwords.check(data.password, field="password", personal=[data.phone, data.email, data.name])
    user = _new_user(
        session, email=data.email, phone=data.phone, password=data.password, name=data.name, roles=roles, is_staff=True
    )
    user.licence_no = data.licence_no
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="staff.create",
        subject_type="user",
        subject_id=user.id,
        detail={"roles": data.roles},
    )
    session.commit()
    return user


def _active_admins(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(User.id).join(user_roles).join(Role).where(Role.name == "admin", User.is_active.is_(True))
        )
    )


def update_user(session: Session, actor: User, user_id: int, data: schemas.UserPatch) -> User:
    user = get_or_404(session, User, user_id, "user")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    before = {"name": user.name, "is_active": user.is_active, "roles": user.role_names, "licence_no": user.licence_no}
    admins = _active_admins(session)
    if "roles" in changes:
        roles = _roles_by_name(session, changes["roles"])
        added = {p for r in roles for p in r.permissions} - permissions_of(user)
        _check_grantable(actor, added)
        if user.is_staff and "customer" in changes["roles"]:
            raise AppError(422, "ROLE_NOT_STAFF", field="roles", role="customer")
        user.roles = roles
    if "is_active" in changes:
        user.is_active = changes["is_active"]
        if not user.is_active:
            _end_logins(session, RefreshToken.user_id == user.id)
    for field in ("name", "licence_no"):
        if field in changes:
            setattr(user, field, changes[field])
    still_admin = user.is_active and "admin" in user.role_names
    if user.id in admins and not still_admin and len(admins) == 1:
        session.rollback()
        raise AppError(409, "LAST_ADMIN")
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="users.update",
        subject_type="user",
        subject_id=user.id,
        detail={
            "before": before,
            "after": {
                "name": user.name,
                "is_active": user.is_active,
                "roles": user.role_names,
                "licence_no": user.licence_no,
            },
        },
    )
    session.commit()
    return user


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.builtin.desc(), Role.name)))


def _get_role(session: Session, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise not_found("role")
    return role


def create_role(session: Session, actor: User, data: schemas.RoleIn) -> Role:
    _check_grantable(actor, set(data.permissions))
    if session.scalar(select(Role.id).where(Role.name == data.name)):
        raise AppError(409, "CONFLICT", field="name")
    role = Role(
        name=data.name,
        description=data.description,
        builtin=False,
        grants=[RolePermission(permission=p) for p in data.permissions],
    )
    session.add(role)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="roles.create",
        subject_type="role",
        subject_id=data.name,
        detail={"permissions": data.permissions},
    )
    session.commit()
    return role


def update_role(session: Session, actor: User, name: str, data: schemas.RolePatch) -> Role:
    role = _get_role(session, name)
    if role.builtin:
        raise AppError(409, "ROLE_BUILTIN")
    before = role.permissions
    if data.description is not None:
        role.description = data.description
    if data.permissions is not None:
        _check_grantable(actor, set(data.permissions) - set(before))
        role.grants = [g for g in role.grants if g.permission in data.permissions] + [
            RolePermission(permission=p) for p in data.permissions if p not in before
        ]
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="roles.update",
        subject_type="role",
        subject_id=name,
        detail={"before": before, "after": data.permissions},
    )
    session.commit()
    session.refresh(role)
    return role


def delete_role(session: Session, actor: User, name: str) -> None:
    role = _get_role(session, name)
    if role.builtin:
        raise AppError(409, "ROLE_BUILTIN")
    if session.scalar(select(func.count()).select_from(user_roles).where(user_roles.c.role_id == role.id)):
        raise AppError(409, "ROLE_IN_USE")
    session.delete(role)
    audit(
        session, actor_id=actor.id, actor_login=actor.login, action="roles.delete", subject_type="role", subject_id=name
    )
    session.commit()


def permission_catalogue() -> list[schemas.PermissionOut]:
    return [schemas.PermissionOut(code=c, description=d) for c, d in PERMISSIONS.items()]


def create_admin(
    session: Session, *, email: str | None, phone: str | None, password: str, name: str = "管理员"
) -> User:
    """For the CLI: an admin account (or, if the login exists, give it the admin role and a new password)."""
    passwords.check(password, field="password", personal=[email, phone, name])
    ensure_builtin_roles(session)
    admin = _roles_by_name(session, ["admin"])
    user = find_by_login(session, email or phone or "")
    if user is None:
        user = _new_user(session, email=email, phone=phone, password=password, name=name, roles=admin, is_staff=True)
    else:
        user.password_hash = hash_password(password)
        user.is_staff, user.is_active = True, True
        if "admin" not in user.role_names:
            user.roles = [*user.roles, *admin]
    audit(
        session, actor_id=None, actor_login="cli", action="staff.create_admin", subject_type="user", subject_id=user.id
    )
    session.commit()
    return user
