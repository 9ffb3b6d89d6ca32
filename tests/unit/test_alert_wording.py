"""A webhook names an alert kind with the words the screens use (streams/alerts/formats.py ↔ web/src/i18n.js)."""

from __future__ import annotations

import re
from pathlib import Path

from streams.alerts.formats import KIND_NAMES

I18N = Path(__file__).resolve().parents[2] / "web" / "src" / "i18n.js"


def screen_kind_names() -> dict[str, str]:
    """The Chinese alert-kind labels of the screens (the first, zh, table of i18n.js)."""
    found: dict[str, str] = {}
    for kind, label in re.findall(r'^\s*alert_kind_(\w+): "([^"]*)"', I18N.read_text(), re.MULTILINE):
        found.setdefault(kind, label)
    return found


def test_buyer_waiting_reads_the_same_on_the_webhook_and_the_screen() -> None:
    assert screen_kind_names()["buyer_waiting"] == KIND_NAMES["buyer_waiting"] == "买家等待过久"


def test_every_kind_reads_the_same_on_the_webhook_and_the_screen() -> None:
    screen = screen_kind_names()
    assert set(KIND_NAMES) <= set(screen)
    assert {kind: screen[kind] for kind in KIND_NAMES} == KIND_NAMES
