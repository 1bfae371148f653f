"""`repo-tool demo`: the whole pipeline on a local repository, every role played in turn.

Each step drives the real commands (`repo-tool key`, `init`, `sign`,
`package add`, `build-package`, `release`, `build`, `serve`, `fetch`, `run`,
`rotate`) as subprocesses in the working directory, printing each command
line, so what the demo does is what a user would type. Everything stays on
this machine: the server listens on loopback, and ping, www and dns talk
only inside network namespaces the demo creates and deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from builder.build import run_build
from builder.plan import load_index, read_package_tree, resolve, solo5_requests
from builder.variations import CONTROL
from repo_tool.commands.demo_rebuilders import step_rebuilders
from repo_tool.commands.demo_services import dns, ping, www
from repo_tool.demo import (
    FETCHED_PACKAGE,
    GREETING,
    MAINTAINER_THRESHOLD,
    MAINTAINERS,
    MARKER_NAME,
    MARKER_TEXT,
    ROTATED_PACKAGE,
    Author,
    BundledPackage,
    Check,
    DemoError,
    PackageOutcome,
    assign_authors,
    last_line,
    next_version,
    package_rows,
    problems,
    select_packages,
    short,
    workdir_action,
)
from repo_tool.errors import TOOLKIT_ERRORS
from tuf_metadata.repo_paths import repository_paths
from tuf_metadata.repository import Repository

TOTAL_STEPS = 9
PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 600.0  # seconds; the longest is a builder run over every package
SERVER_START_TIMEOUT = 20.0
STEP_ERRORS: tuple[type[Exception], ...] = (*TOOLKIT_ERRORS, OSError)


def register(group: click.Group) -> None:
    group.add_command(demo)


def _repo_tool_argv() -> list[str]:
    """How to start this same repo-tool (the script beside this Python, or the module)."""
    script = Path(sys.executable).parent / "repo-tool"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "from repo_tool.cli import main; main()"]


def _kvm_missing() -> str | None:
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not readable and writable"
    return None


class Demo:
    """One run of the demo in `workdir`; every path it passes to commands is relative to it."""

    def __init__(self, workdir: Path, tree: Path, console: Console,
                 wanted: Sequence[str] | None) -> None:
        self.workdir = workdir
        self.tree = tree
        self.console = console
        self.wanted = wanted
        self.tool = _repo_tool_argv()
        self.outcomes: list[PackageOutcome] = []
        self.checks: list[Check] = []
        self.authors: list[Author] = []
        self.author_of: dict[str, Author] = {}
        self.packages: list[BundledPackage] = []
        self.libraries: list[BundledPackage] = []
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log: Any = None
        self.url = ""
        self.cleanups: list[tuple[str, Any]] = []

    # -- running things -------------------------------------------------------

    def run(self, argv: Sequence[str], *, show: str | None = None, check: bool = True,
            timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run argv in the working directory, showing the command; raise DemoError on failure."""
        self.console.print(f"[dim]$ {show or shlex.join(argv)}[/]", highlight=False,
                           soft_wrap=True)
        try:
            label = " ".join((show or shlex.join(argv)).split()[:2])
            with self.console.status(f"running {label} ..."):
                result = subprocess.run(list(argv), cwd=self.workdir, capture_output=True,
                                        text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DemoError(f"`{show or argv[0]}` did not finish within {timeout:.0f} s") from None
        if check and result.returncode != 0:
            raise DemoError(f"`{show or shlex.join(argv)}` failed: "
                            f"{last_line(result.stderr or result.stdout)}")
        return result

    def repo_tool(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([*self.tool, *args], show=shlex.join(["repo-tool", *args]), check=check)

    def repo_tool_json(self, *args: str) -> Any:
        result = self.repo_tool(*args, "--json")
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise DemoError(f"`repo-tool {args[0]}` printed no JSON: "
                            f"{last_line(result.stdout)}") from None

    @contextlib.contextmanager
    def step(self, number: int, title: str, description: str) -> Iterator[None]:
        self.console.rule(f"[bold]step {number}/{TOTAL_STEPS}: {title}[/]: {description}")
        started = time.monotonic()
        try:
            yield
        except DemoError as error:
            raise DemoError(f"step {number} ({title}): {error}") from None
        except STEP_ERRORS as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DemoError(f"step {number} ({title}): {detail}") from None
        except (KeyError, TypeError, ValueError) as error:
            # A command's --json output did not have the shape the demo reads.
            raise DemoError(f"step {number} ({title}): unexpected output "
                            f"({type(error).__name__}: {error})") from None
        self.console.print(f"[green]step {number} done[/] in {time.monotonic() - started:.1f} s")

    def check(self, what: str, status: str, detail: str) -> Check:
        result = Check(what, status, detail)
        self.checks.append(result)
        style = {"ok": "green", "failed": "red"}.get(status, "yellow")
        self.console.print(f"[{style}]{status}[/]: {what}: {detail}", highlight=False)
        return result

    # -- the steps ------------------------------------------------------------

    def plan(self) -> None:
        index = load_index(self.tree / "packages")
        available = [
            BundledPackage(m.name, m.version, m.authors, m.targets)
            for (name, version), m in sorted(index.items())
            if m.kind == "unikernel"
        ]
        newest: dict[str, BundledPackage] = {}
        for package in available:  # the index may hold several versions; release the last
            newest[package.name] = package
        self.packages = select_packages(newest.values(), self.wanted)
        # The libraries they depend on are released on their own: the builder and the
        # rebuilders build dependents from the published library archives only.
        libraries: dict[tuple[str, str], BundledPackage] = {}
        for package in self.packages:
            for dep in resolve(index[(package.name, package.version)], index):
                libraries.setdefault((dep.name, dep.version), BundledPackage(
                    dep.name, dep.version, dep.authors, dep.targets))
        self.libraries = list(libraries.values())
        self.authors = assign_authors([*self.libraries, *self.packages])
        self.author_of = {name: a for a in self.authors for name in a.packages}

    def key(self, name: str) -> str:
        return f"keys/insecure-demo-{name}.key"

    def pub(self, name: str) -> str:
        return f"keys/insecure-demo-{name}.pub.json"

    def step_keys(self) -> None:
        (self.workdir / "keys").mkdir()
        (self.workdir / "keys" / "INSECURE-DEMO-KEYS.txt").write_text(
            "Every private key in this folder is an INSECURE DEMO KEY, stored unencrypted\n"
            "(--insecure-plaintext). Never use them for a real repository.\n")
        self.console.print("[bold red]INSECURE DEMO KEYS[/]: written unencrypted with "
                           "--insecure-plaintext; never use them for anything real")
        names = [f"maintainer-{i}" for i in range(1, MAINTAINERS + 1)]
        names += [f"author-{a.slug}" for a in self.authors] + ["builder"]
        for name in names:
            self.repo_tool("key", "generate", self.key(name), "--insecure-plaintext")
        self.console.print(f"{MAINTAINERS} maintainers (threshold {MAINTAINER_THRESHOLD}), "
                           f"{len(self.authors)} authors, 1 builder; `init` makes the online "
                           "snapshot/timestamp keys (insecure too: --insecure-online-keys)")

    def step_init(self) -> None:
        maintainers = [f"maintainer-{i}" for i in range(1, MAINTAINERS + 1)]
        args = ["init", "--repo", "repo", "-t", str(MAINTAINER_THRESHOLD),
                "--insecure-online-keys", "--insecure-plaintext", "--key", self.key(maintainers[0])]
        for m in maintainers:
            args += ["--pubkey", self.pub(m)]
        change = self.repo_tool_json(*args)
        if change.get("committed"):
            raise DemoError("one maintainer's signature published the root: no quorum")
        self.console.print(f"proposed by {maintainers[0]}: 1 of {MAINTAINER_THRESHOLD} "
                           "signatures, nothing published yet")
        signed = self.repo_tool_json("sign", change["id"], "--repo", "repo", "--key",
                                     self.key(maintainers[1]), "--insecure-plaintext")
        if not signed.get("committed"):
            raise DemoError("two maintainer signatures did not publish the root")
        for package in [*self.libraries, *self.packages]:
            author = self.author_of[package.name]
            added = self.repo_tool_json("package", "add", package.name, "--repo", "repo",
                                        "--pubkey", self.pub(f"author-{author.slug}"))
            for m in maintainers[:MAINTAINER_THRESHOLD]:
                signed = self.repo_tool_json("sign", added["id"], "--repo", "repo", "--key",
                                             self.key(m), "--insecure-plaintext")
            if not signed.get("committed"):
                raise DemoError(f"delegating {package.name} did not commit with "
                                f"{MAINTAINER_THRESHOLD} signatures")
        verified = self.repo_tool("verify", "--repo", "repo")
        self.console.print(verified.stdout.strip(), highlight=False)

    def author_build(self, package: BundledPackage, manifest: str, out: str,
                     ) -> dict[str, str]:
        """The author's own build: image file per target (double-built by build-package).

        A fixture's author ignores the failed reproducibility check and signs
        one plain build, as a careless author would; the builder must refuse it.
        """
        result = self.repo_tool("build-package", manifest, "--tree", str(self.tree), "--out",
                                out, "--no-blame", "--json", check=not package.fixture)
        try:
            built = json.loads(result.stdout)
        except ValueError:
            raise DemoError(f"build-package {package.name} printed no JSON: "
                            f"{last_line(result.stderr)}") from None
        images = {r["target"]: r["image"] for r in built["results"] if r.get("image")}
        if package.fixture:
            self.console.print(f"{package.name}: the author's double build differs "
                               "(expected for a fixture); the author signs one build anyway")
            images = self.single_build(
                package, self.workdir / out / package.name / package.version / "author-single")
        missing = sorted(set(package.targets) - set(images))
        if missing:
            raise DemoError(f"{package.name}: the author's build made no image for "
                            f"{', '.join(missing)}")
        return images

    def single_build(self, package: BundledPackage, out: Path) -> dict[str, str]:
        index = load_index(self.tree / "packages")
        manifest = index[(package.name, package.version)]
        tree_package = read_package_tree(manifest, self.tree)
        deps = [read_package_tree(d, self.tree) for d in resolve(manifest, index)]
        images = {}
        for request in solo5_requests(tree_package, deps, list(package.targets)):
            outcome = run_build(request, CONTROL, out / "work", request.target)
            if not outcome.ok or outcome.image is None:
                raise DemoError(f"{package.name}.{request.target}: the author's build failed: "
                                f"{last_line(outcome.log)}")
            image = out / f"{package.name}.{request.target}"
            shutil.copyfile(outcome.image, image)
            images[request.target] = str(image.relative_to(self.workdir))
        shutil.rmtree(out / "work")
        return images

    def build_release(self, package: BundledPackage, manifest: str) -> list[str]:
        """The author's build; the `repo-tool release` arguments after the author's key."""
        out = f"authors/{self.author_of[package.name].slug}"
        images = self.author_build(package, manifest, out)
        archive = f"{out}/{package.name}/{package.version}/{package.name}-{package.version}.tar.gz"
        args = ["release", package.name, package.version, "--repo", "repo", "--manifest",
                manifest, "--source", archive]
        for target, image in sorted(images.items()):
            args += ["--image", f"{target}={image}"]
            # The author's build info: what lets a rebuilder compare toolchains (step 7).
            buildinfo = Path(image).parent / "buildinfo.json"
            if not package.fixture and (self.workdir / buildinfo).is_file():
                args += ["--buildinfo", f"{target}={buildinfo}"]
        return args

    def sign_release(self, release: list[str], author_key: str, check: bool = True,
                     ) -> subprocess.CompletedProcess[str]:
        return self.repo_tool(*release, "--key", author_key, "--insecure-plaintext", "--json",
                              check=check)

    def record_release(self, package: BundledPackage, result: subprocess.CompletedProcess[str],
                       ) -> PackageOutcome:
        staged = json.loads(result.stdout)
        outcome = PackageOutcome(
            package.name, package.version, package.fixture, self.author_of[package.name].label,
            author_hashes={path.rsplit(".", 1)[1]: digest
                           for path, digest in staged["images"].items()})
        self.outcomes.append(outcome)
        return outcome

    def release_library(self, library: BundledPackage) -> None:
        """A library's release: its source archive alone (built into its dependents)."""
        manifest = str(self.tree / "packages" / library.name / library.version / "manifest.json")
        author = self.author_of[library.name]
        out = f"authors/{author.slug}"
        self.repo_tool("build-package", manifest, "--tree", str(self.tree), "--out", out)
        archive = f"{out}/{library.name}/{library.version}/{library.name}-{library.version}.tar.gz"
        self.repo_tool("release", library.name, library.version, "--repo", "repo", "--manifest",
                       manifest, "--source", archive, "--key", self.key(f"author-{author.slug}"),
                       "--insecure-plaintext")
        self.console.print(f"staged library {library.name} {library.version}, signed by "
                           f"{author.label}")

    def step_release(self) -> None:
        for library in self.libraries:
            self.release_library(library)
        for package in self.packages:
            manifest = str(self.tree / "packages" / package.name / package.version
                           / "manifest.json")
            author = self.author_of[package.name]
            release = self.build_release(package, manifest)
            result = self.sign_release(release, self.key(f"author-{author.slug}"))
            outcome = self.record_release(package, result)
            hashes = ", ".join(f"{t} {short(h)}" for t, h in sorted(outcome.author_hashes.items()))
            self.console.print(f"staged {package.name} {package.version}, signed by "
                               f"{author.label}: {hashes}")

    def step_build(self) -> None:
        result = self.repo_tool("build", "--repo", "repo", "--tree", str(self.tree), "--key",
                                self.key("builder"), "--insecure-plaintext", "--json", check=False)
        # Exit 3: some release was refused, as the fixtures are by design; 4 or 1 is a failure.
        if result.returncode not in (0, 3):
            raise DemoError(f"`repo-tool build` failed (exit {result.returncode}): "
                            f"{last_line(result.stderr or result.stdout)}")
        self.apply_build_report(json.loads(result.stdout))
        verified = self.repo_tool("verify", "--repo", "repo")
        self.console.print(verified.stdout.strip(), highlight=False)

    def apply_build_report(self, report: dict[str, Any]) -> None:
        repo = Repository(self.workdir / "repo")
        pending = {(o.name, o.version): o for o in self.outcomes if o.decision == "not built"}
        for decision in report["decisions"]:
            outcome = pending.get((decision["package"], decision["version"]))
            if outcome is None:
                continue
            outcome.decision = decision["decision"]
            outcome.reason = decision["reason"]
        for result in report["results"]:
            outcome = pending.get((result["package"], result["version"]))
            if outcome is not None:
                outcome.built[result["target"]] = result
        for outcome in pending.values():
            style = "green" if outcome.decision == "published" else "red"
            self.console.print(f"[{style}]{outcome.decision}[/]: {outcome.name} "
                               f"{outcome.version}: {outcome.reason}", highlight=False)
            published = repo.current_package(outcome.name)
            if published is None:
                continue
            for path, target_file in published.signed.targets.items():
                parts = path.split("/")
                if parts[-2] == outcome.version and parts[-1].startswith(f"{outcome.name}."):
                    outcome.published_hashes[parts[-1].rsplit(".", 1)[1]] = \
                        target_file.hashes["sha256"]

    def step_serve(self) -> None:
        log_path = self.workdir / "logs" / "serve.log"
        log_path.parent.mkdir(exist_ok=True)
        argv = ["serve", "--repo", "repo", "--host", "127.0.0.1", "--port", "0", "--interval", "1"]
        self.console.print(f"[dim]$ {shlex.join(['repo-tool', *argv])} 2> logs/serve.log &[/]",
                           highlight=False, soft_wrap=True)
        self.server_log = log_path.open("wb")
        self.server = subprocess.Popen([*self.tool, *argv], cwd=self.workdir,
                                       stdout=subprocess.DEVNULL, stderr=self.server_log,
                                       start_new_session=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            log = log_path.read_text(errors="replace")
            match = re.search(r"listening on (http://\S+?)/?$", log, re.MULTILINE)
            if match:
                self.url = match.group(1)
                break
            if self.server.poll() is not None:
                raise DemoError(f"repo-tool serve exited: "
                                f"{last_line(log_path.read_text(errors='replace'))}")
            time.sleep(0.1)
        else:
            raise DemoError(f"repo-tool serve did not listen within {SERVER_START_TIMEOUT:.0f} s")
        self.console.print(f"snapshot/timestamp service and HTTP server at {self.url}/ "
                           f"(pid {self.server.pid})")

    def stop_server(self) -> None:
        if self.server is None:
            return
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        self.server = None
        if self.server_log is not None:
            self.server_log.close()
            self.server_log = None

    def fetch(self, target: str, label: str, package: str = FETCHED_PACKAGE) -> dict[str, Any]:
        fetched: dict[str, Any] = self.repo_tool_json(
            "fetch", package, "--target", target, "--url", self.url, "--root",
            "operator/root.json", "-o", "operator/images", "--metadata-dir", "operator/tuf")
        roles = " -> ".join(r["role"] for r in fetched["verified_roles"])
        self.check(f"fetch {package}.{target} ({label})", "ok",
                   f"{fetched['version']} sha256 {short(fetched['sha256'])} verified via {roles}")
        return fetched

    def boot(self, image: str, target: str, version: str) -> None:
        what = f"run {Path(image).name} {version} on {target}"
        result = self.repo_tool("run", image, check=False)
        if result.returncode == 0 and GREETING in result.stdout:
            self.check(what, "ok", f"printed {GREETING!r}, exit status 0")
        else:
            detail = last_line(result.stderr or result.stdout)
            self.check(what, "failed", f"exit status {result.returncode}: {detail}")

    def step_operator(self) -> None:
        operator = self.workdir / "operator"
        operator.mkdir()
        # Out of band: the operator is given the first root once, and trusts nothing else.
        shutil.copyfile(repository_paths(self.workdir / "repo").metadata / "1.root.json",
                        operator / "root.json")
        self.console.print("operator trusts operator/root.json (copied out of band)")
        for target in ("spt", "hvt"):
            missing = _kvm_missing() if target == "hvt" else None
            if missing:
                self.check(f"fetch and run {FETCHED_PACKAGE}.{target}", "skipped", missing)
                continue
            fetched = self.fetch(target, "first release")
            info = self.repo_tool_json("image", "inspect", fetched["written_to"])
            devices = ", ".join(d["name"] for d in info["devices"]) or "none"
            self.console.print(f"{fetched['written_to']}: target {info['target']}, ABI "
                               f"v{info['abi_version']}, devices: {devices}, "
                               f"{len(info['segments'])} loadable segments", highlight=False)
            self.boot(fetched["written_to"], target, fetched["version"])
        ping(self)
        www(self)
        dns(self)

    def step_rotate(self) -> None:
        author = self.author_of[ROTATED_PACKAGE]
        old_key = self.key(f"author-{author.slug}")
        new_name = f"author-{author.slug}-rotated"
        self.repo_tool("key", "generate", self.key(new_name), "--insecure-plaintext")
        rotated = self.repo_tool_json(
            "rotate", f"pkg-{ROTATED_PACKAGE}", "--repo", "repo", "--pubkey", self.pub(new_name),
            "--sign-with", old_key, "--new-signer", self.key(new_name), "--insecure-plaintext")
        self.check(f"TAP 8 rotation of pkg-{ROTATED_PACKAGE}", "ok",
                   f"{rotated['file']} signed by the old key, role re-signed by the new one")
        # The new release: the same sources under the next version number.
        base = next(p for p in self.packages if p.name == ROTATED_PACKAGE)
        version = next_version(base.version)
        manifest_path = self.workdir / "authors" / author.slug / "manifests" / \
            f"{ROTATED_PACKAGE}-{version}.json"
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        document = json.loads((self.tree / "packages" / ROTATED_PACKAGE / base.version
                               / "manifest.json").read_text())
        document["version"] = version
        manifest_path.write_text(json.dumps(document, indent=2) + "\n")
        package = BundledPackage(ROTATED_PACKAGE, version, base.authors, base.targets)
        manifest = str(manifest_path.relative_to(self.workdir))
        release = self.build_release(package, manifest)
        refused = self.sign_release(release, old_key, check=False)
        if refused.returncode == 0:
            raise DemoError("the rotated-out key could still sign a release")
        reason = last_line(refused.stderr or refused.stdout).removeprefix("error: ")
        self.check("release signed by the rotated-out key", "ok", f"refused: {reason}")
        self.record_release(package, self.sign_release(release, self.key(new_name)))
        self.step_build()
        for target in ("spt", "hvt"):
            if target == "hvt" and _kvm_missing():
                continue
            fetched = self.fetch(target, "after the rotation")
            chain = {r["role"]: r for r in fetched["verified_roles"]}
            rotations = chain.get(f"pkg-{ROTATED_PACKAGE}", {}).get("rotations", 0)
            if fetched["version"] != version or rotations < 1:
                self.check(f"client follows the rotation ({target})", "failed",
                           f"fetched {fetched['version']} after {rotations} rotations")
            else:
                self.check(f"client follows the rotation ({target})", "ok",
                           f"pkg-{ROTATED_PACKAGE} verified after {rotations} TAP 8 rotation; "
                           f"fetched {version}")
            self.boot(fetched["written_to"], target, fetched["version"])

    # -- the summary ------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        dashboard = repository_paths(self.workdir / "repo").dashboard / "index.html"
        found = problems(self.outcomes, self.checks)
        return {
            "workdir": str(self.workdir),
            "repository": str(self.workdir / "repo"),
            "dashboard": str(dashboard.resolve()) if dashboard.exists() else None,
            "server": self.url,
            "packages": [asdict(o) for o in self.outcomes],
            "libraries": [f"{lib.name} {lib.version}" for lib in self.libraries],
            "checks": [asdict(c) for c in self.checks],
            "problems": found,
            "ok": not found,
        }

    def print_summary(self, data: dict[str, Any], console: Console) -> None:
        builds = Table(title="releases: built twice by the builder, compared, published or "
                       "refused (sha256 prefixes)")
        rows = package_rows(self.outcomes)
        for column in (rows[0] if rows else {"release": ""}):
            builds.add_column(column, overflow="fold", no_wrap=column != "decision")
        for row in rows:
            style = "green" if row["decision"].startswith("published") else "red"
            builds.add_row(*[f"[{style}]{v}[/]" if k == "decision" else v
                             for k, v in row.items()])
        console.print(builds)
        operator = Table(title="operator: fetched through the verifying client, run; "
                         "rebuilders; TAP 8")
        for column in ("what", "result", "detail"):
            operator.add_column(column, overflow="fold")
        for c in self.checks:
            style = {"ok": "green", "failed": "red"}.get(c.status, "yellow")
            operator.add_row(c.what, f"[{style}]{c.status}[/]", c.detail)
        console.print(operator)
        console.print(f"dashboard: {data['dashboard']}", soft_wrap=True)
        console.print(f"repository: {data['repository']}   summary: "
                      f"{self.workdir / 'summary.json'}", soft_wrap=True)
        verdict = "[green]every step held[/]" if data["ok"] else "[red]some checks failed[/]"
        console.print(f"demo finished: {verdict}; the services it started are stopped")

    def cleanup(self) -> None:
        self.stop_server()
        for kind, thing in reversed(self.cleanups):
            if kind == "process" and thing.poll() is None:
                thing.kill()
                thing.wait(timeout=10)
            if kind == "process" and thing.stdout is not None:
                thing.stdout.close()
            if kind == "netns":
                subprocess.run(["ip", "netns", "del", thing], capture_output=True, check=False)
        self.cleanups.clear()

    def run_all(self) -> dict[str, Any]:
        with self.step(1, "keys", "maintainers, authors, builder (INSECURE DEMO KEYS)"):
            self.plan()
            self.step_keys()
        with self.step(2, "quorum", f"key ceremony ({MAINTAINER_THRESHOLD} of {MAINTAINERS}), "
                       "a delegation per package"):
            self.step_init()
        with self.step(3, "release", "authors sign source archives + their builds' hashes"):
            self.step_release()
        with self.step(4, "build", "every image twice, compared, published only on a match"):
            self.step_build()
        with self.step(5, "serve", "snapshot/timestamp service and HTTP server on loopback"):
            self.step_serve()
        with self.step(6, "operator", "fetch through the verifying client and boot"):
            self.step_operator()
        with self.step(7, "rebuilders", "two rebuilders confirm hello, a third lies; "
                       "fetch --require-rebuilders 2"):
            step_rebuilders(self)
        with self.step(8, "rotate", f"{ROTATED_PACKAGE}'s author rotates keys (TAP 8), "
                       "releases again"):
            self.step_rotate()
        with self.step(9, "summary", "stop the services, collect the results"):
            self.stop_server()
            data = self.summary()
        return data


def _prepare_workdir(workdir: Path, fresh: bool) -> None:
    entries = sorted(os.listdir(workdir)) if workdir.is_dir() else []
    if workdir.exists() and not workdir.is_dir():
        raise DemoError(f"{workdir} is not a directory")
    if workdir_action(workdir.exists(), entries, fresh) == "wipe":
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER_NAME).write_text(MARKER_TEXT)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default="demo-work", show_default=True,
              help="Working directory for keys, repository, builds and downloads.")
@click.option("--fresh", is_flag=True,
              help="Wipe the working directory first if a previous demo left it.")
@click.option("--tree", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=PROJECT_ROOT, show_default=True,
              help="Source tree with packages/, unikernels/ and runtime/.")
@click.option("--packages", "package_list", metavar="NAME,...",
              help="Release only these bundled unikernels (hello, and ping, www and dns "
                   "where the index has them, are always included) [default: all].")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON on stdout (progress still goes to stderr).")
def demo(workdir: Path, fresh: bool, tree: Path, package_list: str | None,
         as_json: bool) -> None:
    """The whole pipeline on a local repository, every role in turn, nothing off this machine.

    \b
    1 keys: 3 maintainers (threshold 2), authors, builder (INSECURE DEMO KEYS)
    2 key ceremony and one quorum-signed delegation per bundled unikernel
    3 each author releases: source archive + the hashes of their own build
    4 the builder builds every image twice, publishes only exact matches;
      the unreproducible fixtures are refused and blamed
    5 snapshot/timestamp service + HTTP server on 127.0.0.1 (repo-tool serve)
    6 the operator fetches hello through the verifying client and boots it on
      spt (and hvt with /dev/kvm); boots ping on a tap in a namespace, pings it;
      boots www there with a site archive and fetches its page with curl,
      and dns with a zone archive and queries it with dig
    7 the maintainers delegate rebuilders alice, bob and mallory; alice and
      bob rebuild hello from the served repository and publish attestations;
      fetch --require-rebuilders 2 accepts hello, then refuses it once mallory
      attests another hash (--allow-disagreement accepts, naming mallory)
    8 the hello author rotates their key (TAP 8) and releases again; the
      client still verifies and fetches the new version
    9 summary table and the dashboard's path; the services are stopped

    Exit status 0 when every expectation held, 1 otherwise (the failed step
    or the failed checks are named), 130 when interrupted (Ctrl-C, SIGTERM);
    the services it started are stopped in every case.
    """
    console = Console(stderr=True)
    wanted = [name.strip() for name in package_list.split(",")] if package_list else None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    runner: Demo | None = None
    try:
        _prepare_workdir(workdir, fresh)
        runner = Demo(workdir.resolve(), tree.resolve(), console, wanted)
        data = runner.run_all()
    except DemoError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("error: interrupted; the services the demo started were stopped", err=True)
        sys.exit(130)
    finally:
        if runner is not None:
            runner.cleanup()
        signal.signal(signal.SIGTERM, previous)
    (workdir / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        # Wide enough for the table when stdout is a file or a pipe (make, CI logs).
        runner.print_summary(data, Console() if sys.stdout.isatty() else Console(width=150))
    if data["problems"]:
        for problem in data["problems"]:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
