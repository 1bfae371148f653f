"""The toolkit's exception hierarchies, as the CLI and the demo catch them, and repo_tool's.

Each package has one base error; these modules define only the classes and
import nothing heavy, so catching them costs `repo-tool` no start-up time.
"""

from __future__ import annotations

from builder.errors import BuildError
from reports.errors import ReportError
from signing.errors import SigningError
from solo5.errors import Solo5Error
from tuf_metadata.errors import TufError


class RepoToolError(Exception):
    """Base of the errors repo_tool itself raises (its config); str() is one line for users."""


TOOLKIT_ERRORS: tuple[type[Exception], ...] = (
    RepoToolError,
    BuildError,
    ReportError,
    SigningError,
    Solo5Error,
    TufError,
)
"""The base error of every toolkit package: an operation failed or was refused."""
