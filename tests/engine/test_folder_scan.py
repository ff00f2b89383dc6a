"""What a scan of a watched folder takes in: readable kinds only, include and exclude patterns on
the path inside the folder or the name, no hidden files or folders, no links out of the folder,
and a cap on how many files one folder brings."""

from __future__ import annotations

from pathlib import Path

from engine.knowledge.folders import scan


def _tree(root: Path) -> None:
    for rel in ("a.md", "b.pdf", "sub/c.txt", "sub/deep/d.docx", "drafts/e.md", ".hidden.md",
                ".git/config.txt", "node_modules/x.js", "f.exe", "g.wav", "h.png"):  # fmt: skip
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 3)


def test_a_scan_takes_readable_files_and_follows_the_patterns(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    _tree(root)
    outside = tmp_path / "outside.md"
    outside.write_text("private")
    (root / "link.md").symlink_to(outside)
    (root / "linked").symlink_to(tmp_path, target_is_directory=True)
    everything = scan(root, [], [], limit=100)
    assert sorted(everything) == ["a.md", "b.pdf", "drafts/e.md", "g.wav", "h.png",
                                  "sub/c.txt", "sub/deep/d.docx"]  # fmt: skip
    assert everything["a.md"].size == 3
    assert sorted(scan(root, ["*.md", "*.txt"], ["drafts/*"], limit=100)) == ["a.md", "sub/c.txt"]
    assert sorted(scan(root, ["sub/*"], ["deep"], limit=100)) == ["sub/c.txt"]
    assert len(scan(root, [], [], limit=3)) == 3
