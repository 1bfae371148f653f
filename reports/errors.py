"""Errors raised while rendering reports."""


class ReportError(Exception):
    """Base of every error the reports package raises; str() is one line for users."""
