"""Large attachments: the adapter's file store, and moving files to and from the hub's."""
