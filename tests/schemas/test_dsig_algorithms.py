"""Our algorithm identifiers are the W3C's: checked member by member against signxml's."""

from __future__ import annotations

import signxml.algorithms as theirs

from schemas import dsig_algorithms as ours


def test_every_identifier_matches_signxml() -> None:
    for name in ("CanonicalizationMethod", "DigestAlgorithm", "SignatureMethod"):
        mine = {member.name: member.value for member in getattr(ours, name)}
        reference = {member.name: member.value for member in getattr(theirs, name)}
        assert mine == reference, name
