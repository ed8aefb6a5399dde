"""`python -m agency_adapter`: the serving adapter, as `lienthong adapter serve` starts it.

Kept apart from the command line so that a serving adapter holds none of its libraries; see
:mod:`schemas.serving`.
"""

from __future__ import annotations

from schemas.serving import run_service, without_httpx_command_line

without_httpx_command_line()  # before the adapter's modules import httpx

from agency_adapter.service_main import serve  # noqa: E402
from agency_adapter.settings import AdapterSettings  # noqa: E402

if __name__ == "__main__":
    run_service(lambda: serve(AdapterSettings()), "adapter", "LIENTHONG_ADAPTER_")
