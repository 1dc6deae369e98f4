"""Applying decided effects to the database, one family per module."""
