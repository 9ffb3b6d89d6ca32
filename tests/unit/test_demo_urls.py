"""`make run` / `stack.sh info` print the screens' URLs for the shops the simulator runs (KEFU_DEMO_SHOPS, one
setting for both): the first shop's wall and console, and the multi-shop wall of all of them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STACK_SH = REPO / "deploy" / "local" / "stack.sh"


def info(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return subprocess.run(["bash", str(STACK_SH), "info"], capture_output=True, text=True, timeout=60,
                          env={**base, "KEFU_DATA_DIR": str(tmp_path / "data"), "KEFU_API_PORT": "8123", **env})


def test_info_prints_the_multishop_url_of_the_simulated_shops(tmp_path: Path) -> None:
    out = info(tmp_path, KEFU_DEMO_SHOPS="north,south.2,east_3").stdout
    token = re.search(r"KEFU_VIEWER_TOKEN=(\S+)", out).group(1)
    assert f"http://127.0.0.1:8123/wall?shop=north&token={token}" in out
    assert f"http://127.0.0.1:8123/console?shop=north&token={token}" in out
    assert f"http://127.0.0.1:8123/multishop?shops=north,south.2,east_3&token={token}" in out


def test_the_default_demo_runs_several_shops_and_lists_them_all(tmp_path: Path) -> None:
    out = info(tmp_path).stdout
    shops = re.search(r"/multishop\?shops=([^&]+)&", out).group(1).split(",")
    assert len(shops) >= 2 and shops[0] == "demo-shop"
    # the simulator `run` starts reads the same setting: its demo shops are exactly these
    listed = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "streams.tools.simulator",
                             "--print-demo-settings"], capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}, check=True)
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == shops


def test_a_bad_demo_shop_list_is_refused(tmp_path: Path) -> None:
    done = info(tmp_path, KEFU_DEMO_SHOPS="a b")
    assert done.returncode != 0 and "KEFU_DEMO_SHOPS" in done.stderr
