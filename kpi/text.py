"""The identity rule for text (docs/guarantees.md, "Identity"), in one place for every source:
extract cells as they are stored (`kpi.ingest.identity`), and the kpi.toml text that is matched
against them (filters, values, derived columns, peer group members), so a filter literal typed
in another Unicode form or carrying an invisible character finds the rows it names."""

from __future__ import annotations

import polars as pl

# Unicode's default-ignorable code points: rendered as nothing.
IGNORABLE = r"\p{Default_Ignorable_Code_Point}"
# Space characters other than the plain space.
OTHER_SPACES = r"[\p{Zs}--\x20]"


def normalised_text(text: pl.Expr) -> pl.Expr:
    """Text as it is stored: NFC, without invisible characters, other spaces made plain.
    (Trimming and blanks are the caller's, as for every cell.)"""
    return (text.str.normalize("NFC").str.replace_all(IGNORABLE, "")
            .str.replace_all(OTHER_SPACES, " "))


def identity_key(text: pl.Expr) -> pl.Expr:
    """What two values naming the same thing share: compatibility form (NFKC), no invisible
    characters, runs of space as one, trimmed, lower case."""
    return (text.str.normalize("NFKC").str.replace_all(IGNORABLE, "")
            .str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase())


def as_stored(texts: list[str]) -> list[str]:
    """Strings as `normalised_text` stores them (for text typed in kpi.toml)."""
    if all(t.isascii() for t in texts):
        return texts  # nothing to change, and no Polars work for the usual catalogue
    return pl.Series(texts, dtype=pl.String).to_frame("t").select(
        normalised_text(pl.col("t")))["t"].to_list()
