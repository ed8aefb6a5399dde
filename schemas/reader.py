"""Read an edXML package (bytes) into the typed model, or fail saying what and where.

Reading is order-insensitive, normalises ``cid:`` prefixes, reads ``Business`` as well as the
standard's ``Bussiness``, and in lenient mode repairs the quirks real producers have (saying
which repair it made). It does not judge signatures: see :mod:`schemas.signing`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from schemas.agency_codes import parse_agency_code
from schemas.errors import AgencyCodeError, Location, SchemaViolation
from schemas.model import (
    SHA256_HEX,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    DocumentType,
    ExternalAttachment,
    LienthongInfo,
    Organization,
    OtherInfo,
    Package,
    Priority,
    PromulgationInfo,
    Receiver,
    ReceiverType,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
)
from schemas.namespaces import EDXML, LIENTHONG, qname
from schemas.reader_attachments import read_attachments
from schemas.reader_nodes import Node, Problem, ReadContext, element_path, local_name
from schemas.safe_xml import ParseLimits, parse_xml
from schemas.xml_schema import known_element_names

OLD_TAKE_BACK_AGREED = "14"


@dataclass(frozen=True)
class ReadResult:
    """A package read from bytes and what was noticed on the way."""

    package: Package
    problems: tuple[Problem, ...]

    @property
    def acceptable(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def read_package(data: bytes, limits: ParseLimits | None = None) -> ReadResult:
    """Parse untrusted bytes into a package model; raise an EnvelopeError if that is impossible."""
    limits = limits or ParseLimits()
    parsed = parse_xml(data, limits)
    return read_parsed(parsed.root, limits, parsed.repairs)


def read_parsed(root: etree._Element, limits: ParseLimits | None = None,
                repairs: Sequence[str] = ()) -> ReadResult:  # fmt: skip
    """`read_package` for a tree already parsed from bytes that passed `parse_xml`'s checks,
    or from their canonical form (the signature verifier's tree of what the signature covers:
    its input was checked, though the canonical bytes may be a little larger)."""
    ctx = ReadContext(lenient=(limits or ParseLimits()).lenient)
    for repair in repairs:
        ctx.note("repair", repair)
    package = read_tree(root, ctx)
    _note_unknown_elements(root, ctx)
    return ReadResult(package=package, problems=tuple(ctx.problems))


def _note_unknown_elements(root: etree._Element, ctx: ReadContext) -> None:
    """Integrators' typos ('Subjet') would otherwise vanish without a word."""
    known = known_element_names()
    for element in root.iter(f"{{{EDXML}}}*"):
        name = local_name(element)
        if name in known or _inside_legacy_signature(element):
            continue
        where = Location(element.sourceline, path=element_path(element))
        ctx.note("warning", f"unknown element '{name}' was ignored", where)


def _inside_legacy_signature(element: etree._Element) -> bool:
    """A Signature outside the XMLDSig namespace is the signature check's business."""
    return any(local_name(e) == "Signature" for e in (element, *element.iterancestors()))


def read_tree(root: etree._Element, ctx: ReadContext) -> Package:
    """Read an already parsed (and, where it matters, already verified) tree."""
    if root.tag != qname("edXML"):
        raise SchemaViolation(
            f"the root element must be edXML in namespace {EDXML}, "
            f"found '{etree.QName(root).text}'",
            Node(ctx, root, "/").where,
        )
    top = Node(ctx, root, "/edXML")
    header = top.require("edXMLEnvelope").require("edXMLHeader")
    message = header.require("MessageHeader")
    if message.one("StatusCode") is not None:
        if message.many("To"):
            raise SchemaViolation(
                "the MessageHeader has both 'To' (a document) and 'StatusCode' (a status)",
                message.where,
            )
        return _status(top, header, message)
    return _document(top, header, message)


def _organization(ctx: ReadContext, node: Node) -> Organization:
    organ_id = node.text("OrganId")
    if organ_id is None:
        raise SchemaViolation("'OrganId' is missing or empty", node.where)
    _check_code(ctx, organ_id, node)
    return Organization(
        organ_id=organ_id,
        organ_name=node.text("OrganName"),
        organization_in_charge=node.text("OrganizationInCharge"),
        organ_add=node.text("OrganAdd"),
        email=node.text("Email"),
        telephone=node.text("Telephone"),
        fax=node.text("Fax"),
        website=node.text("Website"),
    )


def _check_code(ctx: ReadContext, organ_id: str, node: Node) -> None:
    try:
        warning = parse_agency_code(organ_id).warning
    except AgencyCodeError as error:
        ctx.note("error", error.message, node.where)
        return
    if warning:
        ctx.note("warning", warning, node.where)


