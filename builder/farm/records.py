"""What a farm run leaves on disk: each build's signed result, build info, log and image.

Shared by `build --broker` and `rebuild --broker`: under OUT/NAME/VERSION/TARGET/,
X.provenance.dsse.json (the worker's signed verdict), X.buildinfo.json and X.log
for build X = a, b, and the built image NAME.TARGET (downloaded and re-hashed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from builder.farm.dispatch import Build
from builder.farm.store import ArtifactStore, StoreError
from fsio import atomic_write


def keep_builds(
    builds: Sequence[Build], out: Path, store: ArtifactStore, warn: Callable[[str], None]
) -> dict[str, Path]:
    """Write every build's records under OUT/NAME/VERSION/TARGET/; the image path by target.
    A log or build info gone from the store is reported through `warn` and left out."""
    images: dict[str, Path] = {}
    for b in builds:
        if b.result is None:
            continue
        spec = b.spec
        target_dir = out / spec.package / spec.version / spec.target
        atomic_write(
            target_dir / f"{spec.build}.provenance.dsse.json",
            (json.dumps(dict(b.result.signed.envelope), indent=2, sort_keys=True) + "\n").encode(),
        )
        for digest, name in ((b.result.buildinfo, "buildinfo.json"), (b.result.log, "log")):
            try:
                if digest:
                    atomic_write(target_dir / f"{spec.build}.{name}", store.get(digest))
            except StoreError as error:
                warn(f"{b.label}: {name}: {error}")
        if b.image is not None and spec.target not in images:
            path = target_dir / f"{spec.package}.{spec.target}"
            atomic_write(path, b.image)
            images[spec.target] = path
    return images
