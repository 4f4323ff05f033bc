"""The board's paper reads each dataset once (issue 18): every month of every table is read
by one query of the export, however many figures, breakdowns, series and verdicts use it.

Counted by wrapping the store's reader (`kpi.store.scan`) in a Polars IO source that reads
the real scan and records, for each query Polars runs over it, the months of the rows it
gave (Polars hands the source each query's filter, so a query of one month reads that month,
as the Parquet files of the real scan are read by month).
"""

from __future__ import annotations

from collections import Counter

from polars.io.plugins import register_io_source

from kpi import board, engine, store
from kpi.catalogue import PROJECT_FILE, bundled_project_dir, load_project_file
from kpi.periods import Comparison, Month


def test_the_board_paper_reads_each_month_of_each_dataset_once(monkeypatch):
    project = load_project_file(bundled_project_dir() / PROJECT_FILE, bundled=True)
    import kpi

    kpi.open("sample")  # the sample's store built (a load reads its tables)
    reads: Counter[tuple[str, str]] = Counter()
    real_scan = store.scan

    def counting_scan(project, dataset_id, as_of=None):
        real = real_scan(project, dataset_id, as_of)
        schema = real.collect_schema()

        def source(with_columns, predicate, n_rows, batch_size):
            frame = real if predicate is None else real.filter(predicate)
            got = frame.collect()
            for month in got.get_column("month").unique().to_list():
                reads[(dataset_id, month)] += 1
            if with_columns is not None:
                got = got.select(with_columns)
            yield got.head(n_rows) if n_rows is not None else got

        return register_io_source(source, schema=schema, is_pure=True)

    monkeypatch.setattr(store, "scan", counting_scan)
    # Nothing kept from an earlier test in this process: every dataset is read here.
    monkeypatch.setattr(engine, "_GROUPED", {})
    monkeypatch.setattr(engine, "_HELD", {})
    model = board.build(project, Month.parse("2025-09"), Comparison.BASELINE)
    assert model.figures and model.breakdowns and model.series
    read_datasets = {dataset for dataset, _ in reads}
    assert read_datasets == {r.kpi.source for r in model.report.results
                             if not r.kpi.is_derived and r.current is not None}
    assert {key: n for key, n in reads.items() if n > 1} == {}
    # The wrapped reader gives the figures the store's own reader gives.
    monkeypatch.undo()
    engine._GROUPED.clear()
    engine._HELD.clear()
    again = board.build(project, Month.parse("2025-09"), Comparison.BASELINE)
    assert repr(again.report.results) == repr(model.report.results)
    assert again.breakdowns.keys() == model.breakdowns.keys()
    for key, frame in model.breakdowns.items():
        assert frame.equals(again.breakdowns[key]), key


def test_rows_held_for_a_later_period_give_an_earlier_one_its_own_months():
    """Rows held by one report (`hold_rows`) serve a later report of fewer months: it is
    computed from its own months only, as a report reading the store computes it."""
    from kpi import verdicts

    project = load_project_file(bundled_project_dir() / PROJECT_FILE, bundled=True)
    engine._HELD.clear()
    engine.evaluate(project, Month.parse("2025-09"), series=verdicts.SERIES_MONTHS,
                    hold_rows=True)
    assert engine._HELD
    earlier = engine.evaluate(project, Month.parse("2024-09"), series=verdicts.SERIES_MONTHS,
                              hold_rows=True)
    engine._HELD.clear()
    engine._GROUPED.clear()
    read = engine.evaluate(project, Month.parse("2024-09"), series=verdicts.SERIES_MONTHS)
    assert repr(earlier.results) == repr(read.results)
    assert earlier.monthly == read.monthly
