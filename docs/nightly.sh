#!/bin/sh
# Nightly job: load last night's extracts, then write the month's summary as JSON.
# On Windows, nightly.ps1 beside this script is the same job for Task Scheduler.
# Exits with kpi's own exit code, so cron (or any scheduler) fails loudly:
#   0  loaded and summarised, nothing significantly deteriorating
#   1  summarised, and at least one KPI is significantly deteriorating (as the board paper
#      counts one: a change the wrong way within chance does not stop the job), or stale:
#      its data ends before the month the period asks for (an extract not loaded yet); the
#      JSON is still written
#   2  usage error (this script or its settings are wrong, or `kpi` is not on PATH)
#   3  data or configuration error (an extract missing or malformed, kpi.toml invalid):
#      nothing is summarised, and the store is left as it was before the failed load; also
#      when no dataset reaches the period (the default period is last month: last month's
#      extracts are not loaded yet): nothing is written, never older figures under the
#      period's name
#   4  the operating system refused a read or write (a read-only or full disk, permissions,
#      an output folder that cannot be made): the store is left as it was
#   5  a fault of kpi's own (its traceback in the log): a load it stopped is not committed
#
# Settings, from the environment:
#   KPI_PROJECT   the project folder holding kpi.toml (required)
#   KPI_DATASETS  datasets to load, separated by spaces; each reads the extract files its
#                 `sources` in kpi.toml name (default: crimes)
#   KPI_PERIOD    the month to report, YYYY-MM (default: last month)
#   KPI_OUT       folder for the JSON (default: out, in the working folder: cron's is the
#                 account's home folder, so name one the job may write)
#   PATH          must find `kpi`: cron's own PATH is /usr/bin:/bin, so name the bin folder of
#                 the virtual environment kpi is installed in (here /srv/kpi/.venv/bin)
#
# Example crontab line: every day at 06:15, logging stderr (errors, one line each).
#   15 6 * * *  PATH=/srv/kpi/.venv/bin:/usr/bin:/bin KPI_PROJECT=/srv/kpi/project /srv/kpi/docs/nightly.sh 2>>/srv/kpi/nightly.log
set -u

if [ -z "${KPI_PROJECT:-}" ]; then
    # An explicit check: ${KPI_PROJECT:?} exits 2 in dash but 1 in bash.
    echo "Error: set KPI_PROJECT to the project folder holding kpi.toml; nothing was loaded" >&2
    exit 2
fi
export KPI_PROJECT
if ! command -v kpi >/dev/null 2>&1; then
    echo "Error: kpi is not on PATH ($PATH)" >&2
    echo "Hint: put the bin folder of the environment kpi is installed in first, as in PATH=/srv/kpi/.venv/bin:/usr/bin:/bin before the script in the crontab line" >&2
    exit 2
fi
datasets="${KPI_DATASETS:-crimes}"
# GNU date; on macOS use: date -v-1m +%Y-%m
period="${KPI_PERIOD:-$(date -d "$(date +%Y-%m-01) -1 month" +%Y-%m)}"
out="${KPI_OUT:-out}"
if ! mkdir -p "$out" 2>/dev/null; then
    echo "Error: cannot make the output folder $out (working folder $(pwd))" >&2
    echo "Hint: set KPI_OUT to a folder the job may write; nothing was loaded" >&2
    exit 4
fi

for dataset in $datasets; do
    kpi --quiet ingest "$dataset" || exit $?
done

kpi summary --period "$period" --format json --fail-on deteriorating --fail-on stale \
    --output "$out/summary-$period.json"
