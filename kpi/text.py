"""The identity rule for text (docs/guarantees.md, "Identity"), in one place for every source:
extract cells as they are stored (`kpi.ingest.identity`), and the kpi.toml text that is matched
against them (filters, values, derived columns, peer group members), so a filter literal typed
in another Unicode form or carrying an invisible character finds the rows it names; and the
one key by which two names are one part (`identity_key`). Also the one rule decoding the
reference files kpi.toml names (`reference_text`), and the control characters that mark
binary data (`CONTROL_BYTES`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

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
    characters, runs of space as one, trimmed, lower case, and a code of digits alone without
    its leading zeros (a division '01' saved by a spreadsheet as '1': a revision of it was
    added beside the original as another part, and counted twice, exit 0) or a point and
    zeros after it ('1.0'). The one rule
    naming a part: the load's and the read's check that a column never holds two spellings of
    one part (`kpi.ingest.identity`), and every name matched to a stored part (a population
    file's part, a peer group's member or focus, `--focus`), so a name finds a part exactly
    when the check would call them one (docs/peers.md, "How a part's name is matched")."""
    # NFKC and the invisible characters change only text outside ASCII, so only that is
    # normalised: most ids and names are ASCII, and normalising them took most of the time.
    wide = text.str.len_bytes() != text.str.len_chars()
    key = pl.coalesce(pl.when(wide).then(text).str.normalize("NFKC")
                      .str.replace_all(IGNORABLE, ""), text)
    key = key.str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
    # a whole code written with a point and zeros ('1.0', as pandas writes an integer column
    # holding a blank) is that code: a force '1.0' and its revision '1' were two parts. Both
    # rules are one replacement matching only such a code, so the key is built once: a choice
    # (when/then) reading it twice built each step's input again, three times a step, which
    # made the `unique` check's key of every id take 3.6 s a million.
    return key.str.replace(r"^0*(\d+?)(?:\.0+)?$", "${1}")


# How a message says two values are one part's spellings (`identity_key`).
SPELLINGS = ("differ only in case, spacing, invisible characters, leading zeros or a point and "
             "zeros after a whole number")


def identity_keys(names: list[str]) -> list[str]:
    """`identity_key` of each name, in order."""
    return pl.Series("t", names, dtype=pl.String).to_frame().select(
        identity_key(pl.col("t")))["t"].to_list()


def as_stored(texts: list[str]) -> list[str]:
    """Strings as `normalised_text` stores them (for text typed in kpi.toml)."""
    if all(t.isascii() for t in texts):
        return texts  # nothing to change, and no Polars work for the usual catalogue
    return pl.Series(texts, dtype=pl.String).to_frame("t").select(
        normalised_text(pl.col("t")))["t"].to_list()


# Characters that print alike, or nearly, in a chart's font and on paper: the dashes and minus
# signs as a hyphen-minus, the single and double quotation marks as the ASCII ones. kpi keeps
# each as it is ("Route -1" and "Route \u22121" are two parts, as the data has them).
_LOOK_ALIKE = str.maketrans(
    {**{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u02d7\u2796"
                        "\ufe58\ufe63\uff0d"},
     **{c: "'" for c in "`\u00b4\u02bc\u2018\u2019\u201a\u201b\u2032"},
     **{c: '"' for c in "\u201c\u201d\u201e\u201f\u2033"}})


def told_apart(names: Sequence[str]) -> list[str]:
    """Each name as a chart labels it: as it is, unless another differs from it only in
    characters that print alike (a hyphen-minus, an en dash and a minus sign: "Route -1",
    "Route \u20131", "Route \u22121"), then followed by the names of its characters where
    they differ ("Route \u20131 (en dash)", "Route \u22121 (minus sign)"): drawn as they are,
    the bars of two parts read under one name."""
    import unicodedata

    groups: dict[str, list[int]] = {}
    for n, name in enumerate(names):
        groups.setdefault(name.translate(_LOOK_ALIKE), []).append(n)
    out = list(names)
    for members in groups.values():
        spellings = sorted({names[n] for n in members})
        if len(spellings) < 2:
            continue
        # Alike but for characters mapped one for one: every spelling is as long.
        differ = [at for at in range(len(spellings[0]))
                  if len({spelling[at] for spelling in spellings}) > 1]
        for n in members:
            marks = ", ".join(unicodedata.name(names[n][at], f"U+{ord(names[n][at]):04X}")
                              .lower() for at in differ)
            out[n] = f"{names[n]} ({marks})"
    return out


# What the rows with no value in a breakdown's column print under, in the paper's sentences and
# charts.
NOT_RECORDED = "not recorded"


