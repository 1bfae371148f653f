"""Errors raised by the signing package (keys, signers, attestations)."""


class SigningError(Exception):
    """Base of every error the signing package raises; str() is one line for users."""
