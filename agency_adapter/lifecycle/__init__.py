"""A document after it was sent: recall, delete-on-mistake, update and replace."""
