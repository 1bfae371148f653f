"""Errors raised by the builder."""


class BuildError(Exception):
    """Base of every error the builder raises; str() is one line for users."""
