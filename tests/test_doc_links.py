"""Links between the docs resolve: every relative markdown link names a file of the checkout, and
every #anchor a heading of the page it points to (GitHub's anchor rule)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# [text](target) outside code; images the same. Targets with a scheme (http:, mailto:) are not ours.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")


def doc_pages(root: Path = ROOT) -> list[Path]:
    """The pages the project promises are true, and the READMEs beside the code."""
    pages = [root / "README.md", root / "ARCHITECTURE.md", *sorted((root / "docs").glob("*.md"))]
    pages += sorted(root.glob("*/README.md")) + sorted(root.glob("*/*.md"))
    return sorted({page for page in pages if page.is_file() and "tests" not in page.parts})


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def anchor_of(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of page; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(page.read_text()):
        match = HEADING.match(line)
        if not match:
            continue
        base = anchor_of(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    # explicit <a id="..."> / <a name="..."> anchors
    found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", page.read_text()))
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """One line per link of page that names no file, or no heading of its page."""
    broken: list[str] = []
    for number, line in prose_lines(page.read_text()):
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            if SCHEME.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            where = f"{page.relative_to(root)}:{number}: {target}"
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.exists():
                broken.append(f"{where}: no such file")
            elif root not in linked.parents and linked != root:
                broken.append(f"{where}: outside the checkout")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{where}: no heading with anchor #{anchor}")
    return broken


def test_every_doc_link_resolves() -> None:
    pages = doc_pages()
    assert ROOT / "ARCHITECTURE.md" in pages and len(pages) > 10
    assert any(LINK.search(page.read_text()) for page in pages), "the checker sees no link"
    broken = [line for page in pages for line in broken_links(page)]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# A page\n\n## Exit statuses (`repo-tool`)\n\n"
        "[ok](#exit-statuses-repo-tool) [ok too](../README.md#top) [gone](b.md)\n"
        "[no anchor](../README.md#bottom) [web](https://example.org/x.md)\n"
        "```\n[in code](nowhere.md)\n```\n"
    )
    (tmp_path / "README.md").write_text("# Top\n")
    assert broken_links(tmp_path / "docs" / "a.md", tmp_path) == [
        "docs/a.md:5: b.md: no such file",
        "docs/a.md:6: ../README.md#bottom: no heading with anchor #bottom",
    ]
