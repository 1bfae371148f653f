"""Errors raised by the TUF metadata package (repository side and client side)."""


class TufError(Exception):
    """Base of every error the tuf_metadata package raises; str() is one line for users."""
