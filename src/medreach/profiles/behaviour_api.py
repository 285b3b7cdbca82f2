"""Behaviour analysis routes (issue 13, 5.1) under /api/v1/admin/behaviour: the shop's funnel, searches, browsing,
category interest, purchases and reviews over a range of Shanghai days, filtered by channel and device
(`analytics:read`), and one customer's behaviour for the customer 360 page (`profiles:read`, audited). Each route
calls one function of `profiles.behaviour`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.params import IdPath
from medreach.profiles import behaviour
from medreach.profiles import behaviour_schemas as schemas

router = APIRouter(prefix="/api/v1/admin/behaviour", tags=["behaviour"])
Analyst = Annotated[User, require("analytics:read")]
Dimension = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[\w .:/+-]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]


def asked(
    start: Annotated[date | None, Query(description="first Shanghai day (default: 29 days before the end)")] = None,
    end: Annotated[date | None, Query(description="last Shanghai day (default: the last day with data)")] = None,
    channel: Dimension = None,
    device: Dimension = None,
) -> behaviour.Asked:
    return behaviour.Asked(start, end, channel, device)


Asked = Annotated[behaviour.Asked, Depends(asked)]


@router.get("/overview", response_model=schemas.OverviewPage)
def overview(request: Request, q: Asked, _: Analyst):
    """Headline figures over the range, the range itself, and the days, channels and devices there are."""
    return behaviour.overview_page(request.app.state.settings, q)


@router.get("/funnel", response_model=schemas.FunnelOut)
def funnel(
    request: Request,
    q: Asked,
    _: Analyst,
    window_days: Annotated[int, Query(ge=1, le=30)] = behaviour.DEFAULT_WINDOW_DAYS,
    by: Annotated[Literal["day", "channel", "device"] | None, Query()] = None,
):
    """View -> cart -> checkout -> paid: people (within the conversion window) and sessions at each step."""
    return behaviour.funnel_page(request.app.state.settings, q, window_days, by)


@router.get("/searches", response_model=schemas.SearchesPage)
def searches(request: Request, q: Asked, _: Analyst, limit: Limit = 20):
    """Top search terms and zero-result terms, with search-to-purchase rates."""
    return behaviour.searches_page(request.app.state.settings, q, limit)


@router.get("/browsing", response_model=schemas.BrowsingPage)
def browsing(request: Request, q: Asked, _: Analyst, limit: Limit = 15):
    """Product views by category, brand and price band."""
    return behaviour.browsing_page(request.app.state.settings, q, limit)


@router.get("/interest", response_model=schemas.InterestOut)
def interest(
    request: Request,
    q: Asked,
    _: Analyst,
    interval: Annotated[Literal["day", "week"], Query()] = "day",
    top: Annotated[int, Query(ge=1, le=20)] = 8,
):
    """Product views of the most viewed categories per day or week."""
    return behaviour.interest_page(request.app.state.settings, q, interval, top)


@router.get("/purchases", response_model=schemas.PurchasesPage)
def purchases(request: Request, q: Asked, _: Analyst, limit: Limit = 15):
    """Paid orders: per day, frequency, order values, basket sizes, revenue by category."""
    return behaviour.purchases_page(request.app.state.settings, q, limit)


@router.get("/interactions", response_model=schemas.InteractionsPage)
def interactions(request: Request, q: Asked, _: Analyst, limit: Limit = 15):
    """Reviews and ratings: how many, their spread, per day and per category."""
    return behaviour.interactions_page(request.app.state.settings, q, limit)


@router.get("/customers/{user_id}", response_model=schemas.CustomerBehaviourOut)
def customer(
    user_id: IdPath,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("profiles:read")],
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
):
    """One customer's behaviour (default: all of it), for the customer 360 page; every read is audited."""
    return behaviour.customer_page(session, request.app.state.settings, actor, user_id, behaviour.Asked(start, end))
