"""Operators' commands: `lienthong queues`, `trace`, `dlq ...` and `quarantine ...`.

Each command owns its transaction; every one takes --json for scripts. A mistake or an
unavailable service is one line on stderr and exit status 1, never a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cli import OPERATOR, run, settings
from hub.db import transaction
from hub.operations import render, service
from hub.runtime import Runtime

T = TypeVar("T")
JSON = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
LIMIT = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")]
dlq_app = typer.Typer(
    help="Dead letters: messages RabbitMQ gave up on, kept by the hub.", no_args_is_help=True
)
quarantine_app = typer.Typer(
    help="Intake messages the hub refused, kept byte for byte.", no_args_is_help=True
)


class StateChoice(StrEnum):
    WAITING = "waiting"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ALL = "all"


def _run(work: Coroutine[Any, Any, T]) -> T:
    """hub.cli.run, and one line for anything unexpected too."""
    try:
        return run(work)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:
        typer.echo(f"lienthong: {type(error).__name__}: {error}", err=True)
        raise typer.Exit(1) from None


def _with_session(
    work: Callable[[AsyncSession, Runtime], Awaitable[T]], *, broker: bool = False
) -> T:
    """Run `work` in one transaction on this hub's database (and broker, if asked)."""
    hub_settings = settings()
    logging.getLogger().addHandler(logging.NullHandler())  # retries are not the operator's news

    async def go() -> T:
        runtime = Runtime.create(hub_settings)
        try:
            if broker:
                await runtime.broker.connect()
            async with transaction(runtime.sessions) as session:
                return await work(session, runtime)
        finally:
            await runtime.close()

    return _run(go())


def _echo_json(value: BaseModel | list[Any] | dict[str, Any]) -> None:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _dump(items: list[Any]) -> list[Any]:
    return [item.model_dump(mode="json") for item in items]


def _echo_lines(lines: list[str]) -> None:
    typer.echo("\n".join(lines))


def queues(
    as_json: JSON = False,
    stuck: Annotated[bool, typer.Option("--stuck", help="Only stuck mailboxes.")] = False,
) -> None:
    """Every agency's mailbox: waiting, readers, oldest waiting, last read; stuck first.

    Broker figures trail RabbitMQ by a few seconds; the oldest waiting age is estimated from
    the documents the agency has not answered with status 01."""

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        rows = await service.mailboxes(session, runtime.settings)
        return {
            "mailboxes": [row for row in rows if row.stuck or not stuck],
            "intake_backlog": await service.intake_backlog(runtime.settings),
            "dead_letters_waiting": await service.count_dead_letters(session),
        }

    found = _with_session(work)
    if as_json:
        _echo_json(found | {"mailboxes": _dump(found["mailboxes"])})
        return
    _echo_lines(render.mailbox_lines(found["mailboxes"]))
    typer.echo(
        render.mailbox_summary(
            found["mailboxes"], found["intake_backlog"], found["dead_letters_waiting"]
        )
    )


def trace(
    text: Annotated[
        str,
        typer.Argument(
            help="Envelope id, DocumentId, agency code, number/notation or words of the subject."
        ),
    ],
    as_json: JSON = False,
    limit: LIMIT = 20,
) -> None:
    """Find documents and show where each is, per recipient."""
    found = _with_session(lambda session, _: service.trace(session, text, limit))
    if as_json:
        _echo_json(_dump(found))
        return
    if not found:
        typer.echo(f"no document matches '{text}'")
    for document in found:
        _echo_lines([*render.document_lines(document), ""])


@dlq_app.command("list")
def dlq_list(
    as_json: JSON = False,
    state: Annotated[StateChoice, typer.Option(help="Which ones.")] = StateChoice.WAITING,
    limit: LIMIT = 100,
) -> None:
    """Kept dead letters, oldest first (waiting ones unless --state says otherwise)."""
    wanted = None if state is StateChoice.ALL else state.value
    rows = _with_session(lambda session, _: service.dead_letters(session, wanted, limit))
    if as_json:
        _echo_json(_dump(rows))
    elif not rows:
        typer.echo(f"no dead letters {'at all' if wanted is None else wanted}")
    else:
        _echo_lines(render.dead_letter_lines(rows))


@dlq_app.command("show")
def dlq_show(dead_letter_id: int, as_json: JSON = False) -> None:
    """One dead letter: where it died and why, its headers and body."""
    entry = _with_session(lambda session, _: service.dead_letter(session, dead_letter_id))
    if as_json:
        _echo_json(entry)
        return
    _echo_lines(render.dead_letter_detail(entry))


@dlq_app.command("replay")
def dlq_replay(dead_letter_id: int, as_json: JSON = False) -> None:
    """Publish a waiting dead letter again where it was going (once), and audit it."""
    row = _with_session(
        lambda session, runtime: service.replay(
            session,
            runtime.broker,
            dead_letter_id,
            OPERATOR,
            intake=service.readmission(runtime),
        ),
        broker=True,
    )
    if as_json:
        _echo_json(row)
        return
    goes_to = row.destination.replace(":", " ", 1)
    typer.echo(f"replayed dead letter {row.id} to {goes_to} (message {row.message_id or '-'})")


@dlq_app.command("discard")
def dlq_discard(dead_letter_id: int, as_json: JSON = False) -> None:
    """Give up on a waiting dead letter (kept, marked discarded), and audit it."""
    row = _with_session(lambda session, _: service.discard(session, dead_letter_id, OPERATOR))
    if as_json:
        _echo_json(row)
        return
    typer.echo(f"discarded dead letter {row.id} (message {row.message_id or '-'})")


@quarantine_app.command("list")
def quarantine_list(as_json: JSON = False, limit: LIMIT = 50) -> None:
    """Refused intake messages, newest first."""
    rows = _with_session(lambda session, _: service.quarantined(session, limit))
    if as_json:
        _echo_json(_dump(rows))
    elif not rows:
        typer.echo("nothing in quarantine")
    else:
        _echo_lines(render.quarantine_lines(rows))


@quarantine_app.command("show")
def quarantine_show(
    quarantine_id: int,
    as_json: JSON = False,
    out: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Also save the exact bytes here.")
    ] = None,
) -> None:
    """One refused message: why, from whom, and its content."""
    entry = _with_session(lambda session, _: service.quarantine_entry(session, quarantine_id))
    if out is not None:
        out.write_bytes(entry.raw)
    if as_json:
        _echo_json(entry)
        return
    _echo_lines(render.quarantine_detail(entry))
