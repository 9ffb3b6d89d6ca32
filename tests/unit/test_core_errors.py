"""One error class for every invalid input of the core (streams/core/errors.py)."""

from __future__ import annotations

import pytest

from streams.alerts.rules import InvalidRules
from streams.core.errors import Invalid
from streams.core.events import InvalidEvent, parse_event
from streams.core.shop_settings import InvalidSettings, parse_settings


@pytest.mark.parametrize("cls", [InvalidEvent, InvalidRules, InvalidSettings])
def test_each_input_has_its_subclass_of_invalid(cls: type[Invalid]) -> None:
    exc = cls("rules[0].threshold", "must be a number")
    assert isinstance(exc, Invalid) and isinstance(exc, ValueError)
    assert (exc.field, exc.error, str(exc)) == ("rules[0].threshold", "must be a number",
                                                "rules[0].threshold: must be a number")


def test_callers_can_catch_any_invalid_input() -> None:
    with pytest.raises(Invalid) as event:
        parse_event({"type": "chat.nope"})
    assert isinstance(event.value, InvalidEvent)
    with pytest.raises(Invalid) as settings:
        parse_settings({"sla_s": -1})
    assert isinstance(settings.value, InvalidSettings) and settings.value.field == "sla_s"
