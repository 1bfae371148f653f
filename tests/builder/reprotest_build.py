"""Build command that reprotest runs in its testbed: the builder's recipe, unsandboxed.

Usage: reprotest_build.py PACKAGE_MANIFEST_JSON TARGET OUTPUT

It does what one sandboxed build does, in the current directory: "unpacks"
the sources (gives them the current time as mtime, like an extraction that
does not keep mtimes), writes the plan's generated files and runs the same
compiler and linker commands with the same flags, SOURCE_DATE_EPOCH and
prefix map. The image is copied to OUTPUT for reprotest to compare.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from builder.manifest import parse_manifest
from builder.plan import compile_inputs, prefix_map_flags
from solo5.recipe import SOLO5_ROOT, Device, image_plan


def main() -> int:
    manifest_path, target, output = sys.argv[1], sys.argv[2], sys.argv[3]
    manifest = parse_manifest(Path(manifest_path).read_bytes())
    for source in manifest.sources:
        os.utime(source)  # "unpacked now", as the clock (possibly faked) says
    sources, include_dirs = compile_inputs(manifest, [])
    plan = image_plan(
        target,
        manifest.name,
        sources,
        include_dirs,
        [Device(d.name, d.kind) for d in manifest.devices],
        solo5_root=str(SOLO5_ROOT),
        extra_cflags=prefix_map_flags(os.getcwd()),
    )
    for relative, data in plan.files.items():
        Path(relative).write_bytes(data)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(manifest.source_date_epoch))
    for argv in plan.commands:
        subprocess.run(argv, env=env, check=True)
    shutil.copyfile(plan.output, output)
    print(json.dumps({"image": output}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
