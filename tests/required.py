"""What to do when a test's tool is missing (a browser, Playwright, hadolint, ...): skip on a developer's
machine, saying what to install; fail under CI (`CI=true`, as `.ci/run` sets it), so a CI run can never
go green by skipping the browser or deploy tests it was meant to run.

Use `missing(reason)` where a test would `pytest.skip`, and `import_required(module, reason)` instead
of `pytest.importorskip` (both also work at module level).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} — required under CI=true", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def import_required(module: str, reason: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing(f"{reason} ({exc})")
