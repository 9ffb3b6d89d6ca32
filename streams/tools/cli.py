"""`kefu-pulse` command line: simulate, replay a recorded day, report a finished day.

  kefu-pulse simulate …                          the Double-11 simulator (see --help)
  kefu-pulse replay DAY.ndjson --shop S [--csv]  a recorded day → the day's per-agent table
      offline through the engine (default), or `--api URL --token T` through the running pipeline
  kefu-pulse report --shop S --day D [--csv]     a day's per-agent table and team line from the API
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from streams.core.events import InvalidEvent, parse_event

COLUMNS = [
    ("agent_id", "客服 agent"), ("group", "分组 group"), ("consult_buyers", "咨询人数"),
    ("received_buyers", "接待人数"), ("replied_buyers", "回复人数"), ("reply_rate", "回复率"),
    ("responses", "响应次数"), ("avg_response_s", "平均响应(秒)"), ("first_response_avg_s", "首响(秒)"),
    ("slow_responses", "慢响应"), ("sla_rate", "3分钟人工响应率"), ("inquiry_buyers", "询单人数"),
    ("paid_buyers", "付款人数"), ("inquiry_pay_rate", "询单转化率"), ("sales", "客服销售额"),
    ("refund_amount", "退款金额"), ("satisfaction_rate", "满意率"),
    ("deposit_amount", "定金金额"), ("balance_paid_amount", "尾款金额"), ("order_amount", "客服下单金额"),
    ("unpaid_amount", "下单未付款金额"),
    ("chased_buyers", "催付人数"), ("chase_paid_amount", "催付挽回金额"), ("assist_sales", "协助销售额"),
]
RATES = {"reply_rate", "sla_rate", "inquiry_pay_rate", "satisfaction_rate"}


class CliError(Exception):
    pass


def read_ndjson(path: Path, shop: str) -> list[dict[str, Any]]:
    """The shop's events of a recorded NDJSON file; a bad line stops with its line number and rule."""
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    events = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
                parse_event(obj, now_ms=2**62)
            except orjson.JSONDecodeError as exc:
                raise CliError(f"{path}:{number}: not valid JSON ({exc})") from None
            except InvalidEvent as exc:
                raise CliError(f"{path}:{number}: {exc.field}: {exc.error}") from None
            if obj["shop_id"] == shop:
                events.append(obj)
    if not events:
        raise CliError(f"{path}: no events of shop {shop!r}")
    return events


def cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key in RATES:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def print_table(rows: list[dict[str, Any]], as_csv: bool, out: Any = None) -> None:
    out = out or sys.stdout  # looked up at call time (redirections, tests)
    if as_csv:
        writer = csv.writer(out)
        writer.writerow([key for key, _ in COLUMNS])
        for row in rows:
            writer.writerow(["" if row.get(k) is None else row.get(k) for k, _ in COLUMNS])
        return
    table = [[label for _, label in COLUMNS]] + [[cell(k, row.get(k)) for k, _ in COLUMNS] for row in rows]
    widths = [max(_width(r[i]) for r in table) for i in range(len(COLUMNS))]
    for line in table:
        out.write("  ".join(v + " " * (w - _width(v)) for v, w in zip(line, widths, strict=True)) + "\n")


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters take two columns


