"""`python -m agency_adapter`: the serving adapter, as `lienthong adapter serve` starts it.

Kept apart from the command line so that a serving adapter holds none of its libraries; see
:mod:`schemas.serving`.
"""

from __future__ import annotations

from schemas.own_modules import compile_own_modules_whole

compile_own_modules_whole()  # under -OO: docstrings and asserts kept in lienthong's own modules

from schemas.serving import run_service, without_unused_modules  # noqa: E402

without_unused_modules()  # before the adapter's modules import httpx or FastAPI

from agency_adapter.service_main import serve  # noqa: E402
from agency_adapter.settings import AdapterSettings  # noqa: E402

if __name__ == "__main__":
    run_service(lambda: serve(AdapterSettings()), "adapter", "LIENTHONG_ADAPTER_")
