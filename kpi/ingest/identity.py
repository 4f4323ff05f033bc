"""Text identity: how text is normalised as it is loaded, and the check that two values naming
one thing (a force, an LPA) are never stored side by side under spellings that print alike.

The rule (docs/guarantees.md, "Identity"):

- every text cell is put in Unicode NFC form; characters that show nothing (Unicode's
  default-ignorable code points: zero-width spaces and joiners, the soft hyphen, the word
  joiner, a byte-order mark, variation selectors) are removed; every other space character
  (a no-break space, an em space) becomes a plain space; then the text is trimmed, and
  nothing left is a blank. So 'Birmingham\\u200b' is stored as 'Birmingham'.
- in an identity column (a `replace_by` column, or one a KPI breaks down by, a peer group
  compares by, or a KPI's filter, value, numerator or denominator reads), two values that
  differ only in case, spacing or compatibility forms ('Kent police' and 'Kent Police') are
  refused, within a load and against the stored rows the load keeps: they would be two parts
  that print as one, a filter naming one would count the other's rows as none, and a revision
  would be added beside the original instead of replacing it.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from kpi.catalogue import ColumnType, DatasetSpec, through_derived
from kpi.errors import DataError, located
from kpi.ingest.common import FILE, ROW, _show
from kpi.text import SPELLINGS, identity_key
from kpi.text import normalised_text as normalised_text  # the conformer's import of the rule


def needs_normalising(values: pl.Expr) -> pl.Expr:
    """Whether any value of a text column holds a character outside ASCII: only then can
    normalising change it, and most extracts are ASCII throughout (one quick scan instead of
    three passes). Text is ASCII exactly when it has as many bytes as characters: counting
    both is several times quicker than a regular expression looking for a byte above 0x7f.
    An expression of the whole column, so the conformer asks it of every column of a batch
    in one query."""
    return (values.str.len_bytes().cast(pl.Int64).sum()
            != values.str.len_chars().cast(pl.Int64).sum())


def refuse_spellings(dataset_id: str, column: str, parts: Iterable[object], use: str,
                     effect: str | None = None) -> None:
    """At a read, the identity rule for a column parts are ranked or listed by (`use`, as
    "compare by" or "break down by"), or a KPI reads (`effect` says what it would do with two
    spellings): two of its stored values that differ only in case, spacing or invisible
    characters are refused, as a load refuses them in an identity column. A column a load did
    not check (`kpi compare --by` any column; a breakdown or filter declared after its rows
    were loaded) would otherwise rank one value as two parts, or count one of them."""
    names = pl.Series("part", [p for p in parts if isinstance(p, str)], dtype=pl.String)
    if names.len() < 2:
        return
    keyed = pl.DataFrame({"part": names}).with_columns(identity_key(pl.col("part")).alias("k"))
    twice = keyed.filter(pl.col("k").is_duplicated()).sort("k", "part")
    if twice.height:
        first, second = twice["part"][0], twice["part"][1]
        said = effect or f"to {use} '{column}' would make them two parts that print alike"
        raise DataError(f"dataset '{dataset_id}', column '{column}': '{_show(first)}' and "
                        f"'{_show(second)}' {SPELLINGS}: {said}",
                        hint=f"write each {column} one way in the extracts and reload the "
                             f"months holding the other spelling; once a KPI reads "
                             f"'{column}', every load refuses a second spelling")


def identity_columns(project, spec: DatasetSpec) -> list[str]:
    """The dataset's text columns whose values name parts or pick rows: its `replace_by`
    columns, and the declared columns each KPI's breakdowns, peer group, filter, value,
    numerator and denominator read the values of (through derived columns too; not a column
    read only as `IS [NOT] NULL`: `kpi.expressions.value_roots`). Two spellings of one value
    in a column a filter reads split its rows as surely as in a breakdown's: `offence =
    'Knife crime'` counted none of the months spelt 'Knife Crime'."""
    named: list[str] = list(spec.replace_by)
    for kpi in project.kpis:
        if kpi.dataset != spec.id:
            continue
        named.extend(kpi.breakdowns)
        group = project.peers.get(kpi.peers) if kpi.peers else None
        if group is not None:
            named.append(group.column)
        named.extend(root for text in (kpi.filter, kpi.value, kpi.numerator, kpi.denominator)
                     if text for root in _roots(text))
    stored, _ = through_derived(spec, named, _roots)
    return [name for name in stored
            if (col := spec.column(name)) is not None and col.type == ColumnType.STR]


def _roots(text: str) -> list[str]:
    """The columns an expression of kpi.toml reads the values of, not only whether they are
    blank (`kpi.expressions.value_roots`; [] for one the catalogue refuses)."""
    from kpi.expressions import value_roots

    try:
        return value_roots(pl.sql_expr(text))
    except Exception:  # noqa: BLE001 - the catalogue reports a bad expression
        return []


def check_identity(project, spec: DatasetSpec, extract, kept: pl.LazyFrame | None) -> None:
    """Refuse a load whose identity columns hold two spellings of one value, or a spelling of
    a value the kept stored rows (`kept`, None for a new table) hold otherwise."""
    for column in identity_columns(project, spec):
        # Each value's first file and record, kept by the staging as the rows were read.
        if column not in extract.firsts:
            continue  # no good row reached the store's files (the load is refused anyway)
        loaded = (extract.firsts[column]
                  .with_columns(identity_key(pl.col(column)).alias("__key")).sort(FILE, ROW))
        twice = loaded.filter(pl.col("__key").is_duplicated())
        if twice.height:
            first = twice.row(0, named=True)
            other = twice.filter((pl.col("__key") == first["__key"])
                                 & (pl.col(column) != first[column])).row(0, named=True)
            raise DataError(
                located(extract.files[other[FILE]],
                        f"'{_show(other[column])}' and '{_show(first[column])}' (at "
                        f"{_where(extract, first)}) {SPELLINGS}: two spellings of one "
                        f"{column}",
                        row=_row(extract, other), column=column),
                hint=f"write each {column} one way in the extracts: kpi would count them as "
                     "two, and print them alike")
        if kept is None or not loaded.height:
            continue
        stored = (kept.select(column, "month").filter(pl.col(column).is_not_null())
                  .group_by(column).agg(pl.col("month").min().alias("first"),
                                        pl.col("month").max().alias("last"))
                  .with_columns(identity_key(pl.col(column)).alias("__key")).collect())
        clash = (loaded.join(stored.rename({column: "__stored"}), on="__key", how="inner")
                 .filter(pl.col(column) != pl.col("__stored"))
                 .join(stored.select(column), on=column, how="anti").sort(FILE, ROW))
        if clash.height:
            found = clash.row(0, named=True)
            months = (found["first"] if found["first"] == found["last"]
                      else f"{found['first']}..{found['last']}")
            replace_by = column in spec.replace_by
            raise DataError(
                located(extract.files[found[FILE]],
                        f"expected {column} as the store holds it, '{_show(found['__stored'])}' "
                        f"(in {months}), found '{_show(found[column])}', which "
                        f"{SPELLINGS.replace('differ ', 'differs ', 1)}",
                        row=_row(extract, found), column=column),
                hint=f"write it '{_show(found['__stored'])}' in the extract"
                     + ("" if replace_by else ", or load the months holding the stored "
                        "spelling too (a load replaces the months it holds)")
                     + "; stored side by side they would be two parts that print alike")


def _row(extract, found: dict) -> int:
    """The row number the file shows for a staged record (its reader's numbering)."""
    numbering = extract.numberings[extract.files[found[FILE]]]
    return int(numbering(pl.Series([found[ROW]], dtype=pl.Int64))[0])


def _where(extract, found: dict) -> str:
    return f"{extract.files[found[FILE]]} row {_row(extract, found)}"
