# Install TalkingPose Studio for this user: finds a Python 3.11 and runs installers\install.py.
# Arguments are passed on (see installers\README.md), e.g.
#   powershell -ExecutionPolicy Bypass -File installers\windows\install.ps1 --dry-run
# install.py creates the Start-menu shortcut itself (through WScript.Shell).
$ErrorActionPreference = "Stop"
$installer = Join-Path (Split-Path -Parent $PSScriptRoot) "install.py"

function Test-Python311([string[]]$command) {
    try {
        $exe, $rest = $command
        & $exe @rest -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))" 2>$null | Out-Null
        return $LASTEXITCODE -eq 0
    } catch {
        return $false
    }
}

$candidates = @()
if ($env:TALKINGPOSE_PYTHON) { $candidates += ,@($env:TALKINGPOSE_PYTHON) }
$candidates += ,@("py", "-3.11")
$candidates += ,@("python3.11")
$candidates += ,@("python")
foreach ($candidate in $candidates) {
    if (Test-Python311 $candidate) {
        $exe, $rest = $candidate
        & $exe @rest $installer @args
        exit $LASTEXITCODE
    }
}
Write-Error "install.ps1: TalkingPose Studio needs Python 3.11, and none was found; install it from python.org (tick 'py launcher') or with 'winget install Python.Python.3.11', then run this again." -ErrorAction Continue
exit 1
