"""`lienthong sign`, `lienthong keys ca|agency` and `lienthong bench-signing`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from schemas.cli import keys as keys_cli
from schemas.keys import load_certificates, load_signing_identity
from schemas.signing import SignatureState, verify_package
from tests.schemas.cli.run import lienthong
from tests.schemas.factories import DISTRICT, package

PASSWORD_ENV = {"AGENCY_PASSWORD": "mật khẩu của xã"}


def _app() -> typer.Typer:
    app = typer.Typer()
    keys_cli.register(app)
    return app


def _run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(_app(), [str(arg) for arg in args], env=env)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA and one agency with PEM files and a .p12, made through the CLI."""
    root = tmp_path_factory.mktemp("sandbox")
    made_ca = _run("keys", "ca", "--out", root / "ca", "--name", "Sở TT&TT test CA")
    assert made_ca.exit_code == 0, made_ca.output
    made_agency = _run(
        "keys", "agency", DISTRICT, "--ca-dir", root / "ca", "--out", root / "agency",
        "--name", "UBND huyện Hải Hậu", "--p12", "--password-env", "AGENCY_PASSWORD",
        env=PASSWORD_ENV,
    )  # fmt: skip
    assert made_agency.exit_code == 0, made_agency.output
    (root / "package.edxml").write_bytes(package())
    return root


def test_keys_commands_write_the_expected_files(sandbox: Path) -> None:
    assert sorted(p.name for p in (sandbox / "ca").iterdir()) == ["ca.cert.pem", "ca.key.pem"]
    assert sorted(p.name for p in (sandbox / "agency").iterdir()) == [
        f"{DISTRICT}.cert.pem",
        f"{DISTRICT}.key.pem",
        f"{DISTRICT}.p12",
    ]
    chain = load_certificates(sandbox / "agency" / f"{DISTRICT}.cert.pem")
    assert chain[1] == load_certificates(sandbox / "ca" / "ca.cert.pem")[0]
    assert (sandbox / "ca" / "ca.key.pem").stat().st_mode & 0o077 == 0


def test_agency_pem_key_is_encrypted_with_the_password(sandbox: Path) -> None:
    key = sandbox / "agency" / f"{DISTRICT}.key.pem"
    assert b"ENCRYPTED" in key.read_bytes()
    identity = load_signing_identity(
        key, key.with_name(f"{DISTRICT}.cert.pem"), PASSWORD_ENV["AGENCY_PASSWORD"]
    )
    assert identity.certificate.subject.rfc4514_string() == f"CN=UBND huyện Hải Hậu,UID={DISTRICT}"


def test_sign_with_p12_writes_a_package_that_verifies(sandbox: Path) -> None:
    out = sandbox / "signed-p12.edxml"
    result = _run(
        "sign", sandbox / "package.edxml", "--key", sandbox / "agency" / f"{DISTRICT}.p12",
        "--password-env", "AGENCY_PASSWORD", "-o", out, env=PASSWORD_ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    trust = load_certificates(sandbox / "ca" / "ca.cert.pem")
    verification = verify_package(out.read_bytes(), trust=trust)
    assert verification.state is SignatureState.VALID and verification.accepted


def test_sign_with_pem_files_writes_to_stdout(sandbox: Path) -> None:
    result = _run(
        "sign", sandbox / "package.edxml",
        "--key", sandbox / "agency" / f"{DISTRICT}.key.pem",
        "--cert", sandbox / "agency" / f"{DISTRICT}.cert.pem",
        "--password-env", "AGENCY_PASSWORD", env=PASSWORD_ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert verify_package(result.stdout_bytes).state is SignatureState.VALID


def test_sign_with_wrong_password_fails_with_one_line(sandbox: Path) -> None:
    package_file = sandbox / "package.edxml"
    result = _run(
        "sign", package_file, "--key", sandbox / "agency" / f"{DISTRICT}.p12",
        "--password-env", "AGENCY_PASSWORD", env={"AGENCY_PASSWORD": "sai"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(f"lienthong sign: {package_file}: ")
    assert "wrong password" in result.stderr and "Traceback" not in result.stderr


def test_sign_of_a_malformed_package_fails_without_a_traceback(sandbox: Path) -> None:
    broken = sandbox / "broken.edxml"
    broken.write_bytes(b"<edXML><unclosed></edXML>")
    result = lienthong(
        "sign", broken, "--key", sandbox / "agency" / f"{DISTRICT}.p12",
        "--password-env", "AGENCY_PASSWORD", env={**os.environ, **PASSWORD_ENV},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"lienthong sign: {broken}: not well-formed XML")
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_with_2(sandbox: Path) -> None:
    agency_dir = sandbox / "other"
    no_password = _run(
        "keys", "agency", "X1", "--ca-dir", sandbox / "ca", "--out", agency_dir, "--p12"
    )
    assert no_password.exit_code == 2
    unset = _run(
        "sign", sandbox / "package.edxml", "--key", "k.pem", "--password-env", "NOT_SET_ANYWHERE"
    )
    assert unset.exit_code == 2 and "NOT_SET_ANYWHERE" in unset.output
    assert _run("keys", "ca", "--out", agency_dir, "--algorithm", "dsa").exit_code == 2
    assert (
        _run("keys", "agency", "../x", "--ca-dir", sandbox / "ca", "--out", agency_dir).exit_code
        == 2
    )
    assert not agency_dir.exists()


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    assert _run("keys", "ca", "--out", tmp_path, "--algorithm", "ec").exit_code == 0
    first = (tmp_path / "ca.cert.pem").read_bytes()
    again = _run("keys", "ca", "--out", tmp_path, "--algorithm", "ec")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert (tmp_path / "ca.cert.pem").read_bytes() == first
    assert _run("keys", "ca", "--out", tmp_path, "--algorithm", "ec", "--force").exit_code == 0
    assert (tmp_path / "ca.cert.pem").read_bytes() != first


def test_bench_signing_reports_sign_and_verify(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    result = _run(
        "bench-signing", "--sizes", "2K", "--seconds", "0.05", "--algorithm", "ec", "--json", report
    )
    assert result.exit_code == 0, result.output
    assert "sign" in result.stdout and "verify" in result.stdout
    rows = json.loads(report.read_text())["results"]
    assert [(r["operation"], r["algorithm"]) for r in rows] == [("sign", "ec"), ("verify", "ec")]
    assert all(r["iterations"] >= 1 and r["per_second"] > 0 for r in rows)
    assert all(1900 < r["size_bytes"] < 2300 for r in rows)
