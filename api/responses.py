"""JSON responses rendered with orjson (fast; money and ratios stay exact floats).

A JSONResponse subclass so that FastAPI documents its bodies as JSON (the models of `responses=`, or any
JSON) rather than as a string; only the rendering is ours.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
