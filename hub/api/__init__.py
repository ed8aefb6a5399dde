"""The hub's HTTP API: operators' and adapters' view of the directory and of documents."""