def _document(top: Node, header: Node, message: Node) -> DocumentPackage:
    ctx = top.ctx
    recipients = tuple(_organization(ctx, to) for to in message.many("To"))
    if not recipients:
        raise SchemaViolation("a document package needs at least one 'To'", message.where)
    trace_list = header.one("TraceHeaderList")
    package = DocumentPackage(
        sender=_organization(ctx, message.require("From")),
        recipients=recipients,
        document_id=message.text("DocumentId"),
        code=_code(message.one("Code")),
        promulgation=_promulgation(message.one("PromulgationInfo")),
        document_type=_document_type(message.one("DocumentType")),
        subject=message.text("Subject"),
        content=message.text("Content"),
        signer=_signer(message.one("SignerInfo")),
        due_date=message.date("DueDate"),
        to_places=_texts(message.one("ToPlaces"), "Place"),
        other_info=_other_info(message.one("OtherInfo")),
        response_for=tuple(r for r in map(_response_for, message.many("ResponseFor")) if r),
        steering_type=message.integer("SteeringType"),
        trace=_trace(trace_list),
        business=_business(trace_list.one("Bussiness", "Business") if trace_list else None),
        lienthong=_lienthong(header),
        attachments=read_attachments(top),
    )
    _require_document_fields(ctx, package, message)
    return package


def _require_document_fields(ctx: ReadContext, package: DocumentPackage, message: Node) -> None:
    for name, value in (("DocumentId", package.document_id), ("Subject", package.subject)):
        if value is None:
            ctx.note("error", f"required element '{name}' is missing or empty", message.where)


def _status(top: Node, header: Node, message: Node) -> StatusPackage:
    response_for = _response_for(message.require("ResponseFor"))
    if response_for is None or response_for.document_id is None:
        raise SchemaViolation(
            "a status package must name the document it is about (ResponseFor/DocumentId)",
            message.where,
        )
    return StatusPackage(
        sender=_organization(top.ctx, message.require("From")),
        response_for=response_for,
        staff_info=_staff(message.one("StaffInfo")),
        status_code=_status_code(message),
        description=message.text("Description"),
        timestamp=message.timestamp("Timestamp"),
        trace=_trace(header.one("TraceHeaderList")),
        lienthong=_lienthong(header),
    )


def _status_code(message: Node) -> StatusCode:
    node = message.require("StatusCode")
    raw = node.value or ""
    if raw == OLD_TAKE_BACK_AGREED:
        message.ctx.note("warning", "status 14 from an older peer read as 15", node.where)
        return StatusCode.CHANGE_AGREED
    try:
        return StatusCode(raw)
    except ValueError:
        accepted = ", ".join(code.value for code in StatusCode)
        raise SchemaViolation(
            f"status code '{raw}' is not one lienthong accepts ({accepted})", node.where
        ) from None


def _texts(node: Node | None, name: str) -> tuple[str, ...]:
    if node is None:
        return ()
    return tuple(v for v in (child.value for child in node.many(name)) if v is not None)


def _code(node: Node | None) -> Code | None:
    if node is None:
        return None
    return Code(code_number=node.text("CodeNumber"), code_notation=node.text("CodeNotation"))


def _promulgation(node: Node | None) -> PromulgationInfo | None:
    if node is None:
        return None
    return PromulgationInfo(
        place=node.text("Place"), promulgation_date=node.date("PromulgationDate")
    )


def _document_type(node: Node | None) -> DocumentType | None:
    if node is None:
        return None
    return DocumentType(
        type=node.integer("Type"),
        type_detail=node.integer("TypeDetail"),
        type_name=node.text("TypeName"),
    )


def _signer(node: Node | None) -> SignerInfo | None:
    if node is None:
        return None
    return SignerInfo(
        competence=node.text("Competence"),
        position=node.text("Position"),
        full_name=node.text("FullName"),
    )


def _other_info(node: Node | None) -> OtherInfo | None:
    if node is None:
        return None
    priority = node.convert("Priority", "a priority 0 to 4", lambda raw: Priority(int(raw)))
    return OtherInfo(
        priority=priority,
        sphere_of_promulgation=node.text("SphereOfPromulgation"),
        typer_notation=node.text("TyperNotation"),
        promulgation_amount=node.integer("PromulgationAmount"),
        page_amount=node.integer("PageAmount"),
        direction=node.boolean("Direction"),
        appendixes=_texts(node.one("Appendixes"), "Appendix"),
    )


def _response_for(node: Node) -> ResponseFor | None:
    """A ResponseFor, or None when every field is empty (producers write empty placeholders)."""
    response = ResponseFor(
        organ_id=node.text("OrganId"),
        code=node.text("Code"),
        promulgation_date=node.date("PromulgationDate"),
        document_id=node.text("DocumentId"),
    )
    return response if response != ResponseFor() else None


