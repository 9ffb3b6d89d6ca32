"""The staffing now-cast (streams/core/staffing.py) against worked Erlang C values.

Textbook case: 100 calls in 30 minutes with a mean handling time of 180 s offer λ·h = 100/1800 × 180 = 10
Erlang. Erlang C tables give the probability of waiting with c = 11..14 servers as 0.6821, 0.4494,
0.2853, 0.1741; the share answered within 20 s is 1 − P_wait·e^(−(c − 10)·20/180):
  c = 12: 1 − 0.4494 × e^(−2/9) = 0.6402;  c = 13: 1 − 0.2853 × e^(−1/3) = 0.7956;
  c = 14: 1 − 0.1741 × e^(−4/9) = 0.8884  → 14 servers reach an 80 % target, 13 do not.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from streams.core.staffing import agents_needed, erlang_c, nowcast, servers_of, service_level

TABLE = {11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741}


@pytest.mark.parametrize(("servers", "waiting"), TABLE.items())
def test_erlang_c_matches_the_table(servers: int, waiting: float) -> None:
    assert erlang_c(10.0, servers) == pytest.approx(waiting, abs=5e-5)


def test_erlang_c_equals_the_closed_formula() -> None:
    for load, servers in ((0.5, 1), (3.7, 5), (10.0, 11), (42.0, 50), (180.0, 200)):
        a = Fraction(load)  # exact: the formula's powers and factorials overflow floats
        top = a ** servers / math.factorial(servers) * servers / (servers - a)
        bottom = sum(a ** k / math.factorial(k) for k in range(servers)) + top
        assert erlang_c(load, servers) == pytest.approx(float(top / bottom), rel=1e-9)


@pytest.mark.parametrize(("servers", "level"), [(12, 0.6402), (13, 0.7956), (14, 0.8884)])
def test_service_level_worked_values(servers: int, level: float) -> None:
    assert service_level(10.0, servers, 180, 20) == pytest.approx(level, abs=5e-4)


def test_agents_needed_for_the_textbook_target() -> None:
    assert agents_needed(10.0, 12, 1, 180, 20, 0.8) == 2  # 14 servers
    assert agents_needed(10.0, 14, 1, 180, 20, 0.8) == 0
    assert agents_needed(10.0, 0, 1, 180, 20, 0.8) == 14


def test_overload_and_no_load() -> None:
    assert erlang_c(10.0, 10) == 1.0 and service_level(10.0, 10, 180, 20) == 0.0  # A ≥ c: the queue grows
    assert erlang_c(0.0, 3) == 0.0 and service_level(0.0, 0, 180, 20) == 1.0  # nobody arrives
    assert agents_needed(0.0, 0, 3, 180, 20, 0.9) == 0


def test_chat_concurrency_multiplies_the_servers_rounded_down() -> None:
    assert servers_of(5, 3) == 15
    assert servers_of(5, 2.5) == 12
    assert servers_of(3, 0.1 * 3 / 0.3) == 3  # float noise does not lose a server


def test_the_nowcast_of_a_group_moves_the_right_way_with_agents() -> None:
    # 50 new buyers in 15 minutes, 270 s per buyer (load 15 Erlang), 3 buyers per agent, SLA 180 s.
    before = nowcast(50, 900, 270, 5, 3, 180, 0.9)
    assert before.arrival_per_s == pytest.approx(50 / 900) and before.servers == 15
    assert before.predicted_sla_rate == 0.0  # 15 servers for 15 Erlang: overloaded
    after = nowcast(50, 900, 270, 5 + before.agents_needed, 3, 180, 0.9)
    assert after.predicted_sla_rate >= 0.9 and after.agents_needed == 0
    one_less = nowcast(50, 900, 270, 5 + before.agents_needed - 1, 3, 180, 0.9)
    assert one_less.predicted_sla_rate < 0.9  # the fewest
    levels = [nowcast(50, 900, 270, n, 3, 180).predicted_sla_rate for n in range(5, 12)]
    assert levels == sorted(levels)  # more agents never predict worse
