"""The lienthong envelope contract: edXML (QCVN 102:2016) model, codec, signing and agency codes.

Shared by the hub, the agency adapters and integrators; the contract's modules import no web or
database framework. Beside them sit the few pieces of plumbing both services share (how a
service starts, outgoing TLS, grouping, pending rows) and the `lienthong` command line.
"""
