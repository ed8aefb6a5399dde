"""Bad input is refused with a specific reason the sender receives; nothing is routed or lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from hub.db import transaction
from hub.directory import service as directory
from hub.models import AgencyState, Quarantine
from schemas.model import StatusCode, StatusPackage
from schemas.reader import read_package
from schemas.signing import SignatureState, verify_package
from schemas.writer import write_package
from tests.hub.hub_stack import HubStack, Member, document
from tests.hub.intake.conftest import COMMUNE_A, COMMUNE_B, DISTRICT

Case = Callable[[HubStack], bytes]


def malformed(hub: HubStack) -> bytes:
    return b"<edXML><unclosed></edXML>"


def not_edxml(hub: HubStack) -> bytes:
    return b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><x/></edXML>'


def unsigned(hub: HubStack) -> bytes:
    return write_package(document(COMMUNE_A, DISTRICT))


def tampered(hub: HubStack) -> bytes:
    body = hub.members[COMMUNE_A].sign(document(COMMUNE_A, DISTRICT, subject="lúa mùa"))
    return body.replace("lúa mùa".encode(), "lúa chiêm".encode())


def signed_by_another_agency(hub: HubStack) -> bytes:
    return hub.members[COMMUNE_B].sign(document(COMMUNE_A, DISTRICT))


def claims_another_sender(hub: HubStack) -> bytes:
    return hub.members[COMMUNE_B].sign(document(COMMUNE_B, DISTRICT))


def unknown_recipient(hub: HubStack) -> bytes:
    return hub.members[COMMUNE_A].sign(document(COMMUNE_A, DISTRICT, "000.99.29.H40"))


CASES: dict[str, tuple[Case, str]] = {
    "malformed": (malformed, "the package cannot be read: not well-formed XML"),
    "not-edxml": (not_edxml, "required element 'edXMLEnvelope' is missing (line 1 at /edXML)"),
    "unsigned": (unsigned, "the package is not signed"),
    "tampered": (tampered, "the signature is not accepted: the package was changed"),
    "foreign-certificate": (signed_by_another_agency, f"is not registered to '{COMMUNE_A}'"),
    "from-mismatch": (
        claims_another_sender,
        f"says it is from '{COMMUNE_B}', but it was published",
    ),
    "unknown-recipient": (unknown_recipient, "unknown recipient(s): 000.99.29.H40"),
}


def refusal_of(body: bytes, hub: HubStack) -> StatusPackage:
    """The hub's status 02, checked to be signed by the hub's own key."""
    verification = verify_package(body, trust=[hub.ca.certificate])
    assert verification.state is SignatureState.VALID
    assert verification.certificate is not None
    assert verification.certificate.agency_code == "lienthong.hub"
    package = read_package(body).package
    assert isinstance(package, StatusPackage)
    return package


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_input_is_refused_with_a_reason_the_sender_receives(
    hub: HubStack, case: str
) -> None:
    make, reason = CASES[case]
    commune = hub.members[COMMUNE_A]
    async with hub.worker():
        await hub.publish(commune, make(hub), message_id=f"bad-{case}")
        answers = await hub.drain(COMMUNE_A, expect=1)
        routed = await hub.drain(DISTRICT, expect=0, timeout=1)
    assert routed == []
    (answer,) = answers
    status = refusal_of(answer.body, hub)
    assert status.status_code is StatusCode.REFUSED
    assert status.response_for.document_id == f"bad-{case}"
    assert status.description is not None and reason in status.description
    async with hub.runtime.sessions() as session:
        kept = (await session.scalars(select(Quarantine))).one()
    assert kept.message_id == f"bad-{case}" and reason in kept.reason
    assert kept.refusal_envelope_id == answer.message_id


async def test_a_suspended_sender_is_refused(hub: HubStack) -> None:
    async with transaction(hub.runtime.sessions) as session:
        await directory.set_state(session, COMMUNE_A, AgencyState.SUSPENDED, "test")
    commune = hub.members[COMMUNE_A]
    async with hub.worker():
        await hub.publish(commune, commune.sign(document(COMMUNE_A, DISTRICT)))
        (answer,) = await hub.drain(COMMUNE_A, expect=1)
        routed = await hub.drain(DISTRICT, expect=0, timeout=1)
    assert routed == []
    description = refusal_of(answer.body, hub).description or ""
    assert f"the sending agency '{COMMUNE_A}' is suspended" in description


async def test_a_suspended_recipient_is_named_in_the_refusal(hub: HubStack) -> None:
    async with transaction(hub.runtime.sessions) as session:
        await directory.set_state(session, COMMUNE_B, AgencyState.SUSPENDED, "test")
    district = hub.members[DISTRICT]
    async with hub.worker():
        await hub.publish(district, district.sign(document(DISTRICT, COMMUNE_A, COMMUNE_B)))
        (answer,) = await hub.drain(DISTRICT, expect=1)
        routed = await hub.drain(COMMUNE_A, expect=0, timeout=1)
    assert routed == []
    assert f"suspended recipient(s): {COMMUNE_B}" in (
        refusal_of(answer.body, hub).description or ""
    )


async def test_a_message_without_user_id_is_quarantined_only(hub: HubStack) -> None:
    commune: Member = hub.members[COMMUNE_A]
    async with hub.worker():
        await hub.publish(commune, commune.sign(document(COMMUNE_A, DISTRICT)), message_id="anon",
                          user_id=None)  # fmt: skip
        routed = await hub.drain(DISTRICT, expect=0, timeout=2)
    assert routed == []
    async with hub.runtime.sessions() as session:
        kept = (await session.scalars(select(Quarantine))).one()
    assert "carries no user_id" in kept.reason and kept.refusal_envelope_id is None


async def test_a_resend_after_the_cause_is_fixed_goes_through(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    body = commune.sign(document(COMMUNE_A, DISTRICT))
    async with transaction(hub.runtime.sessions) as session:
        await directory.set_state(session, COMMUNE_A, AgencyState.SUSPENDED, "test")
    async with hub.worker():
        await hub.publish(commune, body, message_id="first")
        assert len(await hub.drain(COMMUNE_A, expect=1)) == 1
        async with transaction(hub.runtime.sessions) as session:
            await directory.set_state(session, COMMUNE_A, AgencyState.ACTIVE, "test")
        await hub.publish(commune, body, message_id="second")
        delivered = await hub.drain(DISTRICT, expect=1)
    assert [m.body for m in delivered] == [body]


async def test_another_agency_replaying_received_bytes_is_refused(hub: HubStack) -> None:
    district = hub.members[DISTRICT]
    body = district.sign(document(DISTRICT, COMMUNE_A))
    async with hub.worker():
        await hub.publish(district, body)
        assert len(await hub.drain(COMMUNE_A, expect=1)) == 1
        await hub.publish(hub.members[COMMUNE_A], body, message_id="replay")
        (answer,) = await hub.drain(COMMUNE_A, expect=1)
    assert f"says it is from '{DISTRICT}'" in (refusal_of(answer.body, hub).description or "")


async def test_odd_message_ids_neither_stall_intake_nor_lose_the_answer(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    good = commune.sign(document(COMMUNE_A, DISTRICT))
    async with hub.worker():
        await hub.publish(commune, good, message_id="x" * 250)
        await hub.publish(commune, b"<broken", message_id="bad\x01id")
        delivered = await hub.drain(DISTRICT, expect=1)
        (answer,) = await hub.drain(COMMUNE_A, expect=1)
    assert [m.body for m in delivered] == [good]
    status = refusal_of(answer.body, hub)
    assert (
        status.response_for.document_id is not None
        and "\x01" not in status.response_for.document_id
    )


async def test_another_package_under_a_used_envelope_id_is_refused(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    first = commune.sign(document(COMMUNE_A, DISTRICT))
    second = commune.sign(document(COMMUNE_A, DISTRICT, subject="khác"))
    async with hub.worker():
        await hub.publish(commune, first, message_id="same-id")
        assert [m.body for m in await hub.drain(DISTRICT, expect=1)] == [first]
        await hub.publish(commune, second, message_id="same-id")
        (answer,) = await hub.drain(COMMUNE_A, expect=1)
        assert await hub.drain(DISTRICT, expect=0, timeout=1) == []
    reason = refusal_of(answer.body, hub).description or ""
    assert "envelope id 'same-id' was already used for another package" in reason


async def test_a_repeat_of_an_accepted_envelope_is_not_refused_for_a_later_change(
    hub: HubStack,
) -> None:
    """Resent under a new message id after the sender was suspended: the earlier acceptance
    stands, and nothing is delivered twice or refused."""
    commune = hub.members[COMMUNE_A]
    body = commune.sign(document(COMMUNE_A, DISTRICT))
    async with hub.worker():
        await hub.publish(commune, body, message_id="original")
        assert len(await hub.drain(DISTRICT, expect=1)) == 1
        async with transaction(hub.runtime.sessions) as session:
            await directory.set_state(session, COMMUNE_A, AgencyState.SUSPENDED, "test")
        await hub.publish(commune, body, message_id="resent")
        assert await hub.drain(COMMUNE_A, expect=0, timeout=2) == []
        assert await hub.drain(DISTRICT, expect=0, timeout=1) == []
    async with hub.runtime.sessions() as session:
        assert list(await session.scalars(select(Quarantine))) == []


async def test_a_revocation_made_by_hand_applies_to_the_next_message(hub: HubStack) -> None:
    """The running intake's directory follows a change made with plain SQL at once."""
    commune = hub.members[COMMUNE_A]
    async with hub.worker():
        await hub.publish(commune, commune.sign(document(COMMUNE_A, DISTRICT)))
        assert len(await hub.drain(DISTRICT, expect=1)) == 1
        async with transaction(hub.runtime.sessions) as session:
            await session.execute(text("UPDATE agency_certificate SET revoked_at = now()"))
        await hub.publish(commune, commune.sign(document(COMMUNE_A, DISTRICT)))
        (answer,) = await hub.drain(COMMUNE_A, expect=1)
        assert await hub.drain(DISTRICT, expect=0, timeout=1) == []
    reason = refusal_of(answer.body, hub).description or ""
    assert f"the signing certificate of '{COMMUNE_A}' was revoked" in reason
