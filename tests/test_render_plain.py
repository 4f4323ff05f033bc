"""Plain tables (a file, a pipe, NO_COLOR) are laid out by kpi directly where Rich would give
the same text, which is far quicker for long tables such as a year of `kpi history`: checked
with Hypothesis against Rich's own layout, cell text drawn from what kpi prints (numbers, dashes,
accents, pound signs, spaces) and from characters Rich lays out otherwise (wide, combining)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi import render
from kpi.render import Document, Section

TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ019 -.,:()[]%/—é£界\u0301")),
               max_size=25)
CELL = st.one_of(st.none(), st.integers(-10**9, 10**9),
                 st.floats(allow_nan=False, allow_infinity=False, width=32), TEXT)


@st.composite
def sections(draw) -> Section:
    columns = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=6, unique=True))
    rows = draw(st.lists(st.tuples(*[CELL] * len(columns)), max_size=8))
    return Section(title=draw(TEXT), columns=tuple(columns), rows=rows,
                   headers=draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(sections(), st.sampled_from([400, 40]))
# A header is text, never Rich's markup or emoji codes: ":a:" printed as an emoji through
# Rich, "[b]" was dropped (found by this test).
@example(Section(title="", columns=(":a:",), rows=[]), 400)
@example(Section(title="", columns=("[b]x", "y[/b]"), rows=[("1", "2")]), 40)
def test_plain_table_is_rich_layout_to_the_byte(section, width):
    document = Document(heading="Heading", sections=(section, section))
    direct = render.render_table(document, True, width)
    original = render._plain_columns
    render._plain_columns = lambda *args: None  # every table through Rich
    try:
        assert direct == render.render_table(document, True, width)
    finally:
        render._plain_columns = original
