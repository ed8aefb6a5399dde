"""The operators' web dashboard: server-rendered pages, every asset shipped in the package."""
