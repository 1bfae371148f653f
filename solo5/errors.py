"""Errors raised by the Solo5 Python side (image notes, recipes, launcher)."""


class Solo5Error(Exception):
    """Base of every error the solo5 package raises; str() is one line for users."""
