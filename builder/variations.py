"""The conditions of a build and the variations of the second build (pure).

Build A (control) runs under the fixed conditions; build B (experiment)
changes every variation listed in VARIATIONS, each the way reprotest (and
Debian's CI) does it. Blame builds use the control conditions with exactly
one variation applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from builder.errors import BuildError

FIXED_PATH = "/usr/bin:/bin"
TIME_OFFSET = "+398d"  # Debian's CI runs the second build 398 days ahead (reference §4.2)


@dataclass(frozen=True)
class Conditions:
    """Everything about a build's environment that a variation may change."""

    build_root: str = "/build"  # the tree lives at <build_root>/<name>-<version>
    build_leaf_suffix: str = ""
    faketime: str | None = None  # None: the real clock
    umask: int = 0o022
    locale: str = "C.UTF-8"
    language: str | None = None
    timezone: str = "UTC"
    hostname: str = "builder"
    domainname: str = "(none)"
    uid: int = 1000
    gid: int = 1000
    user: str = "builder"
    group: str = "builder"
    home: str = "/home/builder"
    extra_env: tuple[tuple[str, str], ...] = ()
    path: str = FIXED_PATH
    shuffle_dirents: bool = False
    cpus: str = "0"  # taskset CPU list
    aslr: bool = False
    uname_26: bool = False  # kernel personality: setarch --uname-2.6

    def build_dir(self, ident: str) -> str:
        return f"{self.build_root}/{ident}{self.build_leaf_suffix}"

    def environment(self, source_date_epoch: int) -> dict[str, str]:
        env = {
            "PATH": self.path,
            "LC_ALL": self.locale,
            "LANG": self.locale,
            "TZ": self.timezone,
            "SOURCE_DATE_EPOCH": str(source_date_epoch),
            "HOME": self.home,
            "USER": self.user,
            "LOGNAME": self.user,
        }
        if self.language:
            env["LANGUAGE"] = self.language
        env.update(dict(self.extra_env))
        return env


@dataclass(frozen=True)
class Variation:
    name: str
    how: str  # one line: control value -> experiment value, and the mechanism
    changes: dict[str, object] = field(default_factory=dict)


def _cpus_varied(cpu_count: int) -> str:
    return f"0-{cpu_count - 1}" if cpu_count > 1 else "0"


def all_variations(cpu_count: int) -> tuple[Variation, ...]:
    """Every variation of build B, in reprotest's order of names."""
    cpus = _cpus_varied(cpu_count)
    return (
        Variation(
            "environment",
            "adds CAPTURE_ENVIRONMENT=i_capture_the_environment to the environment",
            {"extra_env": (("CAPTURE_ENVIRONMENT", "i_capture_the_environment"),)},
        ),
        Variation(
            "build_path",
            "tree at /build/NAME-VERSION -> /tmp/i-capture-the-build-path/second/NAME-VERSION-b "
            "(bind mount; other depth and length)",
            {"build_root": "/tmp/i-capture-the-build-path/second", "build_leaf_suffix": "-b"},
        ),
        Variation(
            "kernel",
            "uname -r: the host kernel release -> 2.6.x (setarch --uname-2.6)",
            {"uname_26": True},
        ),
        Variation("aslr", "ASLR off (setarch -R) -> on", {"aslr": True}),
        Variation(
            "num_cpus",
            f"taskset -c 0 (1 CPU) -> taskset -c {cpus} ({cpu_count} CPUs)",
            {"cpus": cpus},
        ),
        Variation(
            "time",
            f"real clock -> {TIME_OFFSET} (faketime, libfaketime; stat() faked too)",
            {"faketime": TIME_OFFSET},
        ),
        Variation(
            "user_group",
            "uid/gid 1000/1000 builder -> 2222/2222 rebuilder (user namespace mapping)",
            {"uid": 2222, "gid": 2222, "user": "rebuilder", "group": "rebuilder"},
        ),
        Variation(
            "fileordering",
            "plain directory -> disorderfs --shuffle-dirents=yes over a tree created in "
            "reverse order",
            {"shuffle_dirents": True},
        ),
        Variation(
            "domain_host",
            "hostname/domain builder/(none) -> i-capture-the-hostname/i-capture-the-domainname "
            "(UTS namespace)",
            {"hostname": "i-capture-the-hostname", "domainname": "i-capture-the-domainname"},
        ),
        Variation(
            "home",
            "HOME=/home/builder -> /nonexistent/second-build",
            {"home": "/nonexistent/second-build"},
        ),
        Variation(
            "locales",
            "LC_ALL=C.UTF-8 -> et_EE.UTF-8, LANGUAGE=et_EE.UTF-8:fr",
            {"locale": "et_EE.UTF-8", "language": "et_EE.UTF-8:fr"},
        ),
        Variation(
            "exec_path",
            f"PATH={FIXED_PATH} -> /i_capture_the_path:/bin:/usr/bin (reordered, extra entry)",
            {"path": "/i_capture_the_path:/bin:/usr/bin"},
        ),
        Variation("timezone", "TZ=UTC -> Etc/GMT-14", {"timezone": "Etc/GMT-14"}),
        Variation("umask", "umask 0022 -> 0002", {"umask": 0o002}),
    )


CONTROL = Conditions()


def variation_names(cpu_count: int) -> tuple[str, ...]:
    return tuple(v.name for v in all_variations(cpu_count))


def select(names: Iterable[str] | None, cpu_count: int) -> tuple[Variation, ...]:
    """The variations with these names (all of them for None), in canonical order."""
    every = all_variations(cpu_count)
    if names is None:
        return every
    wanted = set(names)
    unknown = wanted - {v.name for v in every}
    if unknown:
        raise BuildError(f"unknown variation(s): {', '.join(sorted(unknown))}")
    return tuple(v for v in every if v.name in wanted)


def apply(base: Conditions, variations: Iterable[Variation]) -> Conditions:
    """base with every given variation applied."""
    conditions = base
    for variation in variations:
        conditions = replace(conditions, **variation.changes)  # type: ignore[arg-type]
    return conditions
