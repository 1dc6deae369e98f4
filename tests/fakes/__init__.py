"""Fakes at the network edge: each speaks its provider's real protocol on 127.0.0.1."""
