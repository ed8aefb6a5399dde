"""The central hub: agency directory, broker topology, intake, routing and the operator API.

Built on the envelope contract in :mod:`schemas`; never imports :mod:`agency_adapter`.
"""
