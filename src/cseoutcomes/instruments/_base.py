"""The pydantic base every definition model shares: frozen, no unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Frozen, strict-about-fields base for definition models.

    ``extra="forbid"`` turns a misspelt field in a YAML file into an error that
    names it, instead of a silently ignored key.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        use_attribute_docstrings=True,
        validate_default=False,
    )
