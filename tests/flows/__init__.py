"""Every flow as a table, without a database (issue #16): (context, text) -> replies, effects, wait."""
