"""`lienthong validate` on the real SDK packages, hostile files and signed packages."""

from __future__ import annotations

import json
import os
from pathlib import Path

from schemas.keys import write_certificates
from schemas.signing import sign_package
from tests.schemas.cli.run import lienthong
from tests.schemas.factories import COMMUNE, DISTRICT, agency, fresh_ca, package
from tests.sdk_fixtures import EDXML_SDK, MALFORMED, WELL_FORMED

ALL_FIXTURES = sorted(EDXML_SDK.glob("*.edxml"))


def test_every_fixture_gets_a_report_and_the_malformed_ones_name_their_fault() -> None:
    result = lienthong("validate", "--json", *ALL_FIXTURES)
    assert result.returncode == 1, result.stderr
    reports = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert len(reports) == 18
    for name, fault in MALFORMED.items():
        assert reports[name]["kind"] is None
        assert fault in reports[name]["problems"][0]["message"]
        assert reports[name]["problems"][0]["line"] == (116 if name == "edoc.edxml" else 1)
    assert all(reports[name]["kind"] in ("document", "status") for name in WELL_FORMED)


def test_lenient_mode_reads_edoc_and_names_the_repair() -> None:
    result = lienthong("validate", "--json", "--lenient", EDXML_SDK / "edoc.edxml")
    (report,) = json.loads(result.stdout)
    assert report["kind"] == "document"
    repairs = [p["message"] for p in report["problems"] if p["severity"] == "repair"]
    assert any("namespace prefix 'xlink'" in r for r in repairs)


def test_text_report_shows_parties_attachments_and_signature() -> None:
    result = lienthong("validate", EDXML_SDK / "edoc_update.edxml")
    assert result.returncode == 1
    out = result.stdout
    assert "document, business type 2" in out
    assert "from: 000.00.00.G22 Văn phòng Chính phủ" in out
    assert out.count("  to:   ") == 3
    assert "attachment: 1896_QD-TTg_m_294779.doc (270,823 bytes, application/zip, zipped:" in out
    assert "signature: invalid" in out and "XMLDSig namespace" in out


def test_unsigned_status_packages_are_acceptable_unless_a_signature_is_required() -> None:
    status = EDXML_SDK / "status_acceptance_03.edxml"
    assert lienthong("validate", status).returncode == 0
    required = lienthong("validate", "--require-signature", status)
    assert required.returncode == 1
    assert "error: the package is not signed" in required.stdout


def test_usage_errors_exit_2() -> None:
    missing = lienthong("validate", "/nonexistent/file.edxml")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert lienthong("validate", "--no-such-flag", EDXML_SDK / "status.edxml").returncode == 2


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.edxml"
    with huge.open("wb") as file:
        file.truncate(200 * 1024 * 1024)  # sparse: costs no disk and no memory
    result = lienthong("validate", huge)
    assert result.returncode == 1
    assert "file is 209,715,200 bytes, above the limit" in result.stdout


def test_the_size_limit_is_a_setting(tmp_path: Path) -> None:
    env = os.environ | {"LIENTHONG_MAX_PACKAGE_BYTES": "1000"}
    result = lienthong("validate", EDXML_SDK / "status.edxml", env=env)
    assert result.returncode == 1
    assert "above the limit of 1,000 bytes" in result.stdout


def test_an_xxe_file_is_refused_and_nothing_is_read_from_disk(tmp_path: Path) -> None:
    hostile = tmp_path / "xxe.edxml"
    hostile.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE edXML [<!ENTITY s SYSTEM "file:///etc/passwd">]>\n'
        '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&s;</edXML>'
    )
    result = lienthong("validate", "--lenient", hostile)
    assert result.returncode == 1
    assert "DTDs) are not allowed" in result.stdout and "root:" not in result.stdout
    assert "Traceback" not in result.stderr


def _signed_package(tmp_path: Path, sender: str) -> tuple[Path, Path]:
    ca = fresh_ca("Sandbox CA", algorithm="ec")
    signer = agency(ca, sender, algorithm="ec")
    signed = tmp_path / "signed.edxml"
    signed.write_bytes(sign_package(package(), signer))
    write_certificates([ca.certificate], tmp_path / "ca.pem")
    return signed, tmp_path / "ca.pem"


def test_a_signed_package_is_acceptable_against_its_ca(tmp_path: Path) -> None:
    signed, ca = _signed_package(tmp_path, DISTRICT)
    result = lienthong("validate", "--json", "--require-signature", "--trust", ca, signed)
    assert result.returncode == 0, result.stdout
    (report,) = json.loads(result.stdout)
    assert report["signature"]["state"] == "valid" and report["signature"]["trusted"] is True
    assert report["signature"]["certificate"]["agency_code"] == DISTRICT


def test_a_certificate_of_another_agency_is_refused(tmp_path: Path) -> None:
    signed, ca = _signed_package(tmp_path, COMMUNE)  # the package says it is from DISTRICT
    result = lienthong("validate", "--trust", ca, signed)
    assert result.returncode == 1
    assert f"issued to agency '{COMMUNE}', but the package is from '{DISTRICT}'" in result.stdout


def test_an_untrusted_ca_fails(tmp_path: Path) -> None:
    signed, _ = _signed_package(tmp_path, DISTRICT)
    other = tmp_path / "other"
    other.mkdir()
    _, other_ca = _signed_package(other, DISTRICT)
    result = lienthong("validate", "--trust", other_ca, signed)
    assert result.returncode == 1
    assert "signature not accepted" in result.stdout


def test_an_unreadable_trust_file_is_a_usage_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    result = lienthong("validate", "--trust", bogus, EDXML_SDK / "status.edxml")
    assert result.returncode == 2
    assert f"--trust {bogus}" in result.stderr and "Traceback" not in result.stderr


def test_bench_hostile_reports_every_refusal() -> None:
    result = lienthong("bench-hostile")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 5
    assert all("UnsafeXmlError" in row for row in rows)


def test_a_bad_setting_is_a_usage_error_naming_the_variable() -> None:
    env = os.environ | {"LIENTHONG_MAX_XML_DEPTH": "abc"}
    result = lienthong("validate", EDXML_SDK / "status.edxml", env=env)
    assert result.returncode == 2
    assert "LIENTHONG_MAX_XML_DEPTH" in result.stderr and "Traceback" not in result.stderr


def test_compose_writes_a_package_that_validates(tmp_path: Path) -> None:
    attachment = tmp_path / "bao-cao.txt"
    attachment.write_text("Báo cáo")
    out = tmp_path / "out.edxml"
    composed = lienthong(
        "compose",
        "--from",
        COMMUNE,
        "--to",
        DISTRICT,
        "--subject",
        "V/v thử",
        "--attach",
        attachment,
        "-o",
        out,
    )
    assert composed.returncode == 0, composed.stderr
    (report,) = json.loads(lienthong("validate", "--json", out).stdout)
    assert report["acceptable"] and report["subject"] == "V/v thử"
    assert report["attachments"][0]["name"] == "bao-cao.txt"


def test_compose_refuses_control_characters_cleanly() -> None:
    result = lienthong("compose", "--from", COMMUNE, "--to", DISTRICT, "--subject", "a\x01b")
    assert result.returncode == 1
    assert "'Subject' holds characters XML cannot carry" in result.stderr
    assert "Traceback" not in result.stderr
