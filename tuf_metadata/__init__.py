"""See ARCHITECTURE.md.

Importing signing first keeps boto3 out of securesystemslib (signing/__init__.py).
"""

import signing  # noqa: F401
