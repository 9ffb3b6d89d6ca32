"""A realistic, deterministic Double-11 shop simulator for Kefu Pulse (`python -m streams.tools.simulator -h`).

`add_arguments(parser)` + `await run(args)` let another CLI (`kefu-pulse simulate`) embed it.
"""

from streams.tools.simulator.cli import add_arguments, main, run
from streams.tools.simulator.model import (
    FILTER_PHRASES,
    INTERNAL_BUYERS,
    ShopSimulator,
    day_simulator,
    live_simulator,
)
from streams.tools.simulator.sinks import Envelope, event_key, group_envelopes

__all__ = [
    "FILTER_PHRASES", "INTERNAL_BUYERS", "Envelope", "ShopSimulator", "add_arguments", "day_simulator",
    "event_key", "group_envelopes", "live_simulator", "main", "run",
]
