"""The XML Signature algorithm identifiers (URIs) a signature may name.

These are the W3C's identifiers (XMLDSig 1.0/1.1, RFC 6931). Which of them lienthong accepts
is decided where they are used (:mod:`schemas.signature_shape`, :mod:`schemas.xmldsig`); a
URI outside these enums is not an XML Signature algorithm at all.
"""

from __future__ import annotations

from enum import Enum

_DSIG = "http://www.w3.org/2000/09/xmldsig#"
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_ENC = "http://www.w3.org/2001/04/xmlenc#"
_MORE_2007 = "http://www.w3.org/2007/05/xmldsig-more#"
_MORE_2021 = "http://www.w3.org/2021/04/xmldsig-more#"


class CanonicalizationMethod(Enum):
    CANONICAL_XML_1_0 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    CANONICAL_XML_1_0_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
    CANONICAL_XML_1_1 = "http://www.w3.org/2006/12/xml-c14n11"
    CANONICAL_XML_1_1_WITH_COMMENTS = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
    EXCLUSIVE_XML_CANONICALIZATION_1_0 = "http://www.w3.org/2001/10/xml-exc-c14n#"
    EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS = (
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
    )


class DigestAlgorithm(Enum):
    SHA1 = f"{_DSIG}sha1"
    SHA224 = f"{_MORE}sha224"
    SHA256 = f"{_ENC}sha256"
    SHA384 = f"{_MORE}sha384"
    SHA512 = f"{_ENC}sha512"
    SHA3_224 = f"{_MORE_2007}sha3-224"
    SHA3_256 = f"{_MORE_2007}sha3-256"
    SHA3_384 = f"{_MORE_2007}sha3-384"
    SHA3_512 = f"{_MORE_2007}sha3-512"


class SignatureMethod(Enum):
    RSA_SHA1 = f"{_DSIG}rsa-sha1"
    RSA_SHA224 = f"{_MORE}rsa-sha224"
    RSA_SHA256 = f"{_MORE}rsa-sha256"
    RSA_SHA384 = f"{_MORE}rsa-sha384"
    RSA_SHA512 = f"{_MORE}rsa-sha512"
    ECDSA_SHA1 = f"{_MORE}ecdsa-sha1"
    ECDSA_SHA224 = f"{_MORE}ecdsa-sha224"
    ECDSA_SHA256 = f"{_MORE}ecdsa-sha256"
    ECDSA_SHA384 = f"{_MORE}ecdsa-sha384"
    ECDSA_SHA512 = f"{_MORE}ecdsa-sha512"
    ECDSA_SHA3_224 = f"{_MORE_2021}ecdsa-sha3-224"
    ECDSA_SHA3_256 = f"{_MORE_2021}ecdsa-sha3-256"
    ECDSA_SHA3_384 = f"{_MORE_2021}ecdsa-sha3-384"
    ECDSA_SHA3_512 = f"{_MORE_2021}ecdsa-sha3-512"
    DSA_SHA1 = f"{_DSIG}dsa-sha1"
    DSA_SHA256 = "http://www.w3.org/2009/xmldsig11#dsa-sha256"
    HMAC_SHA1 = f"{_DSIG}hmac-sha1"
    HMAC_SHA224 = f"{_MORE}hmac-sha224"
    HMAC_SHA256 = f"{_MORE}hmac-sha256"
    HMAC_SHA384 = f"{_MORE}hmac-sha384"
    HMAC_SHA512 = f"{_MORE}hmac-sha512"
    SHA1_RSA_MGF1 = f"{_MORE_2007}sha1-rsa-MGF1"
    SHA224_RSA_MGF1 = f"{_MORE_2007}sha224-rsa-MGF1"
    SHA256_RSA_MGF1 = f"{_MORE_2007}sha256-rsa-MGF1"
    SHA384_RSA_MGF1 = f"{_MORE_2007}sha384-rsa-MGF1"
    SHA512_RSA_MGF1 = f"{_MORE_2007}sha512-rsa-MGF1"
    SHA3_224_RSA_MGF1 = f"{_MORE_2007}sha3-224-rsa-MGF1"
    SHA3_256_RSA_MGF1 = f"{_MORE_2007}sha3-256-rsa-MGF1"
    SHA3_384_RSA_MGF1 = f"{_MORE_2007}sha3-384-rsa-MGF1"
    SHA3_512_RSA_MGF1 = f"{_MORE_2007}sha3-512-rsa-MGF1"
