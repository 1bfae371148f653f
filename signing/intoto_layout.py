"""The repository's in-toto layout (spec 1.0), checked by the in-toto project's `in-toto-verify`.

Pure construction: keys and a date in, a Layout (and its signed document) out.

Steps, one link per functionary each (`STEP.KEYID8.link`, see
signing.attestations.link_file_name):

  author-build          the package author's `repo-tool build-package`;
  builder-double-build  the publish gate's `repo-tool build` (double build);
  rebuild               k of the independent rebuilders' `repo-tool rebuild`
                        (only when rebuilder keys are given; without them the
                        step is omitted).

Artifact names: source and library archives `NAME-VERSION.tar.gz`, the
toolchain `toolchain/<path>` and the Solo5 build inputs `solo5/<path>`
(materials), the image `NAME.TARGET` (product). The rules say:
- author and builder built from the same archives and made the same image
  (MATCH in both directions, so neither has an artifact the other lacks);
- each rebuilder built from archives the author used and made the author's image;
- toolchain files are recorded, not required equal (a rebuilder may rebuild
  the same bytes with another toolchain); anything else is refused.
Inspections (the verifier runs `true` in its working directory and records
every file there): the image in that directory must be exactly a product of
the builder's step (and of the rebuild step), and nothing but links and the
layout may sit beside it. in-toto rules cannot require that an image be
present (REQUIRE takes a literal name and this layout serves every package),
so the verifier must put the image there; docs/intoto.md says how.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from in_toto.models.layout import Inspection, Layout, Step
from in_toto.models.metadata import Metablock
from securesystemslib.signer import Key, Signer, SSlibKey

from signing.errors import SigningError

AUTHOR_STEP = "author-build"
BUILDER_STEP = "builder-double-build"
REBUILD_STEP = "rebuild"
STEPS = (AUTHOR_STEP, BUILDER_STEP, REBUILD_STEP)
LAYOUT_NAME = "root.layout"
# Commands each step's functionary runs (in-toto only warns when a link's command differs).
EXPECTED_COMMANDS = {
    AUTHOR_STEP: ["repo-tool", "build-package"],
    BUILDER_STEP: ["repo-tool", "build"],
    REBUILD_STEP: ["repo-tool", "rebuild"],
}
ARCHIVES = "*.tar.gz"
TOOLCHAIN = ("toolchain/*", "solo5/*")
INSPECT_COMMAND = ["true"]  # the rules are the check; the command only lets in-toto record "."


class LayoutError(SigningError):
    """A layout cannot be made from what was given."""


@dataclass(frozen=True)
class LayoutKeys:
    """Who may sign which step, and how many rebuilders must agree."""

    authors: Sequence[Key]
    builders: Sequence[Key]
    rebuilders: Sequence[Key] = ()
    rebuild_threshold: int = 0  # 0 with no rebuilders: the rebuild step is omitted


def recorded_command(step: str, invocation: Sequence[str]) -> list[str]:
    """The `command` a link of STEP records for a run invoked as INVOCATION.

    in-toto-verify compares a link's command with the step's expected command as
    whole lists and warns on any difference, while the arguments of real runs
    (paths, URLs, key files) differ between functionaries and runs. So a run of
    the step's own command records exactly that command, and its link keeps the
    whole invocation beside it (environment `invocation`, signed with the rest);
    any other command is recorded whole, and in-toto-verify warns about it.
    """
    expected = EXPECTED_COMMANDS.get(step)
    if expected is not None and list(invocation[:len(expected)]) == expected:
        return list(expected)
    return list(invocation)


def _functionary(key: Key) -> dict[str, Any]:
    document = dict(key.to_dict())
    document["keyid"] = key.keyid
    return document


def _distinct(keys: Sequence[Key], what: str) -> list[str]:
    keyids = [k.keyid for k in keys]
    if len(set(keyids)) != len(keyids):
        raise LayoutError(f"the same {what} key is given twice")
    return sorted(keyids)


def _independent(roles: dict[str, list[str]]) -> None:
    """Each step must be signed by other parties than the rest: one key in two roles would
    let one party confirm its own build."""
    seen: dict[str, str] = {}
    for role, keyids in roles.items():
        for keyid in keyids:
            if keyid in seen:
                raise LayoutError(
                    f"key {keyid[:16]} is both {seen[keyid]} and {role}: each step must be "
                    "signed by a different party"
                )
            seen[keyid] = role


def _step(name: str, keyids: list[str], threshold: int, materials: list[str],
          products: list[str]) -> Step:
    return Step(
        name=name,
        pubkeys=keyids,
        threshold=threshold,
        expected_command=list(EXPECTED_COMMANDS[name]),
        expected_materials=_rules(materials),
        expected_products=_rules(products),
    )


def _rules(rules: list[str]) -> list[list[str]]:
    """Artifact rules as in-toto stores them: each rule a list of its words."""
    return [rule.split() for rule in rules]


def _toolchain_rules() -> list[str]:
    return [f"ALLOW {pattern}" for pattern in TOOLCHAIN]


def _image_inspection(name: str, step: str) -> Inspection:
    return Inspection(
        name=name,
        run=list(INSPECT_COMMAND),
        expected_materials=_rules([
            f"MATCH * WITH PRODUCTS FROM {step}",
            "ALLOW *.link",
            "ALLOW *.layout",
            "DISALLOW *",
        ]),
        expected_products=_rules(["ALLOW *"]),
    )


def build_layout(keys: LayoutKeys, expires: datetime, readme: str = "") -> Layout:
    """The unsigned layout for these functionaries, valid until `expires` (UTC)."""
    if not keys.authors:
        raise LayoutError("a layout needs at least one author key")
    if not keys.builders:
        raise LayoutError("a layout needs at least one builder key")
    if keys.rebuilders and not 1 <= keys.rebuild_threshold <= len(keys.rebuilders):
        raise LayoutError(
            f"rebuild threshold {keys.rebuild_threshold} is not between 1 and the "
            f"{len(keys.rebuilders)} rebuilder keys given"
        )
    if not keys.rebuilders and keys.rebuild_threshold:
        raise LayoutError("a rebuild threshold needs rebuilder keys")
    authors = _distinct(keys.authors, "author")
    builders = _distinct(keys.builders, "builder")
    rebuilders = _distinct(keys.rebuilders, "rebuilder")
    _independent({"author": authors, "builder": builders, "rebuilder": rebuilders})
    steps = [
        _step(AUTHOR_STEP, authors, 1,
              [f"MATCH {ARCHIVES} WITH MATERIALS FROM {BUILDER_STEP}", *_toolchain_rules(),
               "DISALLOW *"],
              [f"MATCH * WITH PRODUCTS FROM {BUILDER_STEP}", "DISALLOW *"]),
        _step(BUILDER_STEP, builders, 1,
              [f"MATCH {ARCHIVES} WITH MATERIALS FROM {AUTHOR_STEP}", *_toolchain_rules(),
               "DISALLOW *"],
              [f"MATCH * WITH PRODUCTS FROM {AUTHOR_STEP}", "DISALLOW *"]),
    ]
    inspections = [_image_inspection("image-is-built", BUILDER_STEP)]
    if rebuilders:
        steps.append(
            _step(REBUILD_STEP, rebuilders, keys.rebuild_threshold,
                  [f"MATCH {ARCHIVES} WITH MATERIALS FROM {AUTHOR_STEP}", *_toolchain_rules(),
                   "DISALLOW *"],
                  [f"MATCH * WITH PRODUCTS FROM {AUTHOR_STEP}", "DISALLOW *"])
        )
        inspections.append(_image_inspection("image-is-rebuilt", REBUILD_STEP))
    everyone = [*keys.authors, *keys.builders, *keys.rebuilders]
    layout = Layout(
        steps=steps,
        inspect=inspections,
        keys={key.keyid: _functionary(key) for key in everyone},
        expires=expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        readme=readme,
    )
    layout.validate()
    return layout


def sign_layout(layout: Layout, signers: Sequence[Signer]) -> dict[str, Any]:
    """The layout signed by every signer (in-toto Metablock: one signature each), as JSON."""
    if not signers:
        raise LayoutError("a layout must be signed by at least one maintainer key")
    keyids = [s.public_key.keyid for s in signers]
    if len(set(keyids)) != len(keyids):
        raise LayoutError("the same maintainer key is given twice")
    metablock = Metablock(signed=layout)
    for signer in signers:
        metablock.create_signature(signer)
    return dict(metablock.to_dict())


def public_key_pem(key: Key) -> bytes:
    """The key as PEM SubjectPublicKeyInfo, the form `in-toto-verify --verification-keys` reads.

    Refused if in-toto would derive another keyid from it (a key whose scheme is
    not the default for its type), since the layout's signature would not match.
    """
    public = key.to_dict()["keyval"]["public"]
    loaded: Any
    try:
        if key.keytype == "ed25519":
            loaded = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
        else:
            loaded = serialization.load_pem_public_key(public.encode())
    except ValueError:
        raise LayoutError(f"key {key.keyid[:16]}: malformed public key") from None
    if SSlibKey.from_crypto(loaded).keyid != key.keyid:
        raise LayoutError(
            f"key {key.keyid[:16]} ({key.keytype}/{key.scheme}): in-toto would give it another "
            "keyid; use a key made by `repo-tool key generate`"
        )
    pem: bytes = loaded.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem
