"""`python -m hub [--role api|worker|all]`: the serving hub, as `lienthong hub serve` starts it.

Kept apart from the command line so that a serving hub holds none of its libraries; see
:mod:`schemas.serving`.
"""

from __future__ import annotations

import argparse

from schemas.own_modules import compile_own_modules_whole

compile_own_modules_whole()  # under -OO: docstrings and asserts kept in lienthong's own modules

from schemas.serving import run_service, without_unused_modules  # noqa: E402

without_unused_modules()  # before the hub's modules import httpx or FastAPI

from hub.db import unusable_database  # noqa: E402
from hub.service_main import ServeRole, serve  # noqa: E402
from hub.settings import HubSettings  # noqa: E402


def main() -> None:
    # Not __doc__: this module is compiled before lienthong's own are kept whole, at -OO.
    parser = argparse.ArgumentParser(
        prog="python -m hub", description="The serving hub, as `lienthong hub serve` starts it."
    )
    parser.add_argument("--role", choices=[role.value for role in ServeRole], default="all")
    role = ServeRole(parser.parse_args().role)
    run_service(lambda: serve(HubSettings(), role), "hub", "LIENTHONG_", unusable_database)


if __name__ == "__main__":
    main()
