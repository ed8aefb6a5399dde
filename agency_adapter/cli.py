"""The adapter's commands in the `lienthong` CLI (registered through entry points)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError

from agency_adapter.bench_store import Cost, bench_store
from agency_adapter.settings import AdapterSettings
from schemas.benchmarks import parse_size
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


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@adapter_app.command("bench-store")
def bench_store_command(
    documents: Annotated[
        list[int] | None, typer.Option(min=0, help="Documents in the store (repeatable).")
    ] = None,
    size: Annotated[str, typer.Option(help="Each document's attachment, e.g. 10K.")] = "10K",
    rounds: Annotated[int, typer.Option(min=1, help="Rounds timed per operation.")] = 50,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the results here.")
    ] = None,
) -> None:
    """CPU and reads per document of the store's work, as its history grows (throw-away
    SQLite stores)."""
    sizes, package = list(dict.fromkeys(documents or [1000, 10000])), _size(size)
    if json_file is not None and not json_file.parent.is_dir():
        raise typer.BadParameter(f"{json_file.parent} is not a folder", param_hint="--json")
    results: dict[int, dict[str, Cost]] = {}
    for count in sizes:
        with tempfile.TemporaryDirectory() as directory:
            results[count] = asyncio.run(bench_store(count, package, rounds, Path(directory)))
    for line in _table(results, package):
        typer.echo(line)
    if json_file is not None:
        found = {str(count): {name: asdict(cost) for name, cost in costs.items()}
                 for count, costs in results.items()}  # fmt: skip
        json_file.write_text(json.dumps({"size": package, "documents": found}, indent=2))


def _table(results: dict[int, dict[str, Cost]], size: int) -> list[str]:
    counts = list(results)
    head = "".join(f"{f'{count:,} documents':>26}" for count in counts)
    lines = [f"store of documents with {size:,} bytes of attachment (SQLite); per operation, CPU"
             " and KiB read",
             f"{'operation':<30}{head}"]  # fmt: skip
    for name in results[counts[0]]:
        cells = "".join(f"{_cell(results[count][name]):>26}" for count in counts)
        lines.append(f"{name:<30}{cells}")
    return lines


def _cell(cost: Cost) -> str:
    read = "n/a" if cost.read_kib is None else f"{cost.read_kib:,.0f} KiB"
    return f"{cost.cpu_ms:.2f} ms, {read}"
