"""The agency directory: agencies, their certificates and broker accounts, addressing groups."""
