"""The writers' page layout (kpi.writers.pages) where a paragraph introduces two figures and
the first does not fit what is left of the page: read printed, the three forces' Word paper
left page 2 half blank, as the paragraphs after the two figures were not brought up to fill
it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi.document import Figure, Paragraph, Section, inlines
from kpi.writers import pages

WORDS = "The paper says one thing at a time and every figure in it is computed. " * 6


def _section(figures: int) -> Section:
    lead = [Paragraph(inlines(WORDS), number=f"2.{n}") for n in range(1, 8)]
    cites = Paragraph(inlines("See Figures 1 and 2."), number="2.9")
    drawn = [Figure(n, f"figure-{n}.png", inlines(f"Figure {n}"), "a chart")
             for n in range(1, figures + 1)]
    rest = [Paragraph(inlines(WORDS), number=f"2.{n}") for n in range(10, 13)]
    return Section("2.", inlines("Recorded crime"), (*lead, cites, *drawn, *rest))


@pytest.mark.parametrize("metrics", [pages.WORD, pages.HTML], ids=["word", "html"])
@pytest.mark.parametrize("figures", [1, 2])
def test_the_paragraphs_after_a_paragraphs_figures_fill_the_page_they_do_not_fit(
        metrics, figures):
    section = _section(figures)
    laid = pages.ordered(section, pages.Pages(metrics), Path("."))
    order = [b.number if isinstance(b, Paragraph) else f"Figure {b.number}" for b, _ in laid]
    # The figures (drawn half as tall as wide, 15 cm) do not fit after 2.9; 2.10 does.
    assert order.index("2.10") < order.index("Figure 1"), order
    assert order[order.index("Figure 1"):order.index("Figure 1") + figures] == [
        f"Figure {n}" for n in range(1, figures + 1)]
