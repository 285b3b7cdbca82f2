"""Shared request parameter types."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

# Row ids fit a 32-bit signed integer on every database; anything else is a 422, not a driver error.
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _moment(value: datetime) -> datetime:
    """A point in time we can store: it names its time zone and lies in 1970-2999 (UTC)."""
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-11-25T10:00:00+08:00")
    try:
        utc = value.astimezone(UTC)
    except OverflowError as e:
        raise ValueError("time out of range") from e
    if not 1970 <= utc.year <= 2999:
        raise ValueError("time out of range (1970-2999)")
    return utc


# Every time a client sends: aware and within a range all three databases store.
Moment = Annotated[datetime, AfterValidator(_moment)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
