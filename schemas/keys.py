"""Key material: loading an agency's signing key and certificate, and making test ones.

Agencies hold their key either as PEM files (key, certificate chain) or as one PKCS#12 file
(.p12/.pfx) as Vietnamese CAs hand them out. Only RSA of 2048 bits or more and EC P-256 keys
sign lienthong packages (see DESIGN.md, "Signature"). The certificate helpers build a small
private CA and agency certificates for sandboxes and tests; production certificates come from
a real CA.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from schemas.errors import KeyMaterialError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Algorithm = Literal["rsa", "ec"]

MIN_RSA_BITS = 2048
RSA_BITS = 2048
CA_VALID_DAYS = 3650
AGENCY_VALID_DAYS = 730
# Certificates start a little in the past so that a peer whose clock lags accepts them at once.
CLOCK_SKEW = timedelta(minutes=5)
_PKCS12_SUFFIXES = {".p12", ".pfx"}


@dataclass(frozen=True)
class SigningIdentity:
    """A private key, its certificate, and the certificates that lead up to the issuing CA."""

    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class CertificateInfo:
    """What operators and audit records need to know about a certificate."""

    subject: str
    issuer: str
    serial_hex: str  # lowercase, no separators
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str
    agency_code: str | None


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    """Summarise a certificate; the agency code is the subject's UID attribute, if any."""
    uids = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    code = uids[0].value if uids else None
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_hex=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        agency_code=code if isinstance(code, str) else None,
    )


# --- loading -----------------------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise KeyMaterialError(f"cannot read {what} {path}: {error.strerror or error}") from None


def _password_bytes(password: str | bytes | None) -> bytes | None:
    if password is None or isinstance(password, bytes):
        return password
    return password.encode()


def accepted_signing_key(key: PrivateKeyTypes | None, source: str) -> PrivateKey:
    """The key itself if lienthong signs with it (RSA >= 2048 bits, EC P-256), else an error."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyMaterialError(
                f"{source}: the RSA key has {key.key_size} bits; "
                f"at least {MIN_RSA_BITS} are required"
            )
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key
        raise KeyMaterialError(
            f"{source}: the EC key is on curve {key.curve.name}; only P-256 (secp256r1) is accepted"
        )
    kind = "no key" if key is None else f"a {type(key).__name__}"
    raise KeyMaterialError(f"{source}: holds {kind}; use RSA (2048 bits or more) or EC P-256")


def _load_pem_key(data: bytes, path: Path, password: bytes | None) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, password)
    except TypeError:
        if password is None:
            raise KeyMaterialError(
                f"{path}: the private key is encrypted; a password is needed"
            ) from None
        # A password given for a key stored in clear is harmless: read the key without it.
        return _load_pem_key(data, path, None)
    except (ValueError, UnsupportedAlgorithm):
        if b"ENCRYPTED" in data and password is not None:
            raise KeyMaterialError(f"{path}: wrong password for the private key") from None
        raise KeyMaterialError(f"{path}: not a readable PEM private key") from None


def _load_pkcs12(
    data: bytes, path: Path, password: bytes | None
) -> tuple[PrivateKeyTypes | None, tuple[x509.Certificate, ...]]:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyMaterialError(
            f"{path}: wrong password, or not a PKCS#12 (.p12/.pfx) file"
        ) from None
    return key, tuple(c for c in (cert, *extra) if c is not None)


def _pem_certificates(data: bytes, path: Path) -> tuple[x509.Certificate, ...]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        raise KeyMaterialError(f"{path}: holds a PEM certificate that cannot be read") from None


def load_private_key_file(
    path: Path, password: str | bytes | None = None
) -> tuple[PrivateKey, tuple[x509.Certificate, ...]]:
    """The key in a PEM or PKCS#12 file, and any certificates stored beside it in that file."""
    data = _read(path, "private key")
    secret = _password_bytes(password)
    if b"-----BEGIN" in data and path.suffix.lower() not in _PKCS12_SUFFIXES:
        if b"PRIVATE KEY-----" not in data:
            raise KeyMaterialError(f"{path}: holds no PEM private key")
        pem_key = _load_pem_key(data, path, secret)
        return accepted_signing_key(pem_key, str(path)), _pem_certificates(data, path)
    key, certs = _load_pkcs12(data, path, secret)
    return accepted_signing_key(key, str(path)), certs


def load_certificates(path: Path) -> tuple[x509.Certificate, ...]:
    """Every certificate in a PEM file (a chain, in file order) or the one in a DER file."""
    data = _read(path, "certificate")
    if b"-----BEGIN" in data:
        certs = _pem_certificates(data, path)
        if not certs:
            raise KeyMaterialError(f"{path}: holds no PEM certificate")
        return certs
    try:
        return (x509.load_der_x509_certificate(data),)
    except ValueError:
        raise KeyMaterialError(f"{path}: not a PEM or DER X.509 certificate") from None


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_matches_certificate(key: PrivateKey, cert: x509.Certificate) -> bool:
    """Whether the certificate certifies this private key's public half."""
    return _public_der(key.public_key()) == _public_der(cert.public_key())


