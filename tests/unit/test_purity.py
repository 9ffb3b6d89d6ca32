"""The pure core imports no I/O: no Faust, aiokafka, Redis, FastAPI (nor what they pull in)."""

import subprocess
import sys

FORBIDDEN = ("faust", "aiokafka", "kafka", "redis", "fastapi", "starlette", "uvicorn", "httpx", "mode",
             "rocksdict", "pydantic", "pydantic_settings", "websockets", "asyncio")


def test_core_imports_no_io_library() -> None:
    # A fresh interpreter: this test process has imported everything already.
    code = (
        "import pkgutil, importlib, sys, streams.core as core\n"
        "for module in pkgutil.walk_packages(core.__path__, 'streams.core.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
                 .stdout.split())
    assert "streams" in loaded
    assert not loaded & set(FORBIDDEN), f"the core loaded {sorted(loaded & set(FORBIDDEN))}"
