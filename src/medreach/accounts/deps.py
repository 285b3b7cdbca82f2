"""Request dependencies every domain's router uses: the session, the caller, and permission checks.

Each route declares exactly one kind of access, and tests read it back from the route:
`public` (no dependency), `authenticated` (CurrentUser) or a permission (`require("users:read")`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.accounts.service import login_is_live, permissions_of
from medreach.core.cache import Cache
from medreach.core.errors import AppError
from medreach.core.security import TokenError, read_access_token
from medreach.ops.service import audit


def declare_access(dependency: Callable[..., Any], access: str) -> None:
    """Mark a dependency with the access it stands for; tests read it back from every route."""
    dependency.__dict__["access"] = access


_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login")


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.db.sessions()
    try:
        yield session
    finally:
        session.close()  # anything not committed by the service is rolled back


def get_cache(request: Request) -> Cache:
    return request.app.state.cache


DbSession = Annotated[Session, Depends(get_session)]
AppCache = Annotated[Cache, Depends(get_cache)]


def current_user(
    session: DbSession,
    cache: AppCache,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller of a valid access token whose login still stands (logging out, changing the password or a
    suspension ends it at once) and whose account is active."""
    if credentials is None:
        raise AppError(401, "NOT_AUTHENTICATED", headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = read_access_token(credentials.credentials)
    except TokenError as e:
        raise AppError(401, e.code, headers={"WWW-Authenticate": "Bearer"}) from e
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or not login_is_live(session, cache, claims.session):
        raise AppError(401, "INVALID_TOKEN", headers={"WWW-Authenticate": "Bearer"})
    return user


declare_access(current_user, "authenticated")
CurrentUser = Annotated[User, Depends(current_user)]


def optional_user(
    session: DbSession,
    cache: AppCache,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The caller if they sent a valid token, else None (a guest). A bad token is still an error."""
    return None if credentials is None else current_user(session, cache, credentials)


declare_access(optional_user, "public")
MaybeUser = Annotated[User | None, Depends(optional_user)]


def require(permission: str):
    """A dependency that returns the caller if they hold `permission`; refusals are audited."""

    def check(request: Request, user: CurrentUser) -> User:
        if permission not in permissions_of(user):
            with request.app.state.db.session() as s:  # its own transaction: the request itself fails
                audit(
                    s,
                    actor_id=user.id,
                    actor_login=user.login,
                    action="permission.denied",
                    subject_type="route",
                    subject_id=request.url.path[:64],
                    outcome="denied",
                    detail={"permission": permission, "method": request.method},
                )
            raise AppError(403, "PERMISSION_DENIED", permission=permission)
        return user

    declare_access(check, permission)
    return Depends(check)


def anonymous_id(request: Request) -> str | None:
    """The storefront tracker's anonymous id (header X-Anonymous-Id), so server events join the same
    visitor's browser events."""
    return request.headers.get("x-anonymous-id", "")[:64] or None
