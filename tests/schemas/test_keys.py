"""Loading and making key material: PEM, PKCS#12, refusals, and test certificates."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from schemas.errors import KeyMaterialError
from schemas.keys import (
    SigningIdentity,
    certificate_info,
    create_ca,
    issue_agency_certificate,
    load_certificates,
    load_signing_identity,
    private_key_pem,
    write_certificates,
    write_pkcs12,
    write_private_key,
)
from tests.schemas.factories import DISTRICT, agency, fresh_ca


@pytest.fixture(scope="module")
def ca() -> SigningIdentity:
    return fresh_ca()


@pytest.fixture(scope="module")
def district(ca: SigningIdentity) -> SigningIdentity:
    return agency(ca, DISTRICT)


def _write_pem_pair(
    identity: SigningIdentity, folder: Path, passphrase: str | None = None
) -> tuple[Path, Path]:
    key_path, cert_path = folder / "agency.key.pem", folder / "agency.cert.pem"
    write_private_key(identity.private_key, key_path, passphrase)
    write_certificates([identity.certificate, *identity.chain], cert_path)
    return key_path, cert_path


def _same_key(a: SigningIdentity, b: SigningIdentity) -> bool:
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return a.private_key.public_key().public_bytes(
        der, spki
    ) == b.private_key.public_key().public_bytes(der, spki)


def test_pem_key_and_chain_load_as_the_identity_written(
    district: SigningIdentity, ca: SigningIdentity, tmp_path: Path
) -> None:
    key_path, cert_path = _write_pem_pair(district, tmp_path)
    loaded = load_signing_identity(key_path, cert_path)
    assert _same_key(loaded, district)
    assert loaded.certificate == district.certificate
    assert loaded.chain == (ca.certificate,)


def test_key_file_is_readable_by_its_owner_only(district: SigningIdentity, tmp_path: Path) -> None:
    key_path, _ = _write_pem_pair(district, tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_encrypted_pem_needs_its_password(district: SigningIdentity, tmp_path: Path) -> None:
    key_path, cert_path = _write_pem_pair(district, tmp_path, "mật khẩu")
    assert b"ENCRYPTED" in key_path.read_bytes()
    assert _same_key(load_signing_identity(key_path, cert_path, "mật khẩu"), district)
    with pytest.raises(KeyMaterialError, match="encrypted; a password is needed") as missing:
        load_signing_identity(key_path, cert_path)
    assert str(key_path) in str(missing.value)
    with pytest.raises(KeyMaterialError, match="wrong password"):
        load_signing_identity(key_path, cert_path, "sai")


def test_pem_holding_key_and_certificates_needs_no_cert_file(
    district: SigningIdentity, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    certs = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (district.certificate, *district.chain)
    )
    bundle.write_bytes(private_key_pem(district.private_key) + certs)
    assert load_signing_identity(bundle).certificate == district.certificate


def test_pkcs12_loads_key_certificate_and_chain(
    district: SigningIdentity, ca: SigningIdentity, tmp_path: Path
) -> None:
    p12 = tmp_path / "agency.p12"
    write_pkcs12(district, p12, "bí mật")
    loaded = load_signing_identity(p12, password="bí mật")
    assert _same_key(loaded, district)
    assert loaded.certificate == district.certificate
    assert loaded.chain == (ca.certificate,)


def test_pkcs12_with_wrong_password_names_the_file(
    district: SigningIdentity, tmp_path: Path
) -> None:
    p12 = tmp_path / "agency.pfx"
    write_pkcs12(district, p12, "right")
    with pytest.raises(KeyMaterialError, match="wrong password") as error:
        load_signing_identity(p12, password="wrong")
    assert "agency.pfx" in str(error.value)


def test_key_that_does_not_match_the_certificate_is_refused(
    ca: SigningIdentity, district: SigningIdentity, tmp_path: Path
) -> None:
    other = agency(ca, "000.12.05.H40")
    key_path = tmp_path / "other.key.pem"
    write_private_key(other.private_key, key_path)
    _, cert_path = _write_pem_pair(district, tmp_path)
    with pytest.raises(KeyMaterialError, match="does not match any certificate"):
        load_signing_identity(key_path, cert_path)


def _write_raw_key(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, path: Path
) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_rsa_1024_is_refused(tmp_path: Path) -> None:
    too_short = rsa.generate_private_key(65537, 1024)  # noqa: S505 - refusing it is the point
    weak = _write_raw_key(too_short, tmp_path / "weak.pem")
    with pytest.raises(KeyMaterialError, match="1024 bits; at least 2048") as error:
        load_signing_identity(weak, weak)
    assert "weak.pem" in str(error.value)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (ec.generate_private_key(ec.SECP384R1()), "only P-256"),
        (ed25519.Ed25519PrivateKey.generate(), "use RSA .2048 bits or more. or EC P-256"),
    ],
)
def test_other_key_types_are_refused(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, message: str, tmp_path: Path
) -> None:
    path = _write_raw_key(key, tmp_path / "key.pem")
    with pytest.raises(KeyMaterialError, match=message):
        load_signing_identity(path, path)


def test_missing_or_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"cannot read private key .*nowhere\.pem"):
        load_signing_identity(tmp_path / "nowhere.pem")
    garbage = tmp_path / "garbage.crt"
    garbage.write_bytes(b"\x00\x01 not a certificate")
    with pytest.raises(KeyMaterialError, match=r"garbage\.crt: not a PEM or DER"):
        load_certificates(garbage)


def test_der_certificate_loads(district: SigningIdentity, tmp_path: Path) -> None:
    path = tmp_path / "agency.cer"
    path.write_bytes(district.certificate.public_bytes(serialization.Encoding.DER))
    assert load_certificates(path) == (district.certificate,)


def test_agency_certificate_names_the_agency_and_may_only_sign(
    ca: SigningIdentity, district: SigningIdentity
) -> None:
    cert = district.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == DISTRICT
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"Agency {DISTRICT}"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    cert.verify_directly_issued_by(ca.certificate)


def test_ca_certificate_is_a_self_signed_ca(ca: SigningIdentity) -> None:
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ca.certificate.verify_directly_issued_by(ca.certificate)
    assert ca.chain == ()


def test_ec_agency_under_an_intermediate_carries_the_whole_chain() -> None:
    root = create_ca("Root", algorithm="ec")
    intermediate = create_ca("Intermediate", algorithm="ec", issuer=root)
    issued = issue_agency_certificate(intermediate, "000.12.05.H40", "UBND xã", algorithm="ec")
    assert isinstance(issued.private_key, ec.EllipticCurvePrivateKey)
    assert issued.chain == (intermediate.certificate, root.certificate)
    intermediate.certificate.verify_directly_issued_by(root.certificate)


def test_certificate_info_summarises_the_certificate(district: SigningIdentity) -> None:
    cert = district.certificate
    info = certificate_info(cert)
    assert info.agency_code == DISTRICT
    assert info.subject == cert.subject.rfc4514_string() and "UID=000.00.05.H40" in info.subject
    assert info.issuer == "CN=Test CA"
    assert int(info.serial_hex, 16) == cert.serial_number
    der = cert.public_bytes(serialization.Encoding.DER)
    assert info.sha256_fingerprint == hashlib.sha256(der).hexdigest()
    assert info.not_before.tzinfo is UTC and info.not_before < info.not_after


def test_certificate_info_of_a_ca_has_no_agency_code(ca: SigningIdentity) -> None:
    assert certificate_info(ca.certificate).agency_code is None


def test_names_too_long_for_a_certificate_are_refused(ca: SigningIdentity) -> None:
    with pytest.raises(ValueError, match="1 to 64 characters"):
        issue_agency_certificate(ca, DISTRICT, "x" * 65, algorithm="ec")
