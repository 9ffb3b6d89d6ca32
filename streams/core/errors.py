"""The one error of the pure core: an input (event, shop settings, alert rules) breaks a rule of its contract.

`Invalid(field, error)` names the offending field (a dotted path when nested) and says what is wrong; the
API turns it into its 4xx body, the worker into a dead letter. Each input has its own subclass so a
caller can tell them apart, but they carry the same two things and format them the same way.
"""

from __future__ import annotations


class Invalid(ValueError):
    """`field: error`, with both kept as attributes."""

    def __init__(self, field: str, error: str) -> None:
        super().__init__(f"{field}: {error}")
        self.field = field
        self.error = error
