"""The lienthong envelope contract: edXML (QCVN 102:2016) model, codec, signing and agency codes.

Shared by the hub, the agency adapters and integrators; it imports no web or database framework.
"""
