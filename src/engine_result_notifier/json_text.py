"""JSON values as compact text, for the API's string members."""

from __future__ import annotations

import json
from typing import Any

from engine_result_notifier.errors import InvalidEventError


def compact_json(value: Any, field: str) -> str:
    """``[5432,5433]``, ``true``, ``{"a":"b"}``: compact, non-ASCII kept, never a Python ``repr``.

    A value nested deeper than Python's recursion limit allows cannot be written out: that is a bad
    event (``InvalidEventError`` naming the field), not a crash.
    """
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        raise InvalidEventError(f"{field}: nested too deeply to be sent as JSON") from None
