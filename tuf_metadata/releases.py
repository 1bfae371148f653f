"""Releases: authors stage them, the builder publishes or rejects them.

A staged release (staging/NAME/VERSION/) holds the author-signed next version
of the package role (release.json), the release's files and the author's own
images. Publishing checks it again against the keys in force
(`repo_policy.check_package_role`), that it adds only its own files
(`check_release_adds_only_its_files`) and that every built image equals the
author-signed one (`check_built_file`); then target files, the role file,
snapshot and timestamp are written in that order. Its authors may withdraw a
staged or rejected release (`check_withdrawal`) to release the version again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fsio import atomic_copy, make_temp_dir, sweep_temp_files
from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.online import OnlineServices
from tuf_metadata.repo_policy import (
    check_built_file,
    check_package_role,
    check_release_adds_only_its_files,
    check_withdrawal,
    first_outsider,
    withdrawal_payload,
)
from tuf_metadata.repo_types import (
    MANIFEST_FILE,
    RELEASE_NAME,
    STATUS_NAME,
    ImageMismatchError,
    StagedRelease,
    StagingError,
    document_bytes,
    metadata_bytes,
    utc_now,
)
from tuf_metadata.store import atomic_write, crash_point, fsync_dir, repository_lock, write_once
from tuf_metadata.trust import SignedDocument

if TYPE_CHECKING:
    from securesystemslib.signer import Signer
    from tuf.api.metadata import TargetFile


class Releases:
    """Staging and publishing of the repository FILES reads; publishes through ONLINE."""

    def __init__(self, files: MetadataReader, online: OnlineServices):
        self.files = files
        self.online = online

    def staging_path(self, package: str, version: str) -> Path:
        return self.files.staging_dir / package / version

    def stage_release(
        self,
        package: str,
        version: str,
        manifest: Path,
        source_archive: Path,
        images: Mapping[str, Path],
        signers: Sequence[Signer],
        buildinfo: Mapping[str, Path] | None = None,
    ) -> StagedRelease:
        """Author side: sign the next package role version listing the release; put it in staging.

        images maps a Solo5 target (hvt, spt, ...) to the author's own build of it;
        only its length and sha256 are signed; the builder must reproduce them.
        buildinfo maps some of those targets to the author's build info, published as
        `buildinfo.TARGET.json` (its toolchain is what rebuilders compare theirs with).
        A library release has no images: its source archive is built into dependents.
        """
        from tuf.api.metadata import Metadata, TargetFile, Targets  # the author's side

        layout.validate_package_name(package)
        layout.validate_version(version)
        role = layout.package_role(package)
        for target in images:
            if not target.isalnum():
                raise StagingError(f"{role}: bad Solo5 target name {target!r}")
        with repository_lock(self.files.root_dir):
            context = self.files.package_context(package)
            snapshot, keys = context.snapshot, context.keys
            outsider = first_outsider((signer.public_key.keyid for signer in signers), keys)
            if outsider is not None:
                raise StagingError(
                    f"{role}: key {outsider[:16]} is not an author key of package {package!r}"
                )
            current_version = self.files.package_version_on_disk(snapshot, package)
            if current_version:
                current = self.files.load_version(role, current_version, Targets).signed
                targets = dict(current.targets)
            else:
                targets = {}
            shards = self.files.shard_layout()
            prefix = shards.target_path(package, version, "")
            if any(path.startswith(prefix) for path in targets):
                raise StagingError(f"{role}: version {version} is already published")
            if (self.files.targets_dir / prefix).is_dir():
                # Yanked (tuf_metadata.removal) or cut mid-publish: its files stay, and a
                # version names one set of bytes forever.
                raise StagingError(f"{role}: version {version} was published before (its "
                                   "files are in targets/: yanked?); release a new version")
            final = self.staging_path(package, version)
            if final.exists():
                raise StagingError(f"{role}: version {version} is already staged")
            files = {
                MANIFEST_FILE: manifest,
                f"{package}-{version}.tar.gz": source_archive,
            }
            for target, path in (buildinfo or {}).items():
                if target not in images:
                    raise StagingError(f"{role}: build info for {target!r}, which has no image")
                files[layout.buildinfo_file_name(target)] = path
            image_files = {f"{package}.{target}": path for target, path in images.items()}
            new_targets: dict[str, TargetFile] = {}
            for name, path in {**files, **image_files}.items():
                try:
                    data = Path(path).read_bytes()
                except OSError as error:
                    raise StagingError(f"{role}: cannot read {path}: {error.strerror}") from None
                tpath = shards.target_path(package, version, name)
                new_targets[tpath] = TargetFile.from_data(tpath, data, ["sha256"])
            targets.update(new_targets)
            md = Metadata(
                Targets(
                    version=current_version + 1,
                    expires=utc_now() + self.files.expiry().for_role("targets"),
                    targets=targets,
                )
            )
            for signer in signers:
                md.sign(signer, append=True)
            check_package_role(
                SignedDocument.of(md), package, keys, context.threshold, context.delegation
            )
            # Build the staging entry under a temporary name, then rename it into place.
            (self.files.staging_dir / package).mkdir(parents=True, exist_ok=True)
            sweep_temp_files(self.files.staging_dir / package, min_age=0)  # we hold the lock
            tmp = make_temp_dir(self.files.staging_dir / package, version)
            (tmp / "files").mkdir()
            (tmp / "images").mkdir()
            for name, path in files.items():
                shutil.copyfile(path, tmp / "files" / name)
            for name, path in image_files.items():
                shutil.copyfile(path, tmp / "images" / name)
            atomic_write(tmp / RELEASE_NAME, metadata_bytes(md))
            os.rename(tmp, final)
            return self.staged_from_dir(package, version)

    def published_file(self, package: str, version: str, name: str) -> bytes:
        """File NAME of a published release (e.g. a library's source archive, which the
        builder compiles into dependents), checked against the published package role's
        length and sha256; StagingError if that release does not publish it."""
        layout.validate_package_name(package)
        layout.validate_version(version)
        role = layout.package_role(package)
        current = self.files.current_package_file(package)
        path = self.files.shard_layout().target_path(package, version, name)
        signed = current.signed["targets"].get(path) if current is not None else None
        if signed is None:
            raise StagingError(f"{role}: {package} {version} is not published with {name}")
        directory, filename = path.rsplit("/", 1)
        stored = self.files.targets_dir / directory / f"{signed['hashes']['sha256']}.{filename}"
        try:
            data = stored.read_bytes()
        except OSError as error:
            raise StagingError(f"{role}: cannot read {path}: {error.strerror}") from None
        check_built_file(role, path, signed, data)
        return data

    def staged_from_dir(self, package: str, version: str) -> StagedRelease:
        directory = self.staging_path(package, version)
        release = self.files.read_file(layout.package_role(package), directory / RELEASE_NAME,
                                       "targets")
        image_prefix = self.files.shard_layout().target_path(package, version, f"{package}.")
        images = {
            path: dict(tf) for path, tf in release.signed["targets"].items()
            if path.startswith(image_prefix)
        }
        return StagedRelease(
            package=package,
            version=version,
            source_archive=directory / "files" / f"{package}-{version}.tar.gz",
            manifest=directory / "files" / MANIFEST_FILE,
            image_targets=images,
        )

    def staged_releases(self, include_rejected: bool = False, package: str | None = None,
                        version: str | None = None) -> list[StagedRelease]:
        """Releases in staging, in package then version order; rejected ones only if asked.

        PACKAGE (and VERSION) narrow the walk to that folder, so publishing one release
        does not read every staged one; a name that is not a package name (or version)
        raises InvalidNameError.
        """
        releases = []
        if not self.files.staging_dir.is_dir():
            return []
        if package is None:
            package_dirs = sorted(self.files.staging_dir.iterdir())
        else:
            layout.validate_package_name(package)
            package_dirs = [self.files.staging_dir / package]
        if version is not None:
            layout.validate_version(version)
        for package_dir in package_dirs:
            if not package_dir.is_dir() or package_dir.name.startswith("."):
                continue
            version_dirs = ([package_dir / version] if version is not None
                            else sorted(package_dir.iterdir()))
            for version_dir in version_dirs:
                if version_dir.name.startswith(".") or not (version_dir / RELEASE_NAME).exists():
                    continue
                if not include_rejected and (version_dir / STATUS_NAME).exists():
                    continue
                releases.append(self.staged_from_dir(package_dir.name, version_dir.name))
        return releases

    def rejection(self, release: StagedRelease) -> dict[str, Any] | None:
        """The recorded rejection of a staged release, or None."""
        path = self.staging_path(release.package, release.version) / STATUS_NAME
        if not path.exists():
            return None
        return cast(dict[str, Any], json.loads(path.read_text()))

    def reject_release(self, release: StagedRelease, reason: str, report_dir: Path | None) -> None:
        """Keep the release staged and record why it was not published."""
        with repository_lock(self.files.root_dir):
            directory = self.staging_path(release.package, release.version)
            if not (directory / RELEASE_NAME).exists():
                raise StagingError(
                    f"{layout.package_role(release.package)}: {release.version} is not staged"
                )
            status = {
                "state": "rejected",
                "reason": reason,
                "report_dir": str(report_dir) if report_dir else None,
                "time": utc_now().isoformat(),
            }
            atomic_write(directory / STATUS_NAME, (json.dumps(status, indent=2) + "\n").encode())

    def author_images(self, release: StagedRelease) -> dict[str, Path]:
        """The author's own image files kept in staging (used by `publish --no-build`)."""
        directory = self.staging_path(release.package, release.version) / "images"
        return {
            path: directory / path.rsplit("/", 1)[1] for path in release.image_targets
        }

    def publish_release(self, release: StagedRelease, built_images: Mapping[str, Path]) -> None:
        """Publish only if every built image's length+sha256 equals the author-signed one.

        Raises a TufError subclass otherwise, with nothing changed. Re-signs
        O(1) metadata: writes the author-signed package role, then snapshot and
        timestamp. Works on the files as plain data (no python-tuf).
        """
        role = layout.package_role(release.package)
        with repository_lock(self.files.root_dir):
            self.online.require_online()
            directory = self.staging_path(release.package, release.version)
            staged = self.files.read_file(role, directory / RELEASE_NAME, "targets")
            context = self.files.package_context(release.package)
            check_package_role(
                staged.document, release.package, context.keys, context.threshold,
                context.delegation,
            )
            role_bytes = document_bytes(staged.raw)
            version = staged.version
            current = self.files.package_version_on_disk(context.snapshot, release.package)
            already_written = current == version and (
                self.files.role_file(role, current).read_bytes() == role_bytes
            )
            if already_written and self.files.role_version(context.snapshot, role) == current:
                self.remove_staged(directory)  # published before a crash stopped the cleanup
                return
            if version != current + 1 and not already_written:
                raise StagingError(
                    f"{role}: staged release {release.version} signs version {version} "
                    f"but the published version is {current}; release it again"
                )
            targets: Mapping[str, Mapping[str, Any]] = staged.signed["targets"]
            before = (self.files.version_file(role, version - 1, "targets").signed["targets"]
                      if version > 1 else {})
            shards = self.files.shard_layout()
            check_release_adds_only_its_files(shards, release.package, release.version, before,
                                              targets)
            signed_images = {
                path: tf for path, tf in targets.items() if path in release.image_targets
            }
            if signed_images != release.image_targets or set(built_images) != set(signed_images):
                raise ImageMismatchError(
                    f"{role}: built images {sorted(built_images)} do not match the "
                    f"author-signed images {sorted(signed_images)}"
                )
            sources: dict[str, Path] = {}
            for path, tf in signed_images.items():
                self.read_and_check_built_file(role, path, tf, Path(built_images[path]))
                sources[path] = Path(built_images[path])
            release_path = shards.target_path(release.package, release.version, "")
            for path, tf in targets.items():
                if path.startswith(release_path) and path not in signed_images:
                    local = directory / "files" / path.rsplit("/", 1)[1]
                    self.read_and_check_built_file(role, path, tf, local)
                    sources[path] = local
            for path, local in sources.items():
                directory_part, name = path.rsplit("/", 1)
                digest = targets[path]["hashes"]["sha256"]
                dest = self.files.targets_dir / directory_part / f"{digest}.{name}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                if not dest.exists():
                    atomic_copy(local, dest, sync_dir=False)  # the loop below syncs the dirs
            # Make the new names durable before any metadata can reference them.
            release_dir = self.files.targets_dir / release_path
            for durable in (release_dir, release_dir.parent, release_dir.parent.parent):
                fsync_dir(durable)
            crash_point("publish:targets")
            # The snapshot written next, in the same directory, makes this name durable too.
            write_once(self.files.role_file(role, version), role_bytes, sync_dir=False)
            crash_point("publish:role")
            self.online.new_snapshot_and_timestamp({f"{role}.json": {"version": version}})
            self.remove_staged(directory)

    def withdraw_release(self, package: str, version: str, signers: Sequence[Signer]) -> None:
        """Remove a staged or rejected release, signed by a threshold of the package's
        author keys in force (the rule that staged it), so VERSION can be released again."""
        layout.validate_package_name(package)
        layout.validate_version(version)
        role = layout.package_role(package)
        with repository_lock(self.files.root_dir):
            directory = self.staging_path(package, version)
            try:
                release_bytes = (directory / RELEASE_NAME).read_bytes()
            except FileNotFoundError:
                raise StagingError(f"{role}: version {version} is not staged") from None
            context = self.files.package_context(package)
            payload = withdrawal_payload(
                package, version, hashlib.sha256(release_bytes).hexdigest()
            )
            signatures = {signer.public_key.keyid: signer.sign(payload).signature
                          for signer in signers}
            check_withdrawal(package, version, payload, signatures, context.keys,
                             context.threshold)
            self.remove_staged(directory)

    @staticmethod
    def remove_staged(directory: Path) -> None:
        """Take a staging entry away atomically (rename), then delete it, and its package's
        folder once that is empty (the caller holds the lock staging takes, so no release
        of that package is being staged into it)."""
        trash = directory.with_name(f".{directory.name}.{os.getpid()}.done")
        os.rename(directory, trash)
        shutil.rmtree(trash)
        with contextlib.suppress(OSError):  # not empty: other versions are staged
            directory.parent.rmdir()

    @staticmethod
    def read_and_check_built_file(role: str, path: str, tf: Mapping[str, Any], local: Path
                                  ) -> None:
        try:
            data = local.read_bytes()
        except OSError as error:
            raise ImageMismatchError(f"{role}: cannot read {local}: {error.strerror}") from None
        check_built_file(role, path, tf, data)
