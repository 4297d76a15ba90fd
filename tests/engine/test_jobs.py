"""Render jobs on disk: a SIGKILL at any frame, then resume, gives the frames of an uninterrupted run.

Renders run in child processes (tiny random components, 32x32, 2 steps, CPU) so that they can
really be killed; the test process only watches the frames folder, kills, and compares pixels.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.config import RenderSettings
from engine.errors import InputError, OutputError
from engine.events import FrameReady
from engine.jobs import JOB_FILE, TINY_MODEL, RenderJob
from engine.pose.keypoints import PoseSequence
from engine.video import FrameStore, export_frames, load_preset

REPO = Path(__file__).resolve().parents[2]
FRAMES = 8
SETTINGS = RenderSettings(steps=2, width=32, height=32, device="cpu", dtype="fp32", seed=7)
KILL_SEED = 20261128  # fixes which frame counts trigger the kills; the moment within a frame stays random
PAUSE_AFTER_FRAME = 0.15  # s; the child waits after each frame so a kill can land before the run ends
CHILD_TIMEOUT = 40  # s; a child that runs longer than this is stuck

# A render process: open each work dir given and run it to the end, printing the job's messages.
RUN_JOBS = """
import time
from engine.events import FrameReady, Message
from engine.jobs import RenderJob


def run_jobs(pause, work_dirs):
    for work_dir in work_dirs:
        for event in RenderJob.open(work_dir).run():
            if isinstance(event, Message):
                print(work_dir, event.text, flush=True)
            if isinstance(event, FrameReady) and pause:
                time.sleep(pause)
"""
# Starting Python with torch and diffusers costs seconds of CPU, and the test needs several render
# processes; so one process imports the engine once and forks a fresh render process per request
# ("start PAUSE DIR..." -> "pid N"; "wait N" -> "status N CODE"). It never runs torch itself, so
# its children fork from a clean state. The final resume still runs in a brand-new interpreter.
FORK_SERVER = RUN_JOBS + """
import os, sys, traceback
import engine.pipeline, engine.models.components  # noqa: F401  (the slow imports, done once)

for line in sys.stdin:
    command, *args = line.split()
    if command == "start":
        pid = os.fork()
        if pid == 0:
            sys.stdout = sys.stderr  # this pipe carries the server's replies only
            code = 0
            try:
                run_jobs(float(args[0]), args[1:])
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        print("pid", pid, flush=True)
    elif command == "wait":
        _, status = os.waitpid(int(args[0]), 0)
        print("status", args[0], os.waitstatus_to_exitcode(status), flush=True)
"""
RESUME = RUN_JOBS + """
import sys
run_jobs(0.0, sys.argv[1:])
"""


class ForkServer:
    """Render processes on demand, forked from one process that has the engine imported."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER], cwd=REPO, env=_child_env(), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )

    def _ask(self, line: str) -> list[str]:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline().split()
        assert reply, "the fork server died; see the captured stderr"
        return reply

    def start(self, work_dirs: list[Path], pause: float) -> int:
        return int(self._ask(f"start {pause} " + " ".join(map(str, work_dirs)))[1])

    def wait(self, pid: int) -> int:
        return int(self._ask(f"wait {pid}")[2])

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=CHILD_TIMEOUT)


