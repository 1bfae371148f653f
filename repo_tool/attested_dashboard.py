"""The dashboard's "reproduced by" column from the published attestations.

After rebuilders publish attestations (`rebuilder submit`, `rebuild --submit`), the
repository is verified from its published files (tuf_metadata.repo_verify: every
rebuilder role against its delegation and TAP 8 chain, every attestation file against
its role's hash), each published image is judged by the operator's rule
(builder.rebuilder_policy through `repo-tool verify`'s `confirmations`), and the
dashboard rows get who confirmed and who disagreed (reports.dashboard). Nothing here
reads an attestation file that was not verified.
"""

from __future__ import annotations

from pathlib import Path

from reports.dashboard import INDEX_JSON, update_attestations
from reports.errors import ReportError
from tuf_metadata.errors import TufError


def refresh_attestations(repo_dir: Path) -> str | None:
    """Update the published folder's dashboard/ (if the builder keeps one there) from the
    verified attestations.

    Returns None, or one warning line when the dashboard could not be updated (the
    attestations themselves are published either way).
    """
    from repo_tool.commands.rebuilder import confirmations
    from tuf_metadata.repo_paths import repository_paths
    from tuf_metadata.repo_verify import now_utc, verify_repository

    dashboard = repository_paths(repo_dir).dashboard
    if not (dashboard / INDEX_JSON).is_file():
        return None
    try:
        images = confirmations(verify_repository(repo_dir, now_utc()))
        update_attestations(dashboard, images)
    except (TufError, ReportError) as error:
        return f"dashboard not updated: {str(error).splitlines()[0]}"
    return None
