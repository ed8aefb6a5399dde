"""XML namespaces of the envelope."""

EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
# lienthong-only information; standard peers ignore elements of a foreign namespace.
LIENTHONG = "urn:lienthong:edxml:extension:1"


def qname(local: str, namespace: str = EDXML) -> str:
    """The Clark notation name ``{namespace}local`` that lxml uses."""
    return f"{{{namespace}}}{local}"
