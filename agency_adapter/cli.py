"""The adapter's commands in the `lienthong` CLI (registered through entry points)."""

from __future__ import annotations

import logging

import typer
import uvicorn
from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError

from agency_adapter.api.app import create_app
from agency_adapter.runtime import AdapterRuntime
from agency_adapter.settings import AdapterSettings
from schemas.errors import LienthongError
from schemas.event_loop import run_on_uvloop

adapter_app = typer.Typer(help="Run an agency's adapter.", no_args_is_help=True)


def settings() -> AdapterSettings:
    """The LIENTHONG_ADAPTER_ settings, or a usage error naming what is wrong."""
    try:
        return AdapterSettings()  # agency_code and the rest come from the environment
    except (ValidationError, SettingsError) as error:
        typer.echo(f"lienthong adapter: bad LIENTHONG_ADAPTER_ settings: {error}", err=True)
        raise typer.Exit(2) from None


async def _serve(config: AdapterSettings) -> None:
    runtime = await AdapterRuntime.start(config)
    try:
        server = uvicorn.Server(uvicorn.Config(create_app(runtime), host=config.host,
                                               port=config.port, log_level="info"))  # fmt: skip
        await server.serve()
    finally:
        await runtime.close()


@adapter_app.command("serve")
def serve() -> None:
    """Run the adapter: REST API, outbox relay and mailbox consumer."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        run_on_uvloop(_serve(settings()))
    except LienthongError as error:
        typer.echo(f"lienthong adapter: {error}", err=True)
        raise typer.Exit(1) from None
