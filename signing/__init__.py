"""Keys, signers, the threshold rule, in-toto links and DSSE (see ARCHITECTURE.md).

securesystemslib.signer imports its AWS KMS signer, which imports boto3 whenever boto3 is
installed (it is, for `sync --to s3://`): about 1 s of CPU in every process that verifies or
signs anything. No code of ours uses that signer, so while securesystemslib.signer is being
loaded (and only then) `import boto3` fails as if boto3 were absent; the S3 code imports
boto3 normally afterwards. Importing this package loads nothing itself, so catching
signing.errors stays free at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _Boto3HiddenFromSecuresystemslib:
    # A meta path finder is any object with find_spec; importlib.abc's base class would
    # cost every process about 10 ms of imports (importlib.resources) for nothing.

    def find_spec(self, name: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name != "boto3":
            return None
        signer = sys.modules.get("securesystemslib.signer")
        # The package's __init__ sets AWSSigner once its AWS module has loaded.
        if signer is not None and not hasattr(signer, "AWSSigner"):
            raise ModuleNotFoundError("boto3 is not offered to securesystemslib's AWS signer",
                                      name=name)
        return None


if not any(isinstance(finder, _Boto3HiddenFromSecuresystemslib) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Boto3HiddenFromSecuresystemslib())
