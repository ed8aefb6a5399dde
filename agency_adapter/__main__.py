"""`python -m agency_adapter`: the serving adapter, as `lienthong adapter serve` starts it.

Kept apart from the command line so that a serving adapter holds none of its libraries; see
:mod:`schemas.serving`.
"""

from __future__ import annotations

from schemas.serving import run_service, without_httpx_command_line

without_httpx_command_line()  # before the adapter's modules import httpx

from pydantic import ValidationError  # noqa: E402
from pydantic_settings.exceptions import SettingsError  # noqa: E402

from agency_adapter.service_main import serve  # noqa: E402
from agency_adapter.settings import AdapterSettings  # noqa: E402


def _explain(error: Exception) -> str | None:
    if isinstance(error, SettingsError | ValidationError):
        return f"bad LIENTHONG_ADAPTER_ settings: {error}"
    return None


if __name__ == "__main__":
    run_service(lambda: serve(AdapterSettings()), "adapter", _explain)
