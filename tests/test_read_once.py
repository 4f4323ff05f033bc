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
    monkeypatch.setattr(engine, "_ROLLS_CHECKED", set())
    monkeypatch.setattr(engine, "_SPELLINGS_CHECKED", set())
    monkeypatch.setattr(engine, "_DISTINCT", {})
    model = board.build(project, Month.parse("2025-09"), Comparison.BASELINE)
    assert model.figures and model.breakdowns and model.series
    read_datasets = {dataset for dataset, _ in reads}
    assert read_datasets == {r.kpi.source for r in model.report.results
                             if not r.kpi.is_derived and r.current is not None}
    # One read more of a dataset a snapshot reads, once per table version: the check that
    # its months hold no roll taken at several dates (`engine.refuse_repeated_rolls`) groups
    # every stored month's rows by day and labels, apart from the figures' reads.
    # (The sample's other snapshots, ethics training and case quality, are dated by a month.)
    checked = {"incidents", "workforce"}
    assert all(any(k.is_snapshot and k.source == d for k in project.kpis) for d in checked)
    # At most one read more of a dataset whose text columns KPIs read, once per table state:
    # the identity rule at the read (`engine.refuse_read_spellings`) asks for each month's
    # distinct values of them in a query of its own where no other read of the paper holds
    # them (the summary asks it in its figures'). Counted from empty caches, as a process's
    # first paper reads: an earlier read in the process leaves it out.
    spelled = {d for d, spec in project.datasets.items()
               if engine.text_read(spec, [k for k in project.kpis if k.dataset == d])}
    assert {"crimes", "incidents", "outcomes"} <= spelled
    for (dataset, month), n in reads.items():
        assert n <= 1 + (dataset in checked) + (dataset in spelled), (dataset, month, n)
    assert {d for (d, _), n in reads.items() if n > 1} == checked | {"crimes", "outcomes"}
    # The wrapped reader gives the figures the store's own reader gives.
    monkeypatch.undo()
    engine._GROUPED.clear()
    engine._HELD.clear()
    engine._DISTINCT.clear()
    engine._SPELLINGS_CHECKED.clear()
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


def test_kpi_show_reads_a_provisional_kpis_months_once_and_judges_it_once(tmp_path,
                                                                          monkeypatch):
    """`Project.detail` (what `kpi show` prints) of a KPI with provisional months: its
    dataset's monthly components are computed in one pass (`engine._Plan.run`) for its
    windows, trend, verdict series and test without the provisional months alike, every
    month of the store read by one query, and its verdict is judged once."""
    import shutil
    from pathlib import Path

    import kpi
    from kpi import verdicts
    from kpi.ingest import load

    mini = Path(__file__).resolve().parent / "fixtures" / "mini"
    root = tmp_path / "mini"
    shutil.copytree(mini, root)
    toml = root / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    rate = 'numerator = "outcome IN (\'OC1\', \'OC2\')"\n'
    assert rate in text
    toml.write_text(text.replace(rate, rate + "provisional_months = 2\n"), encoding="utf-8")
    from kpi.catalogue import load_project

    load(load_project(root), "crimes")
    opened = kpi.open(root)
    assert opened.definition.known_kpi("positive_outcome_rate").provisional_months == 2
    reads: Counter[tuple[str, str]] = Counter()
    real_scan = store.scan

    def counting_scan(project, dataset_id, as_of=None):
        real = real_scan(project, dataset_id, as_of)

        def source(with_columns, predicate, n_rows, batch_size):
            got = (real if predicate is None else real.filter(predicate)).collect()
            for month in got.get_column("month").unique().to_list():
                reads[(dataset_id, month)] += 1
            if with_columns is not None:
                got = got.select(with_columns)
            yield got.head(n_rows) if n_rows is not None else got

        return register_io_source(source, schema=real.collect_schema(), is_pure=True)

    judged: list[str] = []
    real_verdict = verdicts.verdict_of

    def counting_verdict(result, series, settled=None):
        judged.append(result.kpi.id)
        return real_verdict(result, series, settled)

    passes: list[tuple[str, tuple[str, ...]]] = []
    real_run = engine._Plan.run

    def counting_run(plan):
        passes.append((plan.dataset_id, tuple(plan.months)))
        return real_run(plan)

    monkeypatch.setattr(store, "scan", counting_scan)
    monkeypatch.setattr(engine._Plan, "run", counting_run)
    monkeypatch.setattr(verdicts, "verdict_of", counting_verdict)
    monkeypatch.setattr(engine, "_GROUPED", {})
    monkeypatch.setattr(engine, "_HELD", {})
    detail = opened.detail("positive_outcome_rate", "2025-09")
    assert detail.verdict.settled is not None  # tested without its provisional months
    assert detail.trend is not None and detail.verdict.chart is not None
    assert reads and {key: n for key, n in reads.items() if n > 1} == {}
    assert [dataset for dataset, _ in passes] == ["crimes"], passes
    assert judged == ["positive_outcome_rate"]
    # The same detail as read by the store's own reader.
    monkeypatch.undo()
    engine._GROUPED.clear()
    engine._HELD.clear()
    engine._DISTINCT.clear()
    engine._SPELLINGS_CHECKED.clear()
    again = opened.detail("positive_outcome_rate", "2025-09")
    assert repr(again) == repr(detail)
