"""`make run`'s path (deploy/local/stack.sh run: stack, the demo shops' settings, the simulator in demo
mode) looks like a Double-11 team within 90 s: the wall's day already has sales and a conversion where
real teams report it (issue 17), read from the REST API like a screen would.

Runs stack.sh run itself on its own data dir and free ports (tests/stack.py's LocalStack supplies them)
with the wall clock, as `make run` does; stops it with SIGINT (Ctrl-C) and checks nothing is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.client import Api
from tests.stack import STACK_SH, LocalStack

pytestmark = pytest.mark.integration
DEMO_S = 90  # seconds of simulator the issue allows
FIRST_MINUTES_S = 600


def test_make_run_shows_a_team_with_sales_and_real_conversion_within_90_s() -> None:
    stack = LocalStack(clock="wall")
    log = stack.data_dir / "run.log"
    with log.open("wb") as out:
        run = subprocess.Popen(["bash", str(STACK_SH), "run"], cwd=STACK_SH.parents[2], env=stack.process_env(),
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    api = Api(stack)
    began = time.monotonic()
    try:
        deadline = time.monotonic() + 600
        while b"simulator:" not in log.read_bytes():  # the stack is up and the settings are stored
            assert run.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        simulating = time.monotonic()
        print(f"stack up and settings stored in {simulating - began:.0f} s")
        time.sleep(max(0.0, simulating + DEMO_S - time.monotonic()))
        # A day's conversion needs the day to have begun: in its first minutes (00:00 Asia/Shanghai) the
        # cohort has had no time to buy, on any wall. Then read once the day is 10 minutes old.
        day_age_s = (time.time() + 8 * 3600) % 86_400
        time.sleep(max(0.0, FIRST_MINUTES_S - day_age_s))
        assert run.poll() is None, log.read_text()
        text = log.read_text()
        summary = api.get("demo-shop", "summary")
        team = summary["team"]
        print(f"after {DEMO_S} s: sales {team['sales']}, conversion {team['inquiry_pay_rate']}, "
              f"3-min rate {team['sla_rate']}; back-fill: {[x for x in text.splitlines() if 'back-fill' in x]}")
        assert "back-fill done" in text, text  # yesterday and today so far are in
        assert team["sales"] > 0
        assert team["inquiry_pay_rate"] is not None and 0.30 <= team["inquiry_pay_rate"] <= 0.55, team
        live = api.get("demo-shop", "live")
        assert max(a["active_conversations"] for a in live["agents"]) <= 25
        for shop in ("demo-flagship", "demo-outlet", "demo-jd"):  # the 作战大屏's other shops
            assert api.get(shop, "summary")["team"]["sales"] > 0, shop
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the trap stops the simulator, then the stack
            try:
                run.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
        ended = log.read_text()
        stack.stop()
    assert "stopping the stack" in ended, ended
