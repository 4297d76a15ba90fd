"""``studio-cli batch JOBS``: many renders from one file (TOML, CSV or JSON lines), for scripts and farms.

Each job is what ``animate`` takes: ``source``, ``driving``, ``out`` and any animate option by its
flag name (``steps``, ``size``, ``preset``, ``no_audio``/``audio = false``, ...). Paths are
relative to the JOBS file and must stay inside its folder. Jobs whose output exists are skipped
and interrupted ones continue, so re-running a batch finishes it. ``--shard I/N`` takes every N-th
job from job I (0-based), e.g. ``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``. See
docs/cli.md for the file formats.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Cancelled, InputError, StudioError
from engine.textfiles import inside, parse_json
from studio.cli._common import HelpFormatter, Reporter, add_output_mode_options, cancel_on_signals, exit_codes_epilog
from studio.cli.animate_cmd import add_render_options, animate, plan_animation
from studio.cli.main import exit_code_for

VALUE_FIELDS = ("model", "beta", "steps", "cfg", "seed", "size", "device", "dtype", "sampler", "start", "end", "fps",
                "smooth", "preset", "work_dir")
FLAG_FIELDS = {"no_audio": "--no-audio", "no_align": "--no-align", "compile": "--compile"}  # true -> the flag
NEGATED_FIELDS = {"audio": "--no-audio", "align": "--no-align"}  # false -> the flag
PATH_FIELDS = ("source", "driving", "out", "work_dir")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


@dataclass
class JobResult:
    index: int
    output: str
    status: str = "not run"  # done | skipped | failed | not run | cancelled
    frames: int | None = None
    seconds: float | None = None
    message: str = ""
    exit_code: int = 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``batch``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "batch", help="render the jobs listed in a TOML, CSV or JSON-lines file",
        description="Render every job in JOBS (see docs/cli.md). Jobs whose output exists are skipped; "
                    "the exit code is that of the first failed job (0 when none failed).",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    parser.add_argument("jobs", type=Path, metavar="JOBS", help="a .toml ([[job]] tables), .csv (header row) or .jsonl file")
    parser.add_argument("--shard", metavar="I/N", help="run only jobs I, I+N, I+2N, ... (0-based), for job arrays")
    parser.add_argument("--keep-going", action="store_true", help="after a failed job, run the rest anyway")
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``batch`` and return the exit code."""
    shard = parse_shard(args.shard) if args.shard else (0, 1)
    path = Path(args.jobs).expanduser()
    jobs = read_jobs(path)
    selected = list(range(len(jobs)))[shard[0]::shard[1]]
    reporter = Reporter(args.json, args.quiet)
    requests = _checked_requests(jobs, selected, path, reporter)
    results = [JobResult(index, _output_of(jobs[index], requests[index])) for index in selected]
    reporter.emit("start", command="batch", jobs_file=str(path), jobs=len(jobs), selected=selected)
    reporter.info(f"{len(selected)} of {len(jobs)} jobs in {path.name}" + (f" (shard {args.shard})" if args.shard else ""))
    stop_early = not args.keep_going and any(isinstance(r, StudioError) for r in requests.values())
    model_cache: dict = {}
    cancelled = None
    with cancel_on_signals(reporter) as cancel:
        for result in results:
            request = requests[result.index]
            if isinstance(request, StudioError):
                _failed(result, request, reporter)
            elif cancelled is None and not stop_early:
                cancelled = _run_job(result, *request, reporter, cancel, model_cache)
                stop_early = result.status == "failed" and not args.keep_going
    _report_summary(results, reporter)
    if cancelled is not None:
        raise cancelled
    failed = [result for result in results if result.status == "failed"]
    return failed[0].exit_code if failed else 0


def _run_job(result: JobResult, request, plan, reporter: Reporter, cancel, model_cache: dict) -> Cancelled | None:
    """Render one checked job (or skip it when its output exists); returns the Cancelled that stopped it."""
    job_reporter = reporter.for_job(result.index)
    if plan is None:
        result.status, result.message = "skipped", "output exists"
        job_reporter.emit("job", status="skipped", output=result.output)
        return None
    job_reporter.emit("job", status="start", output=result.output)
    reporter.info(f"job {result.index}: {request.source} + {request.driving} -> {request.output}")
    started, cancelled = time.perf_counter(), None
    try:
        summary = animate(request, job_reporter, cancel, model_cache=model_cache, command="batch", plan=plan)
    except Cancelled as error:
        result.status, result.exit_code, cancelled = "cancelled", exit_code_for(error), error
    except StudioError as error:
        _failed(result, error, None)
    else:
        result.status, result.frames = "done", summary["frames"]
    result.seconds = time.perf_counter() - started
    job_reporter.emit("job", status=result.status, output=result.output, frames=result.frames,
                      seconds=round(result.seconds, 3), message=result.message or None, exit_code=result.exit_code)
    return cancelled


