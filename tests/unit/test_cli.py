"""`kefu-pulse replay` of a recorded day: the table equals the engine's figures; bad input is refused
with the line number and rule, never a traceback."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import orjson

from streams.tools.cli import main
from tests import oracle


def simulated(tmp_path: Path) -> Path:
    out = tmp_path / "day.ndjson"
    subprocess.run([sys.executable, "-m", "streams.tools.simulator", "--mode", "day", "--day", "2026-11-11", "--shop",
                    "cli-shop", "--sink", "file", "--out", str(out), "--events", "3000", "--quiet"], check=True)
    return out


def test_replay_csv_equals_the_oracle(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    day_file = simulated(tmp_path)
    assert main(["replay", str(day_file), "--shop", "cli-shop", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    events = [orjson.loads(line) for line in day_file.read_bytes().splitlines()]
    expected = oracle.compute(events)["agents"]["2026-11-11"]
    assert {row["agent_id"] for row in rows} == set(expected)
    for row in rows:
        want = expected[row["agent_id"]]
        assert int(row["received_buyers"]) == want["received_buyers"]
        assert float(row["sales"]) == want["sales"]
        assert row["avg_response_s"] == ("" if want["avg_response_s"] is None else str(want["avg_response_s"]))


def test_replay_carries_the_balances_paid(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The 尾款金额 column: the hand-worked balance scenario (order_first) gives a1 ¥500 of balances on 11-11."""
    from tests.scenarios import SCENARIOS

    scenario = next(s for s in SCENARIOS if s["name"] == "balance_paid_today_order_first")
    day_file = tmp_path / "balances.ndjson"
    day_file.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in scenario["events"]))
    assert main(["replay", str(day_file), "--shop", scenario["events"][0]["shop_id"], "--day", "2026-11-11",
                 "--csv"]) == 0
    rows = {row["agent_id"]: row for row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert (float(rows["a1"]["balance_paid_amount"]), float(rows["a2"]["balance_paid_amount"])) == (500.0, 0.0)


def test_replay_refuses_bad_lines(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"event_id": "e1", "shop_id": "s", "type": "chat.message", "ts": 1794362400000, '
                   '"buyer_id": "b", "agent_id": "A", "sender": "buyer"}\n{"event_id": "e2"}\n')
    assert main(["replay", str(bad), "--shop", "s"]) == 2
    assert "bad.ndjson:2: shop_id" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.ndjson"), "--shop", "s"]) == 2
