"""Example counts of the fuzz tests (tests/unit/test_ingest_fuzz.py, tests/integration/test_openapi_fuzz.py)
and a tally of the cases they really generated.

`make test` (and so CI) runs them at their base counts. `KEFU_FUZZ_SCALE=n` multiplies every count by n:
`make fuzz` sets it (10 by default, ≥ 10,000 cases in all) and loads this module as a pytest plugin
(`-p tests.fuzzing`), which prints the tally per test and in total at the end of the run. Hypothesis
may generate fewer cases than asked where an input space is small (an operation without parameters),
so the tally counts the test's calls, not the settings.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

SCALE = max(1, int(os.environ.get("KEFU_FUZZ_SCALE", "1") or "1"))
CASES: Counter[str] = Counter()


def examples(base: int) -> int:
    """The hypothesis `max_examples` of a fuzz test whose CI count is `base`."""
    return base * SCALE


def count_case(test: str) -> None:
    CASES[test] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Only when loaded with `-p tests.fuzzing` (make fuzz)."""
    if not CASES:
        return
    terminalreporter.section(f"fuzz cases generated (KEFU_FUZZ_SCALE={SCALE})")
    for test, n in sorted(CASES.items()):
        terminalreporter.write_line(f"{n:>8,}  {test}")
    terminalreporter.write_line(f"{sum(CASES.values()):>8,}  in total")