def _failed(result: JobResult, error: StudioError, reporter: Reporter | None) -> None:
    """Mark a job failed and say why (the same sentence ``animate`` gives, after "job N:")."""
    result.status, result.exit_code, result.message = "failed", exit_code_for(error), str(error)
    print(f"error: job {result.index}: {error}", file=sys.stderr, flush=True)
    if reporter is not None:
        reporter.for_job(result.index).emit("job", status="failed", output=result.output, message=result.message,
                                            exit_code=result.exit_code)


def _checked_requests(jobs: list, selected: list[int], path: Path, reporter: Reporter) -> dict:
    """Every selected job checked through the front door (inputs, options, outputs) before the
    first renders: a typo in job 37 should not wait for 36 renders. Each becomes (request, plan),
    with plan None for a finished job (its output exists), or the job's error."""
    requests: dict[int, Any] = {}
    outputs: dict[Path, int] = {}
    for index in selected:
        try:
            request = job_arguments(jobs[index], index, path.parent.absolute(), path.name)
            out = Path(request.output).expanduser().absolute()
            if out in outputs:
                raise InputError(f"its out {out} is also the out of job {outputs[out]}; give each job its own output")
            outputs[out] = index
            done = output_exists(out)
            requests[index] = (request, None if done else plan_animation(request, reporter.for_job(index)))
        except StudioError as error:
            requests[index] = error
    return requests


