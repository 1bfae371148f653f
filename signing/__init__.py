"""Keys, signers, the threshold rule, in-toto links and DSSE (see ARCHITECTURE.md).

securesystemslib.signer imports its AWS KMS signer, which imports boto3 whenever boto3 is
installed (it is, for `sync --to s3://`): about 1 s of CPU in every process that verifies or
signs anything. No code of ours uses that signer, so securesystemslib is loaded here with
boto3 hidden; boto3 itself stays importable afterwards for the S3 code that needs it.
"""

from __future__ import annotations

import sys


def _load_securesystemslib_without_boto3() -> None:
    if "securesystemslib.signer" in sys.modules or "boto3" in sys.modules:
        return
    sys.modules["boto3"] = None  # type: ignore[assignment]  # `import boto3` -> ImportError
    try:
        import securesystemslib.signer  # noqa: F401
    finally:
        del sys.modules["boto3"]


_load_securesystemslib_without_boto3()