def replay_offline(events: list[dict[str, Any]], settings: dict[str, Any] | None, day: str | None,
                   ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    from streams.core.shop_settings import parse_settings
    from streams.tools.engine import compute_batch

    result = compute_batch(events, settings)
    days = sorted(result["agents"])
    day = day or (days[-1] if days else None)
    if day is None or day not in result["agents"]:
        raise CliError(f"no figures for day {day}; days in the file: {', '.join(days) or 'none'}")
    shop_settings = parse_settings(settings or {})
    rows = [{"agent_id": agent, "group": shop_settings.group_of(agent), **figures}
            for agent, figures in sorted(result["agents"][day].items())]
    return day, rows, result["team"][day]


def replay_online(events: list[dict[str, Any]], shop: str, api: str, token: str, viewer: str,
                  day: str | None) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Through the running pipeline: ingest in batches, wait on /lag, read the day's figures."""
    with httpx.Client(base_url=api, timeout=30) as http:
        for start in range(0, len(events), 500):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            body = orjson.dumps(events[start:start + 500])
            response = http.post("/api/v1/events", content=body, headers=headers)
            if response.status_code != 202:
                raise CliError(f"ingest answered {response.status_code}: {response.text[:300]}")
            print(f"\rsent {min(start + 500, len(events)):,}/{len(events):,} events", end="", file=sys.stderr)
        print(file=sys.stderr)
        auth = {"Authorization": f"Bearer {viewer}"}
        deadline = time.monotonic() + 300
        while True:
            lag = http.get(f"/api/v1/shops/{shop}/lag", headers=auth).json()
            print(f"\rwaiting for the pipeline: {lag.get('pending_events')} events pending   ", end="",
                  file=sys.stderr)
            if lag.get("pending_events") == 0:
                break
            if time.monotonic() > deadline:
                raise CliError(f"the pipeline did not catch up within 300 s: {lag}")
            time.sleep(0.2)
        print(file=sys.stderr)
        return fetch_day(http, shop, day, auth)


def fetch_day(http: httpx.Client, shop: str, day: str | None, auth: dict[str, str],
              ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    params = {"day": day} if day else {}
    agents = http.get(f"/api/v1/shops/{shop}/agents", params=params, headers=auth)
    if agents.status_code != 200:
        raise CliError(f"/agents answered {agents.status_code}: {agents.text[:300]}")
    summary = http.get(f"/api/v1/shops/{shop}/summary", params=params, headers=auth).json()
    body = agents.json()
    return body["day"], body["agents"], summary["team"]


def team_line(day: str, team: dict[str, Any]) -> str:
    return (f"{day} team: 接待 {team['received_buyers']} · 响应 {team['responses']} · "
            f"平均响应 {cell('avg_response_s', team['avg_response_s'])} s · "
            f"3分钟人工响应率 {cell('sla_rate', team['sla_rate'])} · "
            f"客服销售额 ¥{team['sales']:,.2f} · 店铺销售额 ¥{team['shop_sales']:,.2f} · "
            f"下单未付款 ¥{team['unpaid_amount'] + team['silent_unpaid_amount']:,.2f} · "
            f"催付 {team['chased_buyers']} · 催付挽回 ¥{team['chase_paid_amount']:,.2f}")


def demo_settings(agents: int, seed: int) -> dict[str, Any]:
    """The settings of the simulator's demo shop (same seed, same agents): streams.tools.simulator.demo."""
    from streams.tools.simulator.demo import shop_settings

    return shop_settings("demo-shop", agents, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu-pulse", description="Kefu Pulse (客服脉搏) tools")
    commands = parser.add_subparsers(dest="command", required=True)

    from streams.tools import simulator

    simulate = commands.add_parser("simulate", help="run the Double-11 traffic simulator")
    simulator.add_arguments(simulate)

    demo = commands.add_parser("demo-settings", help="print the settings of the simulator's shop (JSON)")
    demo.add_argument("--agents", type=int, default=12)
    demo.add_argument("--seed", type=int, default=1)

    replay = commands.add_parser("replay", help="push a recorded day through the pipeline; print its table")
    replay.add_argument("file", type=Path, help="NDJSON file of events (e.g. from `simulate --sink file`)")
    replay.add_argument("--shop", required=True)
    replay.add_argument("--day", help="which day to print (default: the last day in the file)")
    replay.add_argument("--settings", type=Path, help="shop settings JSON file (metrics.md)")
    replay.add_argument("--api", help="through the running stack at this URL instead of offline")
    replay.add_argument("--token", default=os.environ.get("KEFU_INGEST_TOKEN", ""), help="ingest token")
    replay.add_argument("--viewer-token", default=os.environ.get("KEFU_VIEWER_TOKEN", ""))
    replay.add_argument("--csv", action="store_true", help="CSV instead of a table")

    report = commands.add_parser("report", help="print or export a finished day from the API")
    report.add_argument("--shop", required=True)
    report.add_argument("--day", help="YYYY-MM-DD (default: today in the shop's timezone)")
    report.add_argument("--api", default=f"http://127.0.0.1:{os.environ.get('KEFU_API_PORT', '8000')}")
    report.add_argument("--token", default=os.environ.get("KEFU_VIEWER_TOKEN", ""), help="viewer token")
    report.add_argument("--csv", action="store_true")

    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return asyncio.run(simulator.run(args))
        if args.command == "demo-settings":
            print(orjson.dumps(demo_settings(args.agents, args.seed)).decode())
            return 0
        if args.command == "replay":
            events = read_ndjson(args.file, args.shop)
            settings = orjson.loads(args.settings.read_bytes()) if args.settings else None
            print(f"{len(events):,} events of {args.shop} read from {args.file}", file=sys.stderr)
            if args.api:
                if not args.token or not args.viewer_token:
                    raise CliError("--api needs --token (ingest) and --viewer-token (or KEFU_*_TOKEN)")
                day, rows, team = replay_online(events, args.shop, args.api, args.token, args.viewer_token,
                                                args.day)
            else:
                day, rows, team = replay_offline(events, settings, args.day)
        else:
            if not args.token:
                raise CliError("--token (viewer) is required (or KEFU_VIEWER_TOKEN)")
            with httpx.Client(base_url=args.api, timeout=30) as http:
                auth = {"Authorization": f"Bearer {args.token}"}
                day, rows, team = fetch_day(http, args.shop, args.day, auth)
        print_table(rows, args.csv)
        if not args.csv:
            print(team_line(day, team))
        return 0
    except (CliError, OSError, httpx.HTTPError, ValueError) as exc:
        print(f"kefu-pulse: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
