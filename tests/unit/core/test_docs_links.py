"""Every link in README.md and docs/*.md leads somewhere: the file exists, and so does the heading.

Checked: markdown links and images (`[text](path)`, `[text](path#anchor)`, `[text](#anchor)`)
outside code, resolved from the page's own folder, and a page named in inline code
(`docs/costs.md`), which a reader follows like a link. Web links are not fetched. Anchors are
GitHub's heading slugs: lower case, punctuation dropped, spaces turned into hyphens, a repeated
heading numbered `-1`, `-2`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
PAGE_IN_CODE = re.compile(r"^(?:\.\./)?(?:docs/)?[\w.-]+\.md(?:#[\w-]+)?$")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class Link(NamedTuple):
    page: Path
    target: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)} -> {self.target}"


def _without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def links_of(page: Path) -> list[Link]:
    text = _without_code_blocks(page.read_text(encoding="utf-8"))
    found = [Link(page, target) for target in LINK.findall(INLINE_CODE.sub("", text))]
    for code in INLINE_CODE.findall(text):
        candidate = code.strip()
        if PAGE_IN_CODE.match(candidate):
            # Pages name other pages from the repository root (`docs/trading.md`).
            found.append(Link(page, candidate if page.parent == ROOT else f"../{candidate}"))
    return found


def _is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) is not None


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def anchors_of(page: Path) -> set[str]:
    """The page's heading slugs, and the ids of its HTML anchors (`<a id="...">`)."""
    seen: dict[str, int] = {}
    anchors = set()
    text = _without_code_blocks(page.read_text(encoding="utf-8"))
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        anchors.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return anchors | set(HTML_ANCHOR.findall(text))


ALL_LINKS = [link for page in PAGES for link in links_of(page)]
LOCAL_LINKS = [link for link in ALL_LINKS if not _is_external(link.target)]


def test_the_pages_have_links_to_check() -> None:
    assert (ROOT / "README.md").exists()
    assert len(LOCAL_LINKS) >= 10, [str(link) for link in LOCAL_LINKS]


@pytest.mark.parametrize("link", LOCAL_LINKS, ids=str)
def test_relative_link_resolves(link: Link) -> None:
    path_part, _, anchor = link.target.partition("#")
    target = (link.page.parent / path_part).resolve() if path_part else link.page
    assert target.exists(), f"{link}: no such file {target.relative_to(ROOT.resolve())}"
    if anchor and target.suffix == ".md":
        anchors = anchors_of(target)
        assert anchor in anchors, f"{link}: no heading '#{anchor}'; headings: {sorted(anchors)}"


def test_slug_follows_github() -> None:
    assert slug("Fills") == "fills"
    assert slug("Paper and live") == "paper-and-live"
    assert slug("The `previous_session` indicator") == "the-previous_session-indicator"
    assert slug("Costs: what a trade pays (₹)") == "costs-what-a-trade-pays-"
    assert slug("Using [your own](x.md) table") == "using-your-own-table"


def test_a_missing_page_or_heading_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\nSee [there](missing.md), [here](#title), [gone](#nope) and `docs/x.md`.\n"
        "```\n[not a link](inside-a-fence.md)\n```\n",
        encoding="utf-8",
    )
    targets = [link.target for link in links_of(page)]
    assert targets == ["missing.md", "#title", "#nope", "../docs/x.md"]
    assert anchors_of(page) == {"title"}
    page.write_text('# Title\n\n<a id="model-x"></a>\n### X\n', encoding="utf-8")
    assert anchors_of(page) == {"title", "model-x", "x"}
