"""Documents to text blocks with their positions: plain text and source code, Markdown (with its
headings), HTML, PDF (per page, with pypdf), Word .docx (with its heading styles, through
python-docx), OpenDocument .odt and EPUB (both zip files of XML, read with the standard library).
A file that cannot be read raises Unreadable with a reason for the user. Recordings and images
are read by the engine's own speech and OCR models (engine/knowledge/media.py)."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from defusedxml import ElementTree  # its errors (entity bombs and the like) are ValueErrors

from engine.errors import InvalidInput
from engine.knowledge.passage import Passage

TEXT = {".txt", ".text", ".md", ".markdown", ".rst", ".csv", ".tsv", ".json", ".yaml", ".yml",
        ".toml", ".ini", ".log", ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".c", ".h",
        ".cpp", ".hpp", ".cs", ".go", ".rs", ".rb", ".php", ".swift", ".kt", ".sh", ".sql",
        ".css", ".xml", ".tex"}  # fmt: skip
AUDIO = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac", ".webm", ".mp4",
         ".mkv", ".mov", ".m4v"}  # fmt: skip
IMAGE = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
DOCUMENT = TEXT | {".pdf", ".docx", ".odt", ".epub", ".html", ".htm"}
MAX_MEMBER_BYTES = 64 << 20
_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class Unreadable(InvalidInput):
    code = "unreadable_file"


Block = Passage  # a paragraph (or page part) as read, before chunking


def read_document(path: Path, filename: str) -> list[Block]:
    """The text of a stored file (`filename` names its type); Unreadable when it has none."""
    ext = Path(filename).suffix.lower()
    if ext == ".pdf":
        blocks = _pdf(path)
    elif ext == ".docx":
        blocks = _docx(path)
    elif ext == ".odt":
        blocks = _zipped(path, "OpenDocument text", _odt)
    elif ext == ".epub":
        blocks = _zipped(path, "EPUB book", _epub)
    elif ext in (".html", ".htm"):
        blocks = _html(_decoded(path, filename))
    elif ext in (".md", ".markdown"):
        blocks = _markdown(_decoded(path, filename))
    elif ext in TEXT or not ext:
        blocks = _paragraphs(_decoded(path, filename))
    else:
        raise Unreadable(f"{filename}: files of type {ext} are not read (yet)")
    blocks = [b for b in blocks if b.text.strip()]
    if not blocks:
        raise Unreadable(f"{filename} holds no text" +
                         (" (a scanned PDF needs OCR, which is not done yet)" if ext == ".pdf"
                          else ""))  # fmt: skip
    return blocks


def _decoded(path: Path, filename: str) -> str:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise Unreadable(f"{filename} is not a text file")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _paragraphs(text: str, heading: str | None = None) -> list[Block]:
    return [Block(p.strip(), heading) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _markdown(text: str) -> list[Block]:
    blocks: list[Block] = []
    heading: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        found = _MD_HEADING.match(line)
        if found:
            blocks += _paragraphs("\n".join(lines), heading)
            heading, lines = found.group(2), []
        else:
            lines.append(line)
    return blocks + _paragraphs("\n".join(lines), heading)


def _pdf(path: Path) -> list[Block]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unreadable(f"the PDF could not be read ({type(exc).__name__})") from exc
    blocks: list[Block] = []
    for number, text in enumerate(pages, start=1):
        blocks += [Block(b.text, page=number) for b in _paragraphs(text)]
    return blocks


def _docx(path: Path) -> list[Block]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as exc:
        raise Unreadable(f"the Word document could not be read ({type(exc).__name__})") from exc
    blocks: list[Block] = []
    heading: str | None = None
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if style.startswith("Heading") or style == "Title":
            heading = paragraph.text.strip() or heading
        elif paragraph.text.strip():
            blocks.append(Block(paragraph.text.strip(), heading))
    for table in document.tables:
        for row in table.rows:
            cells = " | ".join(c.text.strip() for c in row.cells if c.text.strip())
            if cells:
                blocks.append(Block(cells, heading))
    return blocks


class _HtmlText(HTMLParser):
    SKIP = frozenset({"script", "style", "noscript", "template"})
    BREAK = frozenset({"p", "div", "li", "br", "tr", "section", "article", "h1", "h2", "h3", "h4",
              "h5", "h6", "pre", "blockquote"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Block] = []
        self.heading: str | None = None
        self._text: list[str] = []
        self._skip = 0
        self._in_heading = False

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        self._text = []
        if not text:
            return
        if self._in_heading:
            self.heading = text
        else:
            self.blocks.append(Block(text, self.heading))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.BREAK:
            self._flush()
            self._in_heading = tag in {"h1", "h2", "h3", "h4", "h5", "h6"}

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self.BREAK:
            self._flush()
            self._in_heading = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text.append(data)


def _html(text: str) -> list[Block]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    parser._flush()
    return parser.blocks


def _zipped(path: Path, kind: str, read: Callable[[zipfile.ZipFile], list[Block]]) -> list[Block]:
    try:
        with zipfile.ZipFile(path) as archive:
            return read(archive)
    except (
        zipfile.BadZipFile,
        ElementTree.ParseError,
        KeyError,
        ValueError,
        StopIteration,
        OSError,
    ) as exc:
        raise Unreadable(f"the {kind} could not be read ({type(exc).__name__})") from exc


def _member(archive: zipfile.ZipFile, name: str) -> bytes:
    if archive.getinfo(name).file_size > MAX_MEMBER_BYTES:  # a zip bomb, or not a document
        raise ValueError("a part of the file is too large")
    return archive.read(name)


def _odt(archive: zipfile.ZipFile) -> list[Block]:
    root = ElementTree.fromstring(_member(archive, "content.xml"))
    blocks: list[Block] = []
    heading: str | None = None
    for element in root.iter():
        if element.tag == f"{_ODF_TEXT}h":
            heading = " ".join("".join(element.itertext()).split()) or heading
        elif element.tag == f"{_ODF_TEXT}p":
            text = " ".join("".join(element.itertext()).split())
            if text:
                blocks.append(Block(text, heading))
    return blocks


def _epub(archive: zipfile.ZipFile) -> list[Block]:
    """The book's chapters in reading order (its package's spine)."""
    container = ElementTree.fromstring(_member(archive, "META-INF/container.xml"))
    rootfile = next(e for e in container.iter() if e.tag.endswith("rootfile"))
    package_path = rootfile.attrib["full-path"]
    package = ElementTree.fromstring(_member(archive, package_path))
    items = {e.attrib["id"]: e.attrib["href"] for e in package.iter() if e.tag.endswith("}item")}
    spine = [e.attrib["idref"] for e in package.iter() if e.tag.endswith("}itemref")]
    folder = posixpath.dirname(package_path)
    blocks: list[Block] = []
    for idref in spine:
        name = posixpath.normpath(posixpath.join(folder, items[idref]))
        blocks += _html(_member(archive, name).decode("utf-8", errors="replace"))
    return blocks
