"""The per-agency adapter: the REST API a local document system calls, signing, outbox, mailbox.

Built on the envelope contract in :mod:`schemas`; never imports :mod:`hub`.
"""
