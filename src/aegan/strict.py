"""The base of every config model: frozen, unknown keys rejected, no inf/NaN, no bool for a number.

pydantic's lax mode would take ``steps: true`` as 1 and ``lr: .inf`` as a learning rate;
both are a user's mistake, so every section, method, dataset, model family and metric
parameter model derives from ``StrictModel`` and rejects them with the key named.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

# bounds shared by the configs: larger values are a typo or fail at allocation
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit integer
MAX_BATCH = 2**20
MAX_WIDTH = 2**16  # units or channels of one layer
MAX_DEPTH = 64  # layers
MAX_SAMPLES = 10**7  # evaluation samples


def _numeric(annotation: Any) -> bool:
    """int or float, alone or in a union (``int | None``); Annotated wrappers are stripped by pydantic."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_numeric(a) for a in typing.get_args(annotation))
    return False


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name)
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
        return value
