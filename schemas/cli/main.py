"""The one `lienthong` command line, for operators, integrators and developers.

The envelope commands live here; the hub and the adapter add their own command groups through
the ``lienthong.commands`` entry point group, so this package never imports either service.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points

import typer

app = typer.Typer(
    name="lienthong",
    help="Interchange hub for signed official documents (edXML, QCVN 102:2016).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Keeps `lienthong` a group even when one single command is loaded (`lienthong queues`)."""


BUILT_IN = ("validate", "compose", "keys", "dev", "demo", "bench")


def _add(entry: EntryPoint) -> None:
    command = entry.load()  # a command group (typer.Typer) or a single command (a function)
    if isinstance(command, typer.Typer):
        app.add_typer(command, name=entry.name)
    else:
        app.command(entry.name)(command)


def _register_commands(argv: list[str]) -> None:
    """Every command, or only the service's group that argv names.

    `lienthong adapter serve` runs for months: loading the hub's commands and the envelope
    tools beside the adapter's would keep their modules (about 6 MB) in it for nothing."""
    plugins = entry_points(group="lienthong.commands")
    named = [entry for entry in plugins if len(argv) > 1 and entry.name == argv[1]]
    if named:
        _add(named[0])
        return
    for name in BUILT_IN:
        import_module(f"schemas.cli.{name}").register(app)
    for entry in plugins:
        _add(entry)


def main() -> None:
    """Run the `lienthong` command line."""
    _register_commands(sys.argv)
    app()
