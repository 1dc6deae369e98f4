"""The transcript runner and the demo."""
