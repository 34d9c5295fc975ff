"""Field types every model shares: identifiers, channels, coordinates, with their limits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

CLIENT_TEXT = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
MAX_IDENTIFIER_CHARS = 64  # SKUs and locations
MAX_CLIENT_ID_CHARS = 128  # reservations, events, counts: ids a client picks

Identifier = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_IDENTIFIER_CHARS, pattern=r"^[A-Za-z0-9._:/-]+$"
    ),
]
ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CLIENT_ID_CHARS, pattern=CLIENT_TEXT)
]
Channel = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=CLIENT_TEXT)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class In(BaseModel):
    """What a client sends: unknown fields are refused, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        """Built by a route from what the client sent (query parameters, say), a refusal is the
        client's invalid input (422), as when the framework validates it, not a failure (500)."""
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise RequestValidationError(error.errors(include_url=False)) from None


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)
