"""Errors of the build farm."""

from builder.errors import BuildError


class FarmError(BuildError):
    """The farm cannot run a task or use a result; str() is one line for users."""
