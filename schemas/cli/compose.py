"""`lienthong compose`: write a conforming (unsigned) edXML document package from the command line.

For integrators and demos: the adapter's REST API does the same for local systems.
"""

from __future__ import annotations

import mimetypes
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from schemas.agency_codes import parse_agency_code
from schemas.errors import AgencyCodeError, LienthongError
from schemas.model import (
    VIETNAM_TIME,
    Attachment,
    DocumentPackage,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    TraceHeader,
)
from schemas.writer import write_package

EXIT_USAGE = 2


def _organization(code: str, option: str) -> Organization:
    try:
        return Organization(organ_id=parse_agency_code(code).value)
    except AgencyCodeError as error:
        raise typer.BadParameter(error.message, param_hint=option) from None


def _attachment(path: Path) -> Attachment:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(
        content_id=str(uuid.uuid4()),
        name=path.name,
        content_type=content_type,
        content=path.read_bytes(),
    )


def compose(
    sender: Annotated[str, typer.Option("--from", help="Sending agency code.")],
    recipients: Annotated[list[str], typer.Option("--to", help="Recipient agency code(s).")],
    subject: Annotated[str, typer.Option(help="Trích yếu: what the document is about.")],
    attach: Annotated[
        list[Path] | None, typer.Option(exists=True, dir_okay=False, help="File(s) to attach.")
    ] = None,
    priority: Annotated[int, typer.Option(min=0, max=4, help="0 routine ... 4 flash-timed.")] = 0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
) -> None:
    """Write an unsigned edXML document package (sign it with `lienthong sign`)."""
    now = datetime.now(VIETNAM_TIME).replace(microsecond=0)
    package = DocumentPackage(
        sender=_organization(sender, "--from"),
        recipients=tuple(_organization(code, "--to") for code in recipients),
        document_id=str(uuid.uuid4()),
        promulgation=PromulgationInfo(promulgation_date=now.date()),
        subject=subject,
        other_info=OtherInfo(priority=Priority(priority)),
        trace=(TraceHeader(organ_id=sender, timestamp=now),),
        attachments=tuple(_attachment(path) for path in attach or []),
    )
    try:
        data = write_package(package)
    except LienthongError as error:
        typer.echo(f"lienthong compose: {error}", err=True)
        raise typer.Exit(1) from None
    if output is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(data)


def register(app: typer.Typer) -> None:
    """Add `compose` to the command line."""
    app.command("compose")(compose)
