"""`tuf-conformance-client`: the tuf-conformance client CLI protocol on our client.

    tuf-conformance-client --metadata-dir DIR init TRUSTED_ROOT
    tuf-conformance-client --metadata-url URL --metadata-dir DIR refresh
    tuf-conformance-client --metadata-url URL --metadata-dir DIR \\
        --target-name PATH [--target-name PATH ...] --target-dir DIR \\
        --target-base-url URL download

Options may come in any order. Exit status is exactly 0 on full success and
exactly 1 on any failure, usage errors included. Metadata is stored
byte-for-byte under non-versioned names (see tuf_metadata.client.store);
targets are stored in TARGET_DIR under their percent-encoded target path,
and a stored target whose length and hashes match is not downloaded again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tuf_metadata.client.fetcher import UrllibFetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import Updater, target_file_name
from tuf_metadata.errors import TufError

EXIT_OK = 0
EXIT_FAILED = 1


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage; the protocol allows only 0 and 1."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(prog="tuf-conformance-client", description=__doc__.splitlines()[0])
    parser.add_argument("--metadata-dir", type=Path, required=True)
    parser.add_argument("--metadata-url")
    parser.add_argument("--target-name", action="append", default=[])
    parser.add_argument("--target-dir", type=Path)
    parser.add_argument("--target-base-url")
    parser.add_argument("command", choices=["init", "refresh", "download"])
    parser.add_argument("operands", nargs="*")
    return parser


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def run(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_intermixed_args(list(argv))
    except _UsageError as error:
        _log(f"usage error: {error}")
        return EXIT_FAILED
    store = MetadataStore(args.metadata_dir)
    try:
        if args.command == "init":
            if len(args.operands) != 1:
                _log("usage error: init takes one TRUSTED_ROOT file")
                return EXIT_FAILED
            args.metadata_dir.mkdir(parents=True, exist_ok=True)
            store.save("root", Path(args.operands[0]).read_bytes())
            _log(f"initialised {args.metadata_dir} from {args.operands[0]}")
            return EXIT_OK
        if args.operands or not args.metadata_url:
            _log(f"usage error: {args.command} needs --metadata-url and no operands")
            return EXIT_FAILED
        fetcher = UrllibFetcher()
        updater = Updater(store, fetcher, args.metadata_url, args.target_base_url)
        report = updater.refresh()
        _log(
            f"refreshed: root {updater.trusted.root.version}, timestamp "
            f"{report.timestamp_version}, snapshot {report.snapshot_version}, "
            f"targets {report.targets_version}"
        )
        if args.command == "refresh":
            return EXIT_OK
        if not args.target_name or args.target_dir is None or not args.target_base_url:
            _log("usage error: download needs --target-name, --target-dir, --target-base-url")
            return EXIT_FAILED
        args.target_dir.mkdir(parents=True, exist_ok=True)
        for target_path in args.target_name:
            resolved = updater.resolve(target_path)
            destination = args.target_dir / target_file_name(target_path)
            updater.download_target(resolved.info, destination)
            _log(f"downloaded {target_path} -> {destination}")
        return EXIT_OK
    except (TufError, OSError) as error:
        _log(f"error: {error}")
        return EXIT_FAILED
    except Exception as error:  # the protocol demands exit 1 for every failure
        _log(f"internal error: {type(error).__name__}: {error}")
        return EXIT_FAILED


def main() -> None:
    sys.exit(run(sys.argv[1:]))


__all__ = ["main", "run"]
