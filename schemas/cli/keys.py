"""`lienthong sign`, `lienthong keys ...` and `lienthong bench-signing`.

`sign` does what an agency's adapter does to an outgoing package; `keys` makes a test CA and
agency keys for sandboxes and integration tests (never for production: real agencies get
their certificates from a licensed CA); `bench-signing` measures signing throughput.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from schemas.benchmarks import format_results, parse_size, run_benchmark
from schemas.errors import LienthongError
from schemas.keys import (
    Algorithm,
    SigningIdentity,
    certificate_info,
    create_ca,
    issue_agency_certificate,
    load_signing_identity,
    write_certificates,
    write_pkcs12,
    write_private_key,
)
from schemas.signing import sign_package

EXIT_FAILED = 1
CA_KEY_FILE = "ca.key.pem"
CA_CERT_FILE = "ca.cert.pem"
# Agency codes become file names: allow what real codes use, never a path separator.
_FILE_SAFE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class KeyAlgorithm(StrEnum):
    RSA = "rsa"
    EC = "ec"

    @property
    def algorithm(self) -> Algorithm:
        return "rsa" if self is KeyAlgorithm.RSA else "ec"


PasswordEnv = Annotated[
    str | None,
    typer.Option(
        "--password-env", metavar="VAR", help="Environment variable that holds the password."
    ),
]
AlgorithmOption = Annotated[KeyAlgorithm, typer.Option(help="Key type: RSA-2048 or EC P-256.")]
ForceOption = Annotated[bool, typer.Option(help="Overwrite existing files.")]


def _fail(command: str, subject: object, error: object) -> typer.Exit:
    typer.echo(f"lienthong {command}: {subject}: {error}", err=True)
    return typer.Exit(EXIT_FAILED)


def _password(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        message = f"environment variable {variable} is not set"
        raise typer.BadParameter(message, param_hint="--password-env")
    return value


def sign(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The edXML package to sign.")],
    key: Annotated[Path, typer.Option(help="Private key: PEM, or PKCS#12 (.p12/.pfx).")],
    cert: Annotated[
        Path | None,
        typer.Option(help="Certificate chain (PEM or DER); not needed when the key file has it."),
    ] = None,
    password_env: PasswordEnv = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Signed package file (default: stdout).")
    ] = None,
) -> None:
    """Sign a package as an agency would: one XMLDSig signature over the whole package."""
    password = _password(password_env)
    try:
        data = file.read_bytes()
        signed = sign_package(data, load_signing_identity(key, cert, password))
    except OSError as error:
        raise _fail("sign", file, f"cannot read: {error.strerror or error}") from None
    except LienthongError as error:
        raise _fail("sign", file, error) from None
    if out is None:
        sys.stdout.buffer.write(signed)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(signed)


def _refuse_overwrite(paths: list[Path], force: bool, command: str) -> None:
    existing = [path for path in paths if path.exists()]
    if existing and not force:
        raise _fail(command, existing[0], "already exists (use --force to overwrite)")


def _echo_written(identity: SigningIdentity, paths: list[Path]) -> None:
    info = certificate_info(identity.certificate)
    typer.echo(f"subject: {info.subject}")
    typer.echo(f"valid: {info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d}")
    typer.echo(f"sha256: {info.sha256_fingerprint}")
    for path in paths:
        typer.echo(f"wrote {path}")


def keys_ca(
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory for the CA files.")],
    name: Annotated[str, typer.Option(help="The CA's common name.")] = "lienthong test CA",
    algorithm: AlgorithmOption = KeyAlgorithm.RSA,
    days: Annotated[int, typer.Option(min=1, help="Validity in days.")] = 3650,
    force: ForceOption = False,
) -> None:
    """Create a test CA: ca.key.pem (unencrypted, mode 0600) and ca.cert.pem."""
    paths = [out / CA_KEY_FILE, out / CA_CERT_FILE]
    _refuse_overwrite(paths, force, "keys ca")
    try:
        ca = create_ca(name, algorithm=algorithm.algorithm, valid_days=days)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--name") from None
    out.mkdir(parents=True, exist_ok=True)
    write_private_key(ca.private_key, paths[0])
    write_certificates([ca.certificate], paths[1])
    _echo_written(ca, paths)


def _checked_code(code: str) -> str:
    if not _FILE_SAFE_CODE.match(code):
        raise typer.BadParameter("use letters, digits, '.', '_' and '-' only (it names files)")
    return code


def _load_ca(ca_dir: Path) -> SigningIdentity:
    try:
        return load_signing_identity(ca_dir / CA_KEY_FILE, ca_dir / CA_CERT_FILE)
    except LienthongError as error:
        raise _fail("keys agency", ca_dir, error) from None


def keys_agency(
    code: Annotated[str, typer.Argument(callback=_checked_code, help="The agency code (UID).")],
    ca_dir: Annotated[Path, typer.Option(file_okay=False, help="Directory with the CA files.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory for the agency files.")],
    name: Annotated[str | None, typer.Option(help="Agency name (CN); default: the code.")] = None,
    algorithm: AlgorithmOption = KeyAlgorithm.RSA,
    days: Annotated[int, typer.Option(min=1, help="Validity in days.")] = 730,
    p12: Annotated[bool, typer.Option("--p12", help="Also write <code>.p12.")] = False,
    password_env: PasswordEnv = None,
    force: ForceOption = False,
) -> None:
    """Issue an agency key and certificate: <code>.key.pem, <code>.cert.pem (with the chain).

    With --password-env the PEM key is encrypted with that password, and so is the .p12.
    """
    password = _password(password_env)
    if p12 and not password:
        raise typer.BadParameter("--p12 needs a non-empty password", param_hint="--password-env")
    paths = [out / f"{code}.key.pem", out / f"{code}.cert.pem", *([out / f"{code}.p12"] * p12)]
    _refuse_overwrite(paths, force, "keys agency")
    ca = _load_ca(ca_dir)
    try:
        agency = issue_agency_certificate(
            ca, code, name or code, algorithm=algorithm.algorithm, valid_days=days
        )
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--name") from None
    out.mkdir(parents=True, exist_ok=True)
    write_private_key(agency.private_key, paths[0], password)
    write_certificates([agency.certificate, *agency.chain], paths[1])
    if p12 and password:
        write_pkcs12(agency, paths[2], password)
    _echo_written(agency, paths)


def _sizes(text: str) -> list[int]:
    try:
        return [parse_size(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--sizes") from None


def bench_signing(
    sizes: Annotated[str, typer.Option(help="Comma-separated package sizes.")] = "10K,5M",
    seconds: Annotated[float, typer.Option(min=0.01, help="Time per measurement.")] = 3.0,
    algorithm: Annotated[
        list[KeyAlgorithm] | None, typer.Option(help="rsa or ec; repeat for both (default).")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
) -> None:
    """Measure sign and verify throughput on one core, per package size and key type."""
    chosen = [a.algorithm for a in algorithm or list(KeyAlgorithm)]
    results = run_benchmark(_sizes(sizes), chosen, seconds)
    typer.echo(format_results(results))
    if json_file is not None:
        report = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "seconds_per_measurement": seconds,
            "results": [result.as_dict() for result in results],
        }
        json_file.write_text(json.dumps(report, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    """Add `sign`, the `keys` group and `bench-signing` to the command line."""
    app.command("sign")(sign)
    app.command("bench-signing")(bench_signing)
    keys = typer.Typer(help="Test CA and agency keys for sandboxes.", no_args_is_help=True)
    keys.command("ca")(keys_ca)
    keys.command("agency")(keys_agency)
    app.add_typer(keys, name="keys")
