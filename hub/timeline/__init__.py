"""Document timelines: per recipient, the delivery and every status reported."""
