"""The one `lienthong` command line, for operators, integrators and developers.

The envelope commands live here; the hub and the adapter add their own command groups through
the ``lienthong.commands`` entry point group, so this package never imports either service.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from schemas.cli import bench, compose, demo, dev, keys, validate

app = typer.Typer(
    name="lienthong",
    help="Interchange hub for signed official documents (edXML, QCVN 102:2016).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    validate.register(app)
    compose.register(app)
    keys.register(app)
    dev.register(app)
    demo.register(app)
    bench.register(app)
    for entry in entry_points(group="lienthong.commands"):
        command = entry.load()  # a command group (typer.Typer) or a single command (a function)
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=entry.name)
        else:
            app.command(entry.name)(command)


def main() -> None:
    """Run the `lienthong` command line."""
    _register_commands()
    app()
