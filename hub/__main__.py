"""`python -m hub [--role api|worker|all]`: the serving hub, as `lienthong hub serve` starts it.

Kept apart from the command line so that a serving hub holds none of its libraries; see
:mod:`schemas.serving`.
"""

from __future__ import annotations

import argparse

from schemas.serving import run_service, without_httpx_command_line

without_httpx_command_line()  # before the hub's modules import httpx

from sqlalchemy.exc import DBAPIError  # noqa: E402

from hub.service_main import ServeRole, serve  # noqa: E402
from hub.settings import HubSettings  # noqa: E402


def _explain(error: Exception) -> str | None:
    if isinstance(error, DBAPIError | OSError):
        reason = getattr(error, "orig", None) or error
        return f"cannot use the database (LIENTHONG_DATABASE_URL): {reason}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m hub", description=__doc__)
    parser.add_argument("--role", choices=[role.value for role in ServeRole], default="all")
    role = ServeRole(parser.parse_args().role)
    run_service(lambda: serve(HubSettings(), role), "hub", "LIENTHONG_", _explain)


if __name__ == "__main__":
    main()
