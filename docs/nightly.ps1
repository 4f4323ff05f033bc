# Nightly job on Windows: load last night's extracts, then write the month's summary as JSON.
# The PowerShell twin of nightly.sh: the same settings, the same kpi commands, the same exit
# codes and the same lines in the log. Written for Windows PowerShell 5.1 (every Windows 10
# and 11) and PowerShell 7. Not run on Windows by kpi's tests: they parse this script and run
# kpi as it runs it (docs/guide.md, "On Windows").
#
# Exits with kpi's own exit code, so Task Scheduler's "Last Run Result" says what happened:
#   0  loaded and summarised, nothing significantly deteriorating
#   1  summarised, and at least one KPI is significantly deteriorating (as the board paper
#      counts one: a change the wrong way within chance does not stop the job), or stale:
#      its data ends before the month the period asks for (an extract not loaded yet); the
#      JSON is still written
#   2  usage error (this script or its settings are wrong, or kpi.exe is not found)
#   3  data or configuration error (an extract missing or malformed, kpi.toml invalid):
#      nothing is summarised, and the store is left as it was before the failed load; also
#      when no dataset reaches the period (the default period is last month: last month's
#      extracts are not loaded yet): nothing is written, never older figures under the
#      period's name
#   4  the operating system refused a read or write (a read-only or full disk, permissions,
#      an output folder that cannot be made): the store is left as it was
#   5  a fault of kpi's own (its traceback in the log): a load it stopped is not committed
#
# Settings: parameters, else the environment variables nightly.sh reads.
#   -Project   KPI_PROJECT   the project folder holding kpi.toml (required)
#   -Datasets  KPI_DATASETS  datasets to load, separated by spaces; each reads the extract
#                            files its `sources` in kpi.toml name (default: crimes)
#   -Period    KPI_PERIOD    the month to report, YYYY-MM (default: last month)
#   -Out       KPI_OUT       folder for the JSON (default: out, in the working folder: Task
#                            Scheduler's is C:\Windows\System32, so name one the job may write)
#   -Kpi       KPI_EXE       the kpi program: kpi.exe in the Scripts folder of the virtual
#                            environment kpi is installed in (default: kpi, found on PATH)
#   -Log       KPI_LOG       a file the errors (one line each) are added to, UTF-8, as
#                            nightly.sh's `2>>nightly.log` (default: standard error, which
#                            Task Scheduler does not keep)
#
# Example, as Task Scheduler runs it (docs/guide.md gives the schtasks line):
#   powershell -NoProfile -ExecutionPolicy Bypass -File C:\kpi\docs\nightly.ps1
#       -Project "D:\KPI data\project" -Kpi C:\kpi\.venv\Scripts\kpi.exe
#       -Out "D:\KPI data\out" -Log "D:\KPI data\nightly.log"
param(
    [string]$Project = $env:KPI_PROJECT,
    [string]$Datasets = $(if ($env:KPI_DATASETS) { $env:KPI_DATASETS } else { 'crimes' }),
    [string]$Period = $env:KPI_PERIOD,
    [string]$Out = $(if ($env:KPI_OUT) { $env:KPI_OUT } else { 'out' }),
    [string]$Kpi = $(if ($env:KPI_EXE) { $env:KPI_EXE } else { 'kpi' }),
    [string]$Log = $env:KPI_LOG
)
Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'
$utf8 = New-Object System.Text.UTF8Encoding $false
# .NET opens a relative path from the process's folder, not PowerShell's: the log by its
# full path, and kpi started in the script's working folder (-Out, relative, is found there).
$here = (Get-Location).ProviderPath
if ($Log) { $Log = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Log) }

function Write-Lines([string[]]$Lines) {
    # To the log file (UTF-8, added to), or to standard error, one line each.
    if ($Log) {
        [System.IO.File]::AppendAllText($Log, (($Lines -join "`n") + "`n"), $utf8)
    } else {
        foreach ($line in $Lines) { [Console]::Error.WriteLine($line) }
    }
}

function Exit-Nightly([int]$Code, [string]$Message, [string]$Hint) {
    Write-Lines @("Error: $Message", "Hint: $Hint")
    exit $Code
}

function ConvertTo-Argument([string]$Text) {
    # One argument on a Windows command line: quoted when it holds a space or is empty, the
    # backslashes before the closing quote doubled. A path never holds a quote.
    if ($Text -and $Text -notmatch '\s') { return $Text }
    return '"' + ($Text -replace '(\\+)$', '$1$1') + '"'
}

function Invoke-Kpi([string[]]$Arguments) {
    # kpi with these arguments; its standard error (UTF-8, as kpi writes to a pipe) added to
    # the log as it is; returns its exit code.
    $start = New-Object System.Diagnostics.ProcessStartInfo
    $start.FileName = $program
    $start.Arguments = ($Arguments | ForEach-Object { ConvertTo-Argument $_ }) -join ' '
    $start.WorkingDirectory = $here
    $start.UseShellExecute = $false
    $start.RedirectStandardError = $true
    $start.StandardErrorEncoding = $utf8
    $process = [System.Diagnostics.Process]::Start($start)
    $errors = $process.StandardError.ReadToEnd()
    $process.WaitForExit()
    if ($errors) { Write-Lines ($errors.TrimEnd([char[]]"`r`n") -split "`r?`n") }
    return $process.ExitCode
}

if (-not $Project) {
    Exit-Nightly 2 'set KPI_PROJECT to the project folder' `
        'or pass -Project "D:\KPI data\project" to the script'
}
$env:KPI_PROJECT = $Project
$found = Get-Command $Kpi -CommandType Application -ErrorAction SilentlyContinue |
    Select-Object -First 1
if (-not $found) {
    if ($Kpi -eq 'kpi') {
        Exit-Nightly 2 "kpi is not on PATH ($env:PATH)" `
            'pass -Kpi with the kpi.exe in the Scripts folder of the environment kpi is installed in, as in -Kpi C:\kpi\.venv\Scripts\kpi.exe'
    }
    Exit-Nightly 2 "cannot find the kpi program $Kpi" `
        'pass -Kpi with the kpi.exe in the Scripts folder of the environment kpi is installed in, as in -Kpi C:\kpi\.venv\Scripts\kpi.exe'
}
$program = $found.Path
if (-not $Period) {
    # Invariant digits and calendar: the Gregorian year, whatever the account's region.
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    $Period = (Get-Date -Day 1).AddMonths(-1).ToString('yyyy-MM', $invariant)
}
try {
    New-Item -ItemType Directory -Force -Path $Out | Out-Null
} catch {
    Exit-Nightly 4 "cannot make the output folder $Out (working folder $here)" `
        'set KPI_OUT to a folder the job may write; nothing was loaded'
}

foreach ($dataset in ($Datasets -split '\s+' | Where-Object { $_ })) {
    $code = Invoke-Kpi @('--quiet', 'ingest', $dataset)
    if ($code -ne 0) { exit $code }
}

$summary = Join-Path $Out "summary-$Period.json"
exit (Invoke-Kpi @('summary', '--period', $Period, '--format', 'json',
                   '--fail-on', 'deteriorating', '--fail-on', 'stale', '--output', $summary))
