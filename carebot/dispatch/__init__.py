"""The one entry point: every inbound text, timeout and due job goes through it."""