def blank_name(parts: Iterable[object], name: str = NOT_RECORDED) -> str:
    """The name the rows with no value in a column (None among `parts`) print under beside the
    column's parts: `name`, unless a part prints alike (the same `identity_key`: a stored
    'Not recorded', as a pivot table's blanks are often filled), then "(blank)" after it
    until none does. The paper listed "Not recorded (120), not recorded (80)", two parts
    under one name, and `kpi show` a part '—' beside the blank rows' '—'."""
    named = [str(p) for p in parts if p is not None]
    if not named:
        return name
    taken = set(identity_keys(named))
    while identity_keys([name])[0] in taken:
        name = f"{name} (blank)"
    return name


# The byte-order marks of UTF-16 and UTF-32 (the longer first: UTF-32 LE starts as UTF-16
# LE does), read by ingest (`kpi.ingest.survey`) and by `reference_text`.
WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
             (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def reference_text(path: Path, what: str) -> str:
    """The text of a reference file kpi.toml names (a weights, population or glossary CSV),
    decoded by the rule extracts are (kpi.ingest.survey): by its byte-order mark (UTF-8,
    UTF-16 or UTF-32), else UTF-8, else Windows-1252, what Excel's "CSV (Comma delimited)"
    writes on a UK machine ("Assault \u2013 ABH" with its en dash as byte 0x96), so its keys
    read as the same text as the stored rows they name. A byte none of them decodes is
    refused (ConfigError naming the file and the byte's offset), as is a file that cannot be
    read, or binary data: Windows-1252 decodes nearly any bytes, so a workbook or PDF under a
    .csv name is told apart by the control characters no CSV text holds."""
    from kpi.errors import ConfigError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    hint = "save it as CSV UTF-8 (in Excel: Save As, CSV UTF-8)"

    def binary(code: int, offset: int) -> ConfigError:
        return ConfigError(f"{path}: cannot read the {what}: binary data (a control "
                           f"character, {code:#04x}, at offset {offset}), not CSV text",
                           hint=hint)

    codec = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else next(
        (c for bom, c in WIDE_BOMS if raw.startswith(bom)), None)
    if codec in (None, "utf-8-sig") and (control := CONTROL_BYTES.search(raw)) is not None:
        # one byte a character in UTF-8 and Windows-1252 alike
        raise binary(control.group()[0], control.start())
    for attempt in [codec] if codec else ["utf-8", "cp1252"]:
        try:
            text = raw.decode(attempt)
        except UnicodeDecodeError as exc:
            error = exc
            continue
        if (control := CONTROL_TEXT.search(text)) is not None:  # UTF-16 or UTF-32
            raise binary(ord(control.group()), len(control.string[:control.start()]
                                                   .encode(attempt)))
        return text
    names = {None: "UTF-8 or Windows-1252", "utf-8-sig": "UTF-8"}.get(codec, str(codec).upper())
    # UTF-8-sig counts from after its byte-order mark; the wide codecs from the file's start
    at = error.start + (3 if codec == "utf-8-sig" else 0)
    raise ConfigError(f"{path}: cannot read the {what}: byte {raw[at]:#x} at offset {at} is "
                      f"not {names} text", hint=hint)


def reference_table(path: Path, what: str, hint: str) -> pl.DataFrame:
    """A reference CSV file (`reference_text`) as a table of text, its first row the columns'
    names, an empty field None, read by Python's strict CSV reader so a fault is one line
    naming the row: a quote never closed (Polars printed its parser's state over many lines),
    or a row with more or fewer fields than the heading (`hint` says what the file holds).
    Blank lines are passed over; a name used twice is kept apart by a suffix, as Polars does."""
    import csv
    import io

    from kpi.errors import ConfigError

    reader = csv.reader(io.StringIO(reference_text(path, what), newline=""), strict=True)
    rows: list[list[str]] = []
    started = 1  # the line the row being read starts on (a quoted field spans lines)
    try:
        for row in reader:
            if rows and row and len(row) != len(rows[0]):
                raise ConfigError(f"{path}, row {started}: {len(row)} fields where the "
                                  f"heading has {len(rows[0])}", hint=hint)
            if row:
                rows.append(row)
            started = reader.line_num + 1
    except csv.Error as exc:
        raise ConfigError(f"{path}, row {started}: cannot read the {what} ({exc}: a quote "
                          "not closed?)", hint=hint) from None
    if not rows:
        raise ConfigError(f"{path}: the {what} is empty", hint=hint)
    names: list[str] = []
    for name in rows[0]:
        given, n = name, 0
        while given in names:
            given, n = f"{name}_duplicated_{n}", n + 1
        names.append(given)
    columns = list(zip(*rows[1:], strict=True)) if len(rows) > 1 else [() for _ in names]
    return pl.DataFrame({name: [v if v != "" else None for v in values]
                         for name, values in zip(names, columns, strict=True)},
                        schema={name: pl.String for name in names})


# The control characters no text file holds (tab, the line breaks, vertical tab and form feed
# aside): their presence marks binary data, here and where ingest tells a file's format from
# its bytes (`kpi.ingest.survey.format_of`).
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
CONTROL_TEXT = re.compile(CONTROL_BYTES.pattern.decode("ascii"))
