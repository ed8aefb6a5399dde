"""The adapter's commands in the `lienthong` CLI (registered through entry points)."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError

from agency_adapter.settings import AdapterSettings
from schemas.serving import replace_with_service

adapter_app = typer.Typer(help="Run an agency's adapter.", no_args_is_help=True)


def settings() -> AdapterSettings:
    """The LIENTHONG_ADAPTER_ settings, or a usage error naming what is wrong."""
    try:
        return AdapterSettings()  # agency_code and the rest come from the environment
    except (ValidationError, SettingsError) as error:
        typer.echo(f"lienthong adapter: bad LIENTHONG_ADAPTER_ settings: {error}", err=True)
        raise typer.Exit(2) from None


@adapter_app.command("serve")
def serve() -> None:
    """Run the adapter: REST API, outbox relay and mailbox consumer."""
    settings()  # a bad setting is said here, as a usage error, before the service starts
    replace_with_service("agency_adapter")
