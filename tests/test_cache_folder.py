"""kpi's cache folder where a scheduled job runs: a service account whose home folder does not
exist or cannot be written, or no home folder at all. A project of one's own still answers;
what needs the cache folder (the bundled sample's store, an export's lock) says so in one
line with KPI_CACHE_DIR as the way out, and nothing is made in the working folder."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"

pytestmark = pytest.mark.skipif(sys.platform == "win32",
                                reason="Windows keeps the cache under %LOCALAPPDATA%")


@pytest.fixture
def project(tmp_path, cli):
    folder = tmp_path / "force"
    shutil.copytree(MINI, folder, ignore=shutil.ignore_patterns("data"))
    result = cli(["--project", folder, "ingest", "crimes"])
    assert result.exit_code == 0, result.output
    return folder


def _no_cache_setting(monkeypatch):
    for name in ("KPI_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_a_home_folder_that_cannot_be_written(project, tmp_path, monkeypatch, cli):
    _no_cache_setting(monkeypatch)
    blocked = tmp_path / "home is a file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("HOME", str(blocked / "analyst"))
    result = cli(["--project", project, "summary", "--period", "2025-09", "--format", "csv"])
    assert result.exit_code == 0, result.output
    for args in (["--project", project, "export", "markdown", "--period", "2025-09",
                  "--output", tmp_path / "board.md"],
                 ["--project", "sample", "summary", "--period", "2025-09"]):
        result = cli(args)
        assert result.exit_code == 4, result.output
        error, hint = result.stderr.splitlines()
        assert error.startswith(f"Error: {blocked}") and "kpi's cache folder cannot be made" in \
            error
        assert hint.startswith("Hint: set KPI_CACHE_DIR to a folder kpi may write")
    assert not (tmp_path / "board.md").exists()


def test_no_home_folder_at_all(project, tmp_path, monkeypatch, cli):
    import pwd

    _no_cache_setting(monkeypatch)
    monkeypatch.delenv("HOME", raising=False)

    def unknown(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", unknown)
    work = tmp_path / "cron"
    work.mkdir()
    monkeypatch.chdir(work)
    result = cli(["--project", project, "summary", "--period", "2025-09", "--format", "csv"])
    assert result.exit_code == 0, result.output
    for args, code in ((["--project", project, "export", "markdown", "--period", "2025-09",
                         "--output", work / "board.md"], 3),
                       (["--project", "sample", "summary", "--period", "2025-09"], 3)):
        result = cli(args)
        assert result.exit_code == code, result.output
        error, hint = result.stderr.splitlines()
        assert error == "Error: kpi's cache folder is unknown: the home folder is not set, " \
                        "and the user has none"
        assert hint.startswith("Hint: set KPI_CACHE_DIR")
    # Nothing named '~' (the home folder platformdirs could not expand) in the working folder.
    assert sorted(p.name for p in work.iterdir()) == []


@pytest.mark.parametrize("refusal", ["read-only", "a folder in the way"])
def test_a_cache_folder_that_holds_no_lock_file_names_kpi_cache_dir(project, tmp_path,
                                                                     monkeypatch, cli,
                                                                     refusal):
    """A home folder mounted read-only after kpi made its cache folder there: the folder is
    found, but the export's lock file cannot be made in it. The hint names KPI_CACHE_DIR (the
    folder is kpi's choice), not 'choose a writable folder' or 'name a file'."""
    import errno
    import hashlib

    import kpi.locks

    cache = tmp_path / "cache"
    monkeypatch.setenv("KPI_CACHE_DIR", str(cache))
    out = tmp_path / "out"
    out.mkdir()
    key = hashlib.sha256(str(out.resolve()).encode("utf-8")).hexdigest()[:32]
    lock = cache / "locks" / f"{key}.lock"
    if refusal == "read-only":
        class ReadOnly:
            def __init__(self, *args, **kwargs):
                pass

            def acquire(self, timeout=None):
                raise OSError(errno.EROFS, "Read-only file system", str(lock))

        monkeypatch.setattr(kpi.locks, "_lock", ReadOnly)
        reason = "the file system is read-only"
    else:
        lock.mkdir(parents=True)
        reason = "is a folder, where a file was expected"
    result = cli(["--project", project, "export", "markdown", "--period", "2025-09",
                  "--output", out / "board.md"])
    assert result.exit_code == 4, result.output
    assert result.stderr.splitlines() == [
        f"Error: {lock}: {reason}",
        "Hint: set KPI_CACHE_DIR to a folder kpi may write: it keeps the bundled sample's "
        "store and its locks there"]
    assert sorted(p.name for p in out.iterdir()) == []