def _output_of(job: Any, request: Any) -> str:
    if isinstance(request, tuple):
        return str(request[0].output)
    return str(job.get("out", job.get("output", "?"))) if isinstance(job, dict) else "?"


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` -> (I, N) with 0 <= I < N."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise InputError(f"--shard must look like I/N, e.g. 0/4 (got {text!r})") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {text}: I must be from 0 to N-1 and N at least 1, e.g. 0/4 ... 3/4")
    return index, count


def read_jobs(path: Path) -> list[dict[str, Any]]:
    """The jobs of a .toml, .csv or .jsonl file, in file order."""
    if path.is_dir():
        raise InputError(f"{path} is a folder; JOBS must be a .toml, .csv or .jsonl file")
    if not path.is_file():
        raise InputError(f"jobs file not found: {path}; check the path")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{path.name} cannot be read as text ({exc}); save it as UTF-8") from None
    if suffix == ".toml":
        jobs = _toml_jobs(text, path.name)
    elif suffix == ".csv":
        jobs = _csv_jobs(text, path.name)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        jobs = _json_lines_jobs(text, path.name)
    else:
        raise InputError(f"{path.name}: JOBS must end in .toml, .csv or .jsonl")
    if not jobs:
        raise InputError(f"{path.name} lists no jobs; see docs/cli.md for the format")
    return jobs


def _toml_jobs(text: str, name: str) -> list[dict[str, Any]]:
    from engine.textfiles import parse_toml  # depth-capped: a hostile file gives one line, not a RecursionError

    data = parse_toml(text, origin=name, what="a jobs file", fix="fix the file")
    jobs = data.get("job", [])
    extra = sorted(set(data) - {"job"})
    if extra or not isinstance(jobs, list):
        raise InputError(f"{name}: put each job in a [[job]] table (found {extra[0] if extra else 'job'!r} at the top level)")
    return jobs


def _csv_jobs(text: str, name: str) -> list[dict[str, Any]]:
    rows = csv.DictReader(io.StringIO(text), strict=True)
    jobs = []
    try:
        if not rows.fieldnames:
            raise InputError(f"{name} is empty; its first row must name the columns (source,driving,out,...)")
        for row in rows:
            if None in row:
                raise InputError(f"{name} line {rows.line_num}: more cells than column names")
            job = {key.strip(): value.strip() for key, value in row.items() if value is not None and value.strip()}
            if job:
                jobs.append(job)
    except csv.Error as exc:
        raise InputError(f"{name} line {rows.line_num}: {_csv_problem(exc)}; close every quote (\") you open") from None
    return jobs


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    return "a quoted cell is never closed" if "end of data" in text or "quote" in text else text


def _json_lines_jobs(text: str, name: str) -> list[dict[str, Any]]:
    jobs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        job = parse_json(line, origin=f"{name} line {number}", what="a job", fix="write one job object per line")
        if not isinstance(job, dict):
            raise InputError(f"{name} line {number}: each line must be one JSON object like {{\"source\": ...}}")
        jobs.append(job)
    return jobs


class _JobParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message)


def job_arguments(job: dict[str, Any], index: int, base: Path, file_name: str) -> argparse.Namespace:
    """One job's fields as parsed ``animate`` arguments (checked like the command line would be)."""
    where = f"{file_name}, job {index}"
    if not isinstance(job, dict):
        raise InputError(f"{where}: a job must be a table of fields (source, driving, out, ...)")
    fields = {str(key).strip().replace("-", "_"): value for key, value in job.items()}
    if "output" in fields and "out" not in fields:
        fields["out"] = fields.pop("output")
    missing = [key for key in ("source", "driving", "out") if key not in fields]
    if missing:
        raise InputError(f"{where}: the field {missing[0]!r} is missing; every job needs source, driving and out")
    known = {"source", "driving", "out", *VALUE_FIELDS, *FLAG_FIELDS, *NEGATED_FIELDS}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r}; use source, driving, out or an animate option name")
    # A jobs file may come from elsewhere (a colleague, a generator script): it names files inside its
    # own folder only, so it can neither read nor overwrite anything outside it.
    for key in PATH_FIELDS:
        if key in fields:
            fields[key] = str(inside(base, str(fields[key]), what=f"{where}, field {key!r}"))
    for key in ("model", "preset"):
        value = str(fields.get(key, ""))
        if value.endswith(".toml") or "/" in value or "\\" in value:
            fields[key] = str(inside(base, value, what=f"{where}, field {key!r}"))
    argv = [str(fields["source"]), str(fields["driving"]), f"--output={fields['out']}"]
    for key in VALUE_FIELDS:
        if key in fields:
            value = fields[key]
            if isinstance(value, (list, dict)):
                raise InputError(f"{where}: {key} must be a single value (got {value!r})")
            argv.append(f"--{key.replace('_', '-')}={value}")
    for key, flag in FLAG_FIELDS.items():
        if key in fields and _boolean(fields[key], key, where):
            argv.append(flag)
    for key, flag in NEGATED_FIELDS.items():
        if key in fields and not _boolean(fields[key], key, where):
            argv.append(flag)
    parser = _JobParser(prog=where, add_help=False)
    add_render_options(parser)
    try:
        request = parser.parse_args(argv)
    except InputError as error:
        raise InputError(f"{where}: {error}") from None
    request.resume = True  # re-running a batch continues its interrupted jobs
    return request


def output_exists(out: Path) -> bool:
    """A finished output: a file, or a folder with something in it (PNG frames)."""
    return out.is_file() or (out.is_dir() and any(out.iterdir()))


def _boolean(value: Any, key: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"{where}: {key} must be true or false (got {value!r})")


def _report_summary(results: list[JobResult], reporter: Reporter) -> None:
    counts = {status: sum(r.status == status for r in results) for status in ("done", "skipped", "failed", "not run", "cancelled")}
    reporter.emit("summary", jobs=[
        {"index": r.index, "status": r.status, "output": r.output, "frames": r.frames,
         "seconds": None if r.seconds is None else round(r.seconds, 3), "message": r.message or None, "exit_code": r.exit_code}
        for r in results
    ], **{key.replace(" ", "_"): value for key, value in counts.items()})
    if reporter.json_mode:
        return
    rows = [("JOB", "STATUS", "FRAMES", "TIME", "OUTPUT / ERROR")]
    for r in results:
        rows.append((str(r.index), r.status, "-" if r.frames is None else str(r.frames),
                     "-" if r.seconds is None else f"{r.seconds:.1f}s",
                     r.output if r.status in ("done", "skipped") else (r.message or r.output)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    totals = ", ".join(f"{value} {key}" for key, value in counts.items() if value)
    print("\n".join(lines) + f"\n{totals}", flush=True)
