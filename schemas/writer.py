"""Write a package model as edXML bytes, always in one canonical element order.

The layout mimics what the national axis SDK writes (default namespace on the root, the
``edXML`` prefix inside the envelope, ``cid:`` content ids), so peers that parse by prefix or
by local name both read it. Signing is a separate step: see :mod:`schemas.signing`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum

from lxml import etree

from schemas.errors import SchemaViolation
from schemas.model import (
    VIETNAM_TIME,
    Attachment,
    Business,
    DocumentPackage,
    LienthongInfo,
    Organization,
    OtherInfo,
    Package,
    ResponseFor,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)
from schemas.namespaces import EDXML, LIENTHONG, qname
from schemas.reader_nodes import DATE_FORMAT, TIMESTAMP_FORMAT

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
Value = str | int | bool | date | datetime | Enum | None


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM_TIME).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _add(parent: etree._Element, local: str, namespace: str = EDXML) -> etree._Element:
    return etree.SubElement(parent, qname(local, namespace))


def _fields(parent: etree._Element, pairs: Iterable[tuple[str, Value]]) -> None:
    """Append one text element per pair whose value is set, in the given order."""
    for local, value in pairs:
        if value is None:
            continue
        try:
            _add(parent, local).text = _text(value)
        except ValueError:
            raise SchemaViolation(
                f"'{local}' holds characters XML cannot carry (control characters or NUL)"
            ) from None


def _organization(parent: etree._Element, local: str, org: Organization) -> None:
    _fields(_add(parent, local), (
        ("OrganId", org.organ_id), ("OrganName", org.organ_name),
        ("OrganizationInCharge", org.organization_in_charge), ("OrganAdd", org.organ_add),
        ("Email", org.email), ("Telephone", org.telephone), ("Fax", org.fax),
        ("Website", org.website),
    ))  # fmt: skip


def _response_for(parent: etree._Element, response: ResponseFor) -> None:
    _fields(_add(parent, "ResponseFor"), (
        ("OrganId", response.organ_id), ("Code", response.code),
        ("PromulgationDate", response.promulgation_date), ("DocumentId", response.document_id),
    ))  # fmt: skip


def _staff(parent: etree._Element, staff: StaffInfo | None) -> None:
    if staff is not None:
        _fields(_add(parent, "StaffInfo"), (
            ("Department", staff.department), ("Staff", staff.staff),
            ("Mobile", staff.mobile), ("Email", staff.email),
        ))  # fmt: skip


def _list(parent: etree._Element, local: str, item: str, values: tuple[str, ...]) -> None:
    if values:
        _fields(_add(parent, local), ((item, value) for value in values))


def _other_info(parent: etree._Element, info: OtherInfo) -> None:
    node = _add(parent, "OtherInfo")
    _fields(node, (
        ("Priority", info.priority), ("SphereOfPromulgation", info.sphere_of_promulgation),
        ("TyperNotation", info.typer_notation), ("PromulgationAmount", info.promulgation_amount),
        ("PageAmount", info.page_amount), ("Direction", info.direction),
    ))  # fmt: skip
    _list(node, "Appendixes", "Appendix", info.appendixes)


def _document_header(message: etree._Element, doc: DocumentPackage) -> None:
    _organization(message, "From", doc.sender)
    for recipient in doc.recipients:
        _organization(message, "To", recipient)
    _fields(message, [("DocumentId", doc.document_id)])
    if doc.code is not None:
        _fields(_add(message, "Code"), (
            ("CodeNumber", doc.code.code_number), ("CodeNotation", doc.code.code_notation),
        ))  # fmt: skip
    if doc.promulgation is not None:
        _fields(_add(message, "PromulgationInfo"), (
            ("Place", doc.promulgation.place),
            ("PromulgationDate", doc.promulgation.promulgation_date),
        ))  # fmt: skip
    if doc.document_type is not None:
        kind = doc.document_type
        _fields(_add(message, "DocumentType"), (
            ("Type", kind.type), ("TypeDetail", kind.type_detail), ("TypeName", kind.type_name),
        ))  # fmt: skip
    _fields(message, (("Subject", doc.subject), ("Content", doc.content)))
    _document_tail(message, doc)


def _document_tail(message: etree._Element, doc: DocumentPackage) -> None:
    if doc.signer is not None:
        _fields(_add(message, "SignerInfo"), (
            ("Competence", doc.signer.competence), ("Position", doc.signer.position),
            ("FullName", doc.signer.full_name),
        ))  # fmt: skip
    _fields(message, [("DueDate", doc.due_date)])
    _list(message, "ToPlaces", "Place", doc.to_places)
    if doc.other_info is not None:
        _other_info(message, doc.other_info)
    for response in doc.response_for:
        _response_for(message, response)
    _fields(message, [("SteeringType", doc.steering_type)])


def _business(parent: etree._Element, business: Business) -> None:
    node = _add(parent, "Bussiness")
    _fields(node, (
        ("BussinessDocType", business.doc_type), ("BussinessDocReason", business.reason),
        ("DocumentId", business.document_id), ("Paper", business.paper),
    ))  # fmt: skip
    if business.document_info is not None:
        info = _add(node, "BussinessDocumentInfo")
        _fields(info, (
            ("DocumentInfo", business.document_info.document_info),
            ("DocumentReceiver", business.document_info.document_receiver),
        ))  # fmt: skip
        if business.document_info.receivers:
            receivers = _add(info, "ReceiverList")
            for receiver in business.document_info.receivers:
                _fields(_add(receivers, "Receiver"), (
                    ("OrganId", receiver.organ_id), ("ReceiverType", receiver.receiver_type),
                ))  # fmt: skip
    if business.replacements:
        replacements = _add(node, "ReplacementInfoList")
        for replacement in business.replacements:
            item = _add(replacements, "ReplacementInfo")
            _fields(item, [("DocumentId", replacement.document_id)])
            _list(item, "OrganIdList", "OrganId", replacement.organ_ids)
    _staff(node, business.staff_info)


def _trace(
    header: etree._Element, trace: tuple[TraceHeader, ...], business: Business | None
) -> None:
    if not trace and business is None:
        return
    node = _add(header, "TraceHeaderList")
    for hop in trace:
        _fields(
            _add(node, "TraceHeader"), (("OrganId", hop.organ_id), ("Timestamp", hop.timestamp))
        )
    if business is not None:
        _business(node, business)


def _lienthong(header: etree._Element, info: LienthongInfo | None) -> None:
    if info is None:
        return
    node = etree.SubElement(header, qname("Lienthong", LIENTHONG), nsmap={"lt": LIENTHONG})
    if info.envelope_id is not None:
        _add(node, "EnvelopeId", LIENTHONG).text = info.envelope_id
    if info.delete_on_mistake:
        _add(node, "DeleteOnMistake", LIENTHONG).text = "true"
    if info.answers is not None:
        _add(node, "Answers", LIENTHONG).text = info.answers
    if info.external_attachments:
        _external_attachments(_add(node, "ExternalAttachments", LIENTHONG), info)


def _external_attachments(holder: etree._Element, info: LienthongInfo) -> None:
    for item in info.external_attachments:
        node = _add(holder, "Attachment", LIENTHONG)
        for local, value in (("Name", item.name), ("ContentType", item.content_type),
                             ("Size", str(item.size)), ("Sha256", item.sha256),
                             ("Description", item.description)):  # fmt: skip
            if value is not None:
                _add(node, local, LIENTHONG).text = value


def _attachments(
    root: etree._Element, envelope: etree._Element, files: tuple[Attachment, ...]
) -> None:
    manifest = _add(_add(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    if not files:
        return
    encoded = _add(root, "AttachmentEncoded")
    for file in files:
        _fields(_add(manifest, "Reference"), (
            ("ContentId", f"cid:{file.content_id}"),
            ("ContentType", file.manifest_content_type or file.content_type),
            ("AttachmentName", file.name), ("Description", file.description),
        ))  # fmt: skip
        item = _add(encoded, "Attachment")
        _fields(item, (
            ("ContentId", f"cid:{file.content_id}"), ("AttachmentName", file.name),
            ("Description", file.description), ("ContentType", file.content_type),
        ))  # fmt: skip
        _add(item, "ContentTransferEncoded").text = base64.b64encode(file.content).decode("ascii")


def _skeleton() -> tuple[etree._Element, etree._Element, etree._Element, etree._Element]:
    root = etree.Element(qname("edXML"), nsmap={None: EDXML})
    envelope = etree.SubElement(root, qname("edXMLEnvelope"), nsmap={"edXML": EDXML})
    header = _add(envelope, "edXMLHeader")
    return root, envelope, header, _add(header, "MessageHeader")


def build_tree(package: Package) -> etree._Element:
    """The package as an element tree (unsigned), in canonical order."""
    root, envelope, header, message = _skeleton()
    if isinstance(package, StatusPackage):
        _organization(message, "From", package.sender)
        _response_for(message, package.response_for)
        _staff(message, package.staff_info)
        _fields(message, (
            ("StatusCode", package.status_code), ("Description", package.description),
            ("Timestamp", package.timestamp),
        ))  # fmt: skip
        _trace(header, package.trace, None)
    else:
        _document_header(message, package)
        _trace(header, package.trace, package.business)
    _lienthong(header, package.lienthong)
    if isinstance(package, DocumentPackage):
        _attachments(root, envelope, package.attachments)
    return root


def package_tree(package: Package) -> etree._Element:
    """The package as an indented edXML tree (unsigned)."""
    root = build_tree(package)
    etree.indent(root, space="  ")
    return root


def write_package(package: Package) -> bytes:
    """The package as UTF-8 edXML bytes with an XML declaration (unsigned)."""
    root = package_tree(package)
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)