def load_signing_identity(
    key_path: Path | str, cert_path: Path | str | None = None, password: str | bytes | None = None
) -> SigningIdentity:
    """Load a key (PEM or PKCS#12) and its certificate chain (from cert_path or the key file).

    The certificate whose public key matches the private key is the signing certificate; the
    other certificates, in file order, are its chain.
    """
    key_file = Path(key_path)
    key, bundled = load_private_key_file(key_file, password)
    certs = load_certificates(Path(cert_path)) if cert_path is not None else bundled
    source = str(cert_path) if cert_path is not None else str(key_file)
    if not certs:
        raise KeyMaterialError(f"{key_file}: holds no certificate; give the certificate file too")
    leaf = next((cert for cert in certs if key_matches_certificate(key, cert)), None)
    if leaf is None:
        raise KeyMaterialError(
            f"{key_file}: the private key does not match any certificate in {source}"
        )
    return SigningIdentity(key, leaf, tuple(cert for cert in certs if cert is not leaf))


# --- making test CAs and agency certificates ------------------------------------------------


def generate_private_key(algorithm: Algorithm = "rsa") -> PrivateKey:
    """A fresh RSA-2048 or EC P-256 key."""
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if algorithm == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key algorithm {algorithm!r}: use 'rsa' or 'ec'")


def _key_usage(*, signing: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _common_name(value: str, what: str) -> x509.NameAttribute[str]:
    # RFC 5280 caps a CN at 64 characters; cryptography refuses longer ones with a vague error.
    if not 1 <= len(value) <= 64:
        raise ValueError(f"{what} must be 1 to 64 characters long to fit a certificate: {value!r}")
    return x509.NameAttribute(NameOID.COMMON_NAME, value)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, not_before: datetime | None, days: int
) -> x509.CertificateBuilder:
    start = not_before or datetime.now(UTC) - CLOCK_SKEW
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def create_ca(
    common_name: str,
    *,
    algorithm: Algorithm = "rsa",
    valid_days: int = CA_VALID_DAYS,
    not_before: datetime | None = None,
    issuer: SigningIdentity | None = None,
) -> SigningIdentity:
    """A test CA that can issue certificates: self-signed, or an intermediate under `issuer`."""
    key = generate_private_key(algorithm)
    name = x509.Name([_common_name(common_name, "the CA name")])
    issuer_name = name if issuer is None else issuer.certificate.subject
    builder = (
        _builder(name, issuer_name, key, not_before, valid_days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(signing=False, ca=True), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
    cert = builder.sign(key if issuer is None else issuer.private_key, hashes.SHA256())
    chain = () if issuer is None else (issuer.certificate, *issuer.chain)
    return SigningIdentity(key, cert, chain)


# The keyword-only options mirror create_ca's; grouping them would only hide them.
def issue_agency_certificate(  # noqa: PLR0913
    ca: SigningIdentity,
    agency_code: str,
    agency_name: str,
    *,
    algorithm: Algorithm = "rsa",
    valid_days: int = AGENCY_VALID_DAYS,
    not_before: datetime | None = None,
) -> SigningIdentity:
    """A new key and a signing certificate for one agency: UID = agency code, CN = its name."""
    if not agency_code:
        raise ValueError("the agency code must not be empty")
    key = generate_private_key(algorithm)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.USER_ID, agency_code), _common_name(agency_name, "the name")]
    )
    issuer_key = ca.private_key.public_key()
    cert = (
        _builder(subject, ca.certificate.subject, key, not_before, valid_days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True, ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    return SigningIdentity(key, cert, (ca.certificate, *ca.chain))


# --- writing ---------------------------------------------------------------------------------


def _write_secret(path: Path, data: bytes) -> None:
    # Keys are created readable by their owner only, never briefly world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def private_key_pem(key: PrivateKey, passphrase: str | bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the passphrase when one is given."""
    secret = _password_bytes(passphrase)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write_private_key(key: PrivateKey, path: Path, passphrase: str | bytes | None = None) -> None:
    """Write the key as PEM (mode 0600), encrypted when a passphrase is given."""
    _write_secret(path, private_key_pem(key, passphrase))


def write_certificates(certs: Sequence[x509.Certificate], path: Path) -> None:
    """Write certificates as one PEM file, in the given order (signing certificate first)."""
    path.write_bytes(b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs))


def pkcs12_bytes(
    identity: SigningIdentity, password: str | bytes, name: str | None = None
) -> bytes:
    """The identity (key, certificate and chain) as a password-protected PKCS#12 file."""
    secret = _password_bytes(password)
    if not secret:
        raise ValueError("a PKCS#12 file needs a non-empty password")
    label = (name or _subject_label(identity.certificate)).encode()
    return pkcs12.serialize_key_and_certificates(
        label,
        identity.private_key,
        identity.certificate,
        list(identity.chain) or None,
        serialization.BestAvailableEncryption(secret),
    )


def write_pkcs12(
    identity: SigningIdentity, path: Path, password: str | bytes, name: str | None = None
) -> None:
    """Write the identity as a .p12 file (mode 0600)."""
    _write_secret(path, pkcs12_bytes(identity, password, name))


def _subject_label(cert: x509.Certificate) -> str:
    return certificate_info(cert).agency_code or cert.subject.rfc4514_string()
