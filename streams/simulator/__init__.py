"""A realistic, deterministic Double-11 shop simulator for Kefu Pulse (`python -m streams.simulator -h`).

`add_arguments(parser)` + `await run(args)` let another CLI (`kefu-pulse simulate`) embed it.
"""

from streams.simulator.cli import add_arguments, main, run
from streams.simulator.model import (
    FILTER_PHRASES,
    INTERNAL_BUYERS,
    ShopSimulator,
    day_simulator,
    live_simulator,
)
from streams.simulator.sinks import Envelope, event_key, group_envelopes

__all__ = [
    "FILTER_PHRASES", "INTERNAL_BUYERS", "Envelope", "ShopSimulator", "add_arguments", "day_simulator",
    "event_key", "group_envelopes", "live_simulator", "main", "run",
]
