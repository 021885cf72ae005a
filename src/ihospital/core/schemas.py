"""The base of every API shape: unknown fields are refused, text is trimmed."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True, str_strip_whitespace=True)


class Page(Schema, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    page: int
    page_size: int
