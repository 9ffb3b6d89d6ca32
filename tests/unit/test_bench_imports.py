"""Every module of the benchmark harness imports (`make bench` is not part of `make test`; a moved module
must not break it unnoticed). The Quix peer needs quixstreams, which the benchmark installs on its own."""

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__, "bench.") if m.name != "bench.peer_quix")


@pytest.mark.parametrize("module", MODULES)
def test_bench_module_imports(module: str) -> None:
    importlib.import_module(module)
