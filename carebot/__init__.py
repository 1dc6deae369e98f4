"""carebot: an SMS and Signal bot for communal care in mutual-aid groups."""

__version__ = "0.1.0"
