"""Real document files for tests, written with the libraries people's files come from."""

from __future__ import annotations

from fpdf import FPDF


def pdf_bytes(pages: list[str]) -> bytes:
    """A PDF with one page per text (fpdf2, Helvetica)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())
