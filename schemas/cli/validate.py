"""`lienthong validate`: judge edXML packages as the hub would, and say why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from pydantic import ValidationError

from schemas.errors import KeyMaterialError
from schemas.hostile import time_refusals
from schemas.keys import load_certificates
from schemas.report import Finding, InspectOptions, PackageReport, inspect_package
from schemas.settings import EnvelopeSettings

EXIT_NOT_ACCEPTABLE = 1
EXIT_USAGE = 2


def _trust(paths: list[Path]) -> list[x509.Certificate]:
    anchors: list[x509.Certificate] = []
    for path in paths:
        try:
            anchors.extend(load_certificates(path))
        except KeyMaterialError as error:
            typer.echo(f"lienthong validate: --trust {path}: {error}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
    return anchors


def load_settings() -> EnvelopeSettings:
    """The LIENTHONG_ settings, or a usage error naming the bad variable (never a traceback)."""
    try:
        return EnvelopeSettings()
    except ValidationError as error:
        for fault in error.errors():
            name = f"LIENTHONG_{str(fault['loc'][0]).upper()}"
            typer.echo(f"lienthong: {name}: {fault['msg']}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _read_file(path: Path, max_bytes: int) -> bytes | str:
    """The file's bytes, or a sentence why it was not read (too large is refused unread)."""
    size = path.stat().st_size
    if size > max_bytes:
        return f"file is {size:,} bytes, above the limit of {max_bytes:,} bytes"
    return path.read_bytes()


def _render_text(path: Path, report: PackageReport) -> str:
    verdict = "acceptable" if report.acceptable else "NOT ACCEPTABLE"
    lines = [f"{path}: {verdict}"]
    if report.kind == "document":
        lines.append(f"  document, business type {report.business_type}, id {report.document_id}")
        lines.append(f"  subject: {report.subject}")
    elif report.kind == "status":
        lines.append(f"  status {report.status_code} on document {report.document_id}")
    if report.sender:
        lines.append(f"  from: {report.sender.code} {report.sender.name or ''}".rstrip())
    lines.extend(f"  to:   {a.code} {a.name or ''}".rstrip() for a in report.recipients)
    for a in report.attachments:
        inner = f", zipped: {', '.join(a.zip_members)}" if a.zipped else ""
        lines.append(f"  attachment: {a.name} ({a.size:,} bytes, {a.content_type}{inner})")
    lines.extend(_render_signature(report))
    lines.extend(
        f"  {p.severity}: {_where(p.message, p.line, p.column, p.path)}" for p in report.problems
    )
    return "\n".join(lines)


def _where(message: str, line: int | None, column: int | None, path: str | None) -> str:
    place = [f"line {line}" + (f", column {column}" if column else "")] if line else []
    place += [path] if path else []
    return f"{message} ({'; '.join(place)})" if place else message


def _render_signature(report: PackageReport) -> list[str]:
    signature = report.signature
    if signature is None:
        return []
    text = f"  signature: {signature.state}"
    text += f" ({signature.algorithm})" if signature.algorithm else ""
    text += f": {signature.reason}" if signature.reason else ""
    lines = [text]
    if signature.certificate:
        cert = signature.certificate
        lines.append(
            f"  certificate: {cert.subject}, issued by {cert.issuer}, "
            f"valid {cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}"
        )
    return lines


def validate(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file.")] = False,
    lenient: Annotated[bool, typer.Option(help="Repair legacy quirks and say which.")] = False,
    trust: Annotated[
        list[Path] | None, typer.Option(help="CA certificate(s) (PEM) to trust.")
    ] = None,
    allow_legacy_sha1: Annotated[bool, typer.Option(help="Accept RSA-SHA1 signatures.")] = False,
    require_signature: Annotated[bool, typer.Option(help="Unsigned packages fail.")] = False,
) -> None:
    """Check edXML packages: kind, parties, attachments, signature and every problem found."""
    settings = load_settings()
    options = InspectOptions(
        limits=settings.parse_limits(lenient=lenient or settings.lenient),
        trust=_trust(trust or []),
        allow_legacy_sha1=allow_legacy_sha1 or settings.allow_legacy_sha1,
        require_signature=require_signature,
    )
    reports = {path: _inspect(path, options, settings.max_package_bytes) for path in files}
    if as_json:
        payload = [{"file": str(p), **r.model_dump(mode="json")} for p, r in reports.items()]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n\n".join(_render_text(p, r) for p, r in reports.items()))
    if not all(report.acceptable for report in reports.values()):
        raise typer.Exit(EXIT_NOT_ACCEPTABLE)


def _inspect(path: Path, options: InspectOptions, max_bytes: int) -> PackageReport:
    data = _read_file(path, max_bytes)
    if isinstance(data, str):
        return PackageReport(acceptable=False, problems=[Finding(severity="error", message=data)])
    return inspect_package(data, options)


def bench_hostile() -> None:
    """Time how quickly each hostile input (XXE, billion laughs, 200 MB, ...) is refused."""
    rows = time_refusals(load_settings().parse_limits(lenient=True))
    typer.echo(f"{'input':<22} {'bytes':>13} {'ms':>9}  refused with")
    for row in rows:
        typer.echo(
            f"{row.sample:<22} {row.size_bytes:>13,} {row.milliseconds:>9.2f}  "
            f"{row.error}: {row.message}"
        )


def register(app: typer.Typer) -> None:
    """Add `validate` and `bench-hostile` to the command line."""
    app.command("validate")(validate)
    app.command("bench-hostile")(bench_hostile)
