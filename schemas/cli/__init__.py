"""The `lienthong` command line; :mod:`schemas.cli.main` assembles it."""