def _trace(node: Node | None) -> tuple[TraceHeader, ...]:
    if node is None:
        return ()
    return tuple(
        TraceHeader(organ_id=_not_null(hop.text("OrganId")), timestamp=hop.timestamp("Timestamp"))
        for hop in node.many("TraceHeader")
    )


def _not_null(value: str | None) -> str | None:
    """Java producers write the string 'null' for a missing id."""
    return None if value is None or value == "null" else value


def _staff(node: Node | None) -> StaffInfo | None:
    if node is None:
        return None
    return StaffInfo(
        department=node.text("Department"),
        staff=node.text("Staff"),
        mobile=node.text("Mobile"),
        email=node.text("Email"),
    )


def _business(node: Node | None) -> Business | None:
    if node is None:
        return None
    doc_type = node.convert(
        "BussinessDocType", "0, 1, 2 or 3", lambda raw: BusinessDocType(int(raw))
    )
    return Business(
        doc_type=BusinessDocType.NEW if doc_type is None else doc_type,
        reason=node.text("BussinessDocReason"),
        document_id=node.text("DocumentId"),
        paper=node.integer("Paper"),
        document_info=_business_info(node.one("BussinessDocumentInfo")),
        replacements=_replacements(node.one("ReplacementInfoList")),
        staff_info=_staff(node.one("StaffInfo")),
    )


def _business_info(node: Node | None) -> BusinessDocumentInfo | None:
    if node is None:
        return None
    receiver_list = node.one("ReceiverList")
    receivers = receiver_list.many("Receiver") if receiver_list else []
    return BusinessDocumentInfo(
        document_info=node.text("DocumentInfo"),
        document_receiver=node.text("DocumentReceiver"),
        receivers=tuple(_receiver(r) for r in receivers),
    )


def _receiver(node: Node) -> Receiver:
    receiver_type = node.convert(
        "ReceiverType", "0 (removed) or 1 (added)", lambda raw: ReceiverType(int(raw))
    )
    organ_id = node.text("OrganId")
    if organ_id is None or receiver_type is None:
        raise SchemaViolation("a Receiver needs OrganId and ReceiverType", node.where)
    return Receiver(organ_id=organ_id, receiver_type=receiver_type)


def _replacements(node: Node | None) -> tuple[ReplacementInfo, ...]:
    if node is None:
        return ()
    found = []
    for info in node.many("ReplacementInfo"):
        document_id = info.text("DocumentId")
        if document_id is None:
            raise SchemaViolation("a ReplacementInfo needs a DocumentId", info.where)
        organ_ids = _texts(info.one("OrganIdList"), "OrganId")
        found.append(ReplacementInfo(document_id=document_id, organ_ids=organ_ids))
    return tuple(found)


def _lienthong(header: Node) -> LienthongInfo | None:
    element = header.element.find(qname("Lienthong", LIENTHONG))
    if element is None:
        return None
    node = Node(header.ctx, element, f"{header.path}/Lienthong")
    return LienthongInfo(
        envelope_id=_lt_text(node, "EnvelopeId"),
        delete_on_mistake=(_lt_text(node, "DeleteOnMistake") or "").lower() == "true",
        answers=_lt_text(node, "Answers"),
        external_attachments=_external_attachments(node),
    )


def _lt_text(node: Node, local: str) -> str | None:
    child = node.element.find(qname(local, LIENTHONG))
    return None if child is None else Node(node.ctx, child, f"{node.path}/{local}").value


def _external_attachments(lienthong: Node) -> tuple[ExternalAttachment, ...]:
    holder = lienthong.element.find(qname("ExternalAttachments", LIENTHONG))
    if holder is None:
        return ()
    items = holder.findall(qname("Attachment", LIENTHONG))
    base = f"{lienthong.path}/ExternalAttachments/Attachment"
    return tuple(
        _external_attachment(Node(lienthong.ctx, item, f"{base}[{i}]"))
        for i, item in enumerate(items, 1)
    )


def _external_attachment(node: Node) -> ExternalAttachment:
    """One file kept in the hub's store: its name, type, size and digest, all checked."""
    name, size, digest = (_lt_text(node, n) for n in ("Name", "Size", "Sha256"))
    if not name:
        raise SchemaViolation("an external attachment needs a Name", node.where)
    if size is None or not re.fullmatch(r"[0-9]{1,19}", size):
        raise SchemaViolation(f"Size must be a whole number of bytes, not {size!r}", node.where)
    if digest is None or not re.fullmatch(SHA256_HEX, digest.lower()):
        raise SchemaViolation(f"Sha256 must be 64 hexadecimal digits, not {digest!r}", node.where)
    return ExternalAttachment(
        name=name, content_type=_lt_text(node, "ContentType"), size=int(size),
        sha256=digest.lower(), description=_lt_text(node, "Description"),
    )  # fmt: skip