def _child_env() -> dict[str, str]:
    # 2 shared cores: one thread per render process avoids oversubscription (and is the same everywhere).
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    """A random source PNG and a synthetic .npz driving of FRAMES frames of random body points."""
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(3)
    source = folder / "source.png"
    cv2.imwrite(str(source), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    body = np.concatenate([rng.uniform(0.2, 0.8, (FRAMES, 18, 2)), np.ones((FRAMES, 18, 1))], axis=-1)
    driving = folder / "driving.npz"
    PoseSequence(body, np.zeros((FRAMES, 2, 21, 3)), np.zeros((FRAMES, 68, 3)), 25.0, 64, 64).save(driving)
    return source, driving


def _create(work_dir: Path, inputs) -> RenderJob:
    source, driving = inputs
    return RenderJob.create(work_dir, source, driving, SETTINGS, model=TINY_MODEL, align=False)


def _resume_in_a_new_interpreter(work_dirs: list[Path]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", RESUME, *map(str, work_dirs)], cwd=REPO, env=_child_env(),
        capture_output=True, text=True, timeout=CHILD_TIMEOUT,
    )
    assert done.returncode == 0, f"the resume failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _frame_names(work_dir: Path) -> list[str]:
    folder = work_dir / "frames"
    return sorted(name for name in os.listdir(folder) if name.endswith((".png", ".webp"))) if folder.is_dir() else []


def _decoded(path: Path) -> np.ndarray:
    """A frame file as pixels; fails the test if the PNG or WebP is torn (truncated or half-written)."""
    data = path.read_bytes()
    if path.suffix == ".webp":  # RIFF: bytes 4..8 hold the size of everything after them
        assert int.from_bytes(data[4:8], "little") == len(data) - 8, f"{path.name} is not a complete WebP"
    else:
        assert data.endswith(b"IEND\xaeB`\x82"), f"{path.name} is not a complete PNG ({len(data)} bytes)"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (32, 32, 3), f"{path.name} does not decode"
    return image


def test_sigkill_at_random_frames_then_resume_is_bit_identical(tmp_path, inputs):
    choices = random.Random(KILL_SEED).sample(range(1, FRAMES - 1), 3)
    reference_dir = tmp_path / "reference"
    _create(reference_dir, inputs)
    killed_dirs = [tmp_path / f"killed_after_{count}" for count in choices]
    for work_dir in killed_dirs:
        _create(work_dir, inputs)

    # 1. the uninterrupted run and three runs to kill, side by side
    server = ForkServer()
    try:
        reference = server.start([reference_dir], pause=0)
        victims = {work_dir: server.start([work_dir], PAUSE_AFTER_FRAME) for work_dir in killed_dirs}
        thresholds = dict(zip(killed_dirs, choices))
        kill_at: dict[Path, float] = {}
        seen: dict[Path, set[str]] = {work_dir: set() for work_dir in killed_dirs}
        deadline = time.monotonic() + CHILD_TIMEOUT
        while victims and time.monotonic() < deadline:
            for work_dir, pid in list(victims.items()):
                names = _frame_names(work_dir)
                for name in set(names) - seen[work_dir]:  # (b) a frame is complete the moment it appears
                    _decoded(work_dir / "frames" / name)
                    seen[work_dir].add(name)
                if len(names) >= thresholds[work_dir] and work_dir not in kill_at:
                    kill_at[work_dir] = time.monotonic() + random.uniform(0, PAUSE_AFTER_FRAME + 0.1)
                if work_dir in kill_at and time.monotonic() >= kill_at[work_dir]:
                    os.kill(pid, signal.SIGKILL)
                    assert server.wait(pid) == -signal.SIGKILL
                    del victims[work_dir]
            time.sleep(0.005)
        for pid in victims.values():  # stuck: stop them before failing
            os.kill(pid, signal.SIGKILL)
        assert not victims, "a render to kill never reached its frame"
        assert server.wait(reference) == 0, "the uninterrupted render failed"
    finally:
        server.close()

    # 2. what a kill leaves: only complete frames, fewer than all of them
    expected = {name: _decoded(reference_dir / "frames" / name) for name in _frame_names(reference_dir)}
    assert len(expected) == FRAMES
    kept_inodes = {}
    for work_dir in killed_dirs:
        names = _frame_names(work_dir)
        assert thresholds[work_dir] <= len(names) < FRAMES, f"{work_dir.name}: killed too late ({len(names)} frames)"
        assert FrameStore(work_dir).indices() == list(range(len(names)))  # leftover temporaries never count
        for name in names:
            assert np.array_equal(_decoded(work_dir / "frames" / name), expected[name]), f"{work_dir.name}/{name}"
        kept_inodes[work_dir] = {name: (work_dir / "frames" / name).stat().st_ino for name in names}

    # 3. resume all three in another process: it continues (frames on disk untouched) and matches exactly
    out = _resume_in_a_new_interpreter(killed_dirs)
    for work_dir in killed_dirs:
        assert f"{work_dir} resuming after frame {len(kept_inodes[work_dir])}" in out
        assert _frame_names(work_dir) == sorted(expected)
        for name, inode in kept_inodes[work_dir].items():
            assert (work_dir / "frames" / name).stat().st_ino == inode, f"{work_dir.name}/{name} was rendered again"
        for name, pixels in expected.items():
            assert np.array_equal(_decoded(work_dir / "frames" / name), pixels), f"{work_dir.name}/{name} differs"


def test_resume_refuses_changed_inputs(tmp_path, inputs):
    source, driving = tmp_path / "source.png", tmp_path / "driving.npz"
    source.write_bytes(inputs[0].read_bytes())
    driving.write_bytes(inputs[1].read_bytes())
    _create(tmp_path / "work", (source, driving))

    cv2.imwrite(str(source), np.full((64, 64, 3), 128, np.uint8))  # the user edited the picture
    with pytest.raises(InputError, match=r"^the source file .*source\.png changed since this job started; start a new"):
        next(RenderJob.open(tmp_path / "work").run())
    assert _frame_names(tmp_path / "work") == []

    source.write_bytes(inputs[0].read_bytes())
    with np.load(inputs[1]) as data:
        arrays = dict(data)
    arrays["body"] = arrays["body"][::-1].copy()  # same size, other motion
    np.savez_compressed(driving, **arrays)
    with pytest.raises(InputError, match=r"the driving file .*driving\.npz changed since this job started"):
        next(RenderJob.open(tmp_path / "work").run())

    np.savez_compressed(driving, **dict(np.load(inputs[1])))
    driving.write_bytes(inputs[1].read_bytes())
    job = RenderJob.open(tmp_path / "work")
    next(event for event in job.run() if isinstance(event, FrameReady))
    job.release()
    with pytest.raises(InputError, match=r"its \d+ frames were made with a different seed \(7 then, 8 now\)"):
        RenderJob.create(tmp_path / "work", source, driving, SETTINGS.replace(seed=8), model=TINY_MODEL, align=False)


@pytest.mark.parametrize(
    "damage",
    [b"{\"format_version\": 1, \"spec\": {\"sour", b"", b"\xff\xfe\x00 not text", b"[]", b"{\"format_version\": \"one\"}"],
    ids=["truncated", "empty", "binary", "not-an-object", "bad-version"],
)
def test_a_corrupted_job_file_is_one_clear_error_and_its_frames_still_export(tmp_path, inputs, damage):
    work_dir = tmp_path / "work"
    _create(work_dir, inputs)
    store = FrameStore(work_dir, durable=False)
    rendered = [np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(3)]
    for index, image in enumerate(rendered):
        store.write(index, image)
    (work_dir / JOB_FILE).write_bytes(damage)

    with pytest.raises(InputError) as caught:
        RenderJob.open(work_dir)
    message = str(caught.value)
    assert str(work_dir / JOB_FILE) in message and "damaged" in message and "\n" not in message
    assert _frame_names(work_dir) == ["000000.webp", "000001.webp", "000002.webp"]

    result = export_frames(FrameStore(work_dir), tmp_path / "rescued.mkv", load_preset("lossless"), 25)
    assert result.frames == 3
    import av

    with av.open(str(tmp_path / "rescued.mkv")) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == 3 and all(np.array_equal(a, b) for a, b in zip(decoded, rendered))


def test_a_job_from_a_newer_version_is_refused_clearly(tmp_path, inputs):
    work_dir = tmp_path / "work"
    _create(work_dir, inputs)
    record = json.loads((work_dir / JOB_FILE).read_text())
    record["format_version"] = 99
    (work_dir / JOB_FILE).write_text(json.dumps(record))
    with pytest.raises(InputError, match=r"written by a newer TalkingPose Studio \(job format 99\); update the studio"):
        RenderJob.open(work_dir)


@pytest.mark.parametrize("fingerprints", ["missing", None])
def test_a_job_file_without_fingerprints_is_a_clear_error(tmp_path, inputs, fingerprints):
    work_dir = tmp_path / "work"
    _create(work_dir, inputs)
    record = json.loads((work_dir / JOB_FILE).read_text())
    if fingerprints == "missing":
        del record["fingerprints"]
    else:
        record["fingerprints"] = fingerprints
    (work_dir / JOB_FILE).write_text(json.dumps(record))
    with pytest.raises(InputError, match="damaged"):
        next(RenderJob.open(work_dir).run())


def test_an_unwritable_work_dir_is_an_output_error(tmp_path, inputs):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="choose a writable work folder") as caught:
        _create(blocker / "work", inputs)
    assert "\n" not in str(caught.value)
    if os.geteuid() != 0:  # root may write anywhere, so a read-only folder only stops other users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputError, match="choose a writable work folder"):
            _create(locked / "work", inputs)
