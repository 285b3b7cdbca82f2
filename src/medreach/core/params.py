"""Shared request parameter types."""

from typing import Annotated

from fastapi import Path

# Row ids fit a 32-bit signed integer on every database; anything else is a 422, not a driver error.
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
