"""200 generated malformed files (images, videos, npz, JSON, TOML, CSV) through the input checks.

Each must be refused with one line and the documented exit code (2 input, 3 model): never a
traceback, never accepted. The files come from a seeded generator, so a failure names a case that
reproduces. All 200 go through the engine's checks in-process; one of each kind also goes through
``studio-cli`` (in-process) to check the single ``error:`` line end to end.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from engine.errors import StudioError
from tests.synthetic_media import colour_blocks, write_lossless_video

SEED = 15
Case = tuple[str, str, Callable[[np.random.Generator, Path], bytes | None]]  # kind, file name, maker


# -- helpers --------------------------------------------------------------------------------------
def _png(width: int, height: int, idat: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat or zlib.compress(b"\0" * 8)) + chunk(b"IEND", b"")


def _real_png(side: int) -> bytes:
    import cv2

    return cv2.imencode(".png", np.full((side, side, 3), 90, np.uint8))[1].tobytes()


def _noise(rng: np.random.Generator, low: int = 1, high: int = 4096) -> bytes:
    return rng.integers(0, 256, int(rng.integers(low, high)), dtype=np.uint8).tobytes()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _pose_arrays(frames: int = 2, fps: float = 25.0) -> dict:
    body = np.zeros((frames, 18, 3), np.float32)
    body[..., 2] = 1.0
    return dict(body=body, hands=np.zeros((frames, 2, 21, 3), np.float32), face=np.zeros((frames, 68, 3), np.float32),
                fps=np.float64(fps), width=np.int64(64), height=np.int64(64))


def _model_json(**changes) -> bytes:
    data = {"format_version": 1, "name": "m", "architecture": "x", "resolution": [32, 32], "defaults": {},
            "dtype": "fp32", "files": {"vae/config.json": "0" * 64}}
    data.update(changes)
    return json.dumps(data).encode()


_PRESET = ('name = "P"\ncontainer = "mp4"\nextension = ".mp4"\n[container_options]\nmovflags = "+faststart"\n'
           '[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\noptions = { crf = "20", preset = "fast" }\n')


def _preset(old: str, new: str) -> bytes:
    assert old in _PRESET
    return _PRESET.replace(old, new).encode()


# -- the cases -------------------------------------------------------------------------------------
def _image_cases() -> list[Case]:
    cases: list[Case] = [
        ("image", "empty.png", lambda rng, d: b""),
        ("image", "text.png", lambda rng, d: b"this is not an image\n" * 3),
        ("image", "tiny.png", lambda rng, d: _real_png(8)),  # below the smallest usable source
        ("image", "zero.png", lambda rng, d: _png(0, 0)),
        ("image", "folder.png", lambda rng, d: None),  # None: make a folder of that name
    ]
    for i in range(12):
        cases.append(("image", f"noise{i}.{('png', 'jpg', 'webp')[i % 3]}", lambda rng, d: _noise(rng)))
    for i in range(10):
        cases.append(("image", f"bomb{i}.png", lambda rng, d: _png(int(rng.integers(7_072, 2**31 - 1)), int(rng.integers(7_072, 2**31 - 1)))))
    for i in range(8):
        cases.append(("image", f"cut{i}.png", lambda rng, d: _real_png(96)[: int(rng.integers(1, 60))]))
    for i in range(5):
        cases.append(("image", f"badsig{i}.png", lambda rng, d: b"\x89PNG\r\n\x1a\n" + _noise(rng, 1, 200)))
    return cases  # 40


def _video_cases(good_video: bytes) -> list[Case]:
    cases: list[Case] = [
        ("video", "empty.mp4", lambda rng, d: b""),
        ("video", "text.mp4", lambda rng, d: b"hello\n" * 100),
        ("video", "script.mp4", lambda rng, d: b"#!/bin/sh\nrm -rf /\n"),
        ("video", "folder.mp4", lambda rng, d: None),
        ("video", "still.png", lambda rng, d: _real_png(96)),  # a still image as DRIVING
    ]
    for i in range(10):
        cases.append(("video", f"noise{i}.{('mp4', 'mov', 'mkv', 'webm', 'avi')[i % 5]}", lambda rng, d: _noise(rng, 16, 20_000)))
    for i in range(10):
        cases.append(("video", f"cut{i}.mkv", lambda rng, d: good_video[: int(rng.integers(1, 120))]))
    for i in range(5):
        cases.append(("video", f"ebml{i}.mkv", lambda rng, d: b"\x1a\x45\xdf\xa3" + _noise(rng, 1, 500)))
    for i in range(5):
        cases.append(("video", f"ftyp{i}.mp4", lambda rng, d: b"\0\0\0\x18ftypmp42" + _noise(rng, 1, 500)))
    return cases  # 35


def _npz_cases() -> list[Case]:
    arrays = _pose_arrays
    cases: list[Case] = [
        ("npz", "empty.npz", lambda rng, d: b""),
        ("npz", "text.npz", lambda rng, d: b"body,hands\n1,2\n"),
        ("npz", "nokeys.npz", lambda rng, d: _npz(x=np.zeros(3))),
        ("npz", "nobody.npz", lambda rng, d: _npz(**{k: v for k, v in arrays().items() if k != "body"})),
        ("npz", "fps0.npz", lambda rng, d: _npz(**arrays(fps=0.0))),
        ("npz", "fpsnan.npz", lambda rng, d: _npz(**arrays(fps=float("nan")))),
        ("npz", "fpsneg.npz", lambda rng, d: _npz(**arrays(fps=-25.0))),
        ("npz", "fpsinf.npz", lambda rng, d: _npz(**arrays(fps=float("inf")))),
        ("npz", "noframes.npz", lambda rng, d: _npz(**arrays(frames=0))),
        ("npz", "nobodythere.npz", lambda rng, d: _npz(**{**arrays(), "body": np.zeros((2, 18, 3), np.float32)})),
        ("npz", "allnan.npz", lambda rng, d: _npz(**{**arrays(), "body": np.full((2, 18, 3), np.nan, np.float32)})),
        ("npz", "pickled.npz", lambda rng, d: _npz(**{**arrays(), "body": np.array([{"a": 1}], dtype=object)})),
        ("npz", "strfps.npz", lambda rng, d: _npz(**{**arrays(), "fps": np.array("fast")})),
        ("npz", "folder.npz", lambda rng, d: None),
        ("npz", "deepmeta.npz", lambda rng, d: _npz(**arrays(), meta=np.array("[" * 5000 + "]" * 5000))),
    ]
    for i in range(8):
        cases.append(("npz", f"noise{i}.npz", lambda rng, d: _noise(rng)))
    for i in range(7):
        def wrong_shape(rng, d):
            bad = arrays()
            key = ("body", "hands", "face")[int(rng.integers(0, 3))]
            bad[key] = np.zeros(tuple(int(n) for n in rng.integers(1, 5, int(rng.integers(1, 4)))), np.float32)
            return _npz(**bad)
        cases.append(("npz", f"shape{i}.npz", wrong_shape))
    for i in range(5):
        def bad_zip(rng, d):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("body.npy", _noise(rng, 1, 300))
            return buffer.getvalue()
        cases.append(("npz", f"zip{i}.npz", bad_zip))
    return cases  # 35


def _json_cases() -> list[Case]:
    cases: list[Case] = [
        ("json", "model.json", lambda rng, d: b""),
        ("json", "model.json", lambda rng, d: b"[]"),
        ("json", "model.json", lambda rng, d: b"\xff\xfe\x00{"),
        ("json", "model.json", lambda rng, d: b"{" * 200_000),
        ("json", "model.json", lambda rng, d: b"[" * 200_000 + b"]" * 200_000),
        ("json", "model.json", lambda rng, d: b" " * (4 * 1024 * 1024 + 1)),
        ("json", "model.json", lambda rng, d: _model_json(resolution=[0, 0])),
        ("json", "model.json", lambda rng, d: _model_json(resolution="big")),
        ("json", "model.json", lambda rng, d: _model_json(defaults={"steps": "many"})),
        ("json", "model.json", lambda rng, d: _model_json(defaults={"cfg": 1e999})),
        ("json", "model.json", lambda rng, d: _model_json(files=[1, 2])),
        ("json", "model.json", lambda rng, d: _model_json(files={"../../etc/passwd": "0" * 64})),
        ("json", "model.json", lambda rng, d: _model_json(files={"/etc/passwd": "0" * 64})),
        ("json", "model.json", lambda rng, d: _model_json(files={"vae/\u0000x": "0" * 64})),
        ("json", "model.json", lambda rng, d: _model_json(files={"vae/config.json": 5})),
        ("json", "model.json", lambda rng, d: _model_json(format_version=99)),
        ("json", "model.json", lambda rng, d: _model_json(format_version="one")),
        ("json", "model.json", lambda rng, d: _model_json(dtype="fp8")),
    ]
    for i in range(7):
        cases.append(("json", "model.json", lambda rng, d: _noise(rng)))
    for i in range(5):
        cases.append(("json", "model.json", lambda rng, d: _model_json()[: int(rng.integers(1, 100))]))
    for i in range(5):
        depth = 65 + 1000 * i
        cases.append(("json", "model.json", lambda rng, d, depth=depth: b'{"files": ' + b"[" * depth + b"]" * depth + b"}"))
    return cases  # 35


def _toml_cases() -> list[Case]:
    cases: list[Case] = [
        ("toml", "p.toml", lambda rng, d: b""),
        ("toml", "p.toml", lambda rng, d: b"\xff\xfe = 1"),
        ("toml", "p.toml", lambda rng, d: b"x = " + b"[" * 20_000 + b"]" * 20_000),
        ("toml", "p.toml", lambda rng, d: b"a" + b".a" * 20_000 + b" = 1"),
        ("toml", "p.toml", lambda rng, d: b"# " + b"x" * 70_000),
        ("toml", "p.toml", lambda rng, d: _preset('container = "mp4"', 'container = "avi"')),
        ("toml", "p.toml", lambda rng, d: _preset('container = "mp4"', "")),
        ("toml", "p.toml", lambda rng, d: _preset('extension = ".mp4"', 'extension = "/x.mp4"')),
        ("toml", "p.toml", lambda rng, d: _preset('extension = ".mp4"', 'extension = "..\\\\x.mp4"')),
        ("toml", "p.toml", lambda rng, d: _preset('extension = ".mp4"', "extension = 4")),
        ("toml", "p.toml", lambda rng, d: _preset('crf = "20"', 'crf = "-5"')),
        ("toml", "p.toml", lambda rng, d: _preset('crf = "20"', 'crf = "abc"')),
        ("toml", "p.toml", lambda rng, d: _preset('crf = "20"', "crf = 20")),
        ("toml", "p.toml", lambda rng, d: _preset('preset = "fast"', 'preset = "warp"')),
        ("toml", "p.toml", lambda rng, d: _preset('movflags = "+faststart"', 'movflags = "+nope"')),
        ("toml", "p.toml", lambda rng, d: _preset('movflags = "+faststart"', 'bogus_mux = "1"')),
        ("toml", "p.toml", lambda rng, d: _preset('codec = "libx264"', 'codec = "nope264"')),
        ("toml", "p.toml", lambda rng, d: _preset('codec = "libx264"', 'codec = "aac"')),
        ("toml", "p.toml", lambda rng, d: _preset('pix_fmt = "yuv420p"', 'pix_fmt = "rgb48"')),
        ("toml", "p.toml", lambda rng, d: _preset('name = "P"', 'name = "a\\u0007b"')),
    ]
    for i in range(5):
        cases.append(("toml", "p.toml", lambda rng, d: _noise(rng, 1, 300)))
    for i in range(5):
        cases.append(("toml", "p.toml", lambda rng, d: _PRESET.encode()[: int(rng.integers(1, 60))]))
    return cases  # 30


def _csv_cases() -> list[Case]:
    cases: list[Case] = [
        ("csv", "jobs.csv", lambda rng, d: b""),
        ("csv", "jobs.csv", lambda rng, d: b"source,driving,out\n"),
        ("csv", "jobs.csv", lambda rng, d: b"source,driving,out\n\n\n"),
        ("csv", "jobs.csv", lambda rng, d: b"\xff\xfesource,driving\n"),
        ("csv", "jobs.csv", lambda rng, d: b'source,driving,out\n"a.png,b.mp4,c.mp4\n'),
        ("csv", "folder.csv", lambda rng, d: None),
    ]
    for i in range(10):
        cases.append(("csv", "jobs.csv", lambda rng, d, i=i: b"source,driving,out\n" + b"a,b,c," + b"x," * (i + 1) + b"\n"))
    for i in range(9):
        cases.append(("csv", "jobs.csv", lambda rng, d, i=i: b'source,driving,out\n' + b'a,"' + _noise(rng, 1, 50).replace(b'"', b"") .replace(b"\0", b"").decode("latin-1").encode() + b"\n"))
    return cases  # 25


# -- running them ----------------------------------------------------------------------------------
EXPECTED_EXIT = {"image": 2, "video": 2, "npz": 2, "json": 3, "toml": 2, "csv": 2}


def _check(kind: str, path: Path) -> None:
    if kind == "image":
        from engine.inputs import inspect_source

        inspect_source(path)
    elif kind in ("video", "npz"):
        from engine.inputs import inspect_driving

        inspect_driving(path)
    elif kind == "json":
        from engine.weights.modelfolder import read_model_info

        read_model_info(path.parent)
    elif kind == "toml":
        from engine.video.presets import load_preset_file

        load_preset_file(path)
    else:
        from studio.cli.batch_cmd import read_jobs

        read_jobs(path)


@pytest.fixture(scope="module")
def good_video(tmp_path_factory) -> bytes:
    path = write_lossless_video(tmp_path_factory.mktemp("good") / "drive.mkv", [colour_blocks(i) for i in range(3)])
    return path.read_bytes()


@pytest.fixture(scope="module")
def cases(good_video) -> list[Case]:
    everything = _image_cases() + _video_cases(good_video) + _npz_cases() + _json_cases() + _toml_cases() + _csv_cases()
    assert len(everything) == 200
    return everything


def _write(case: Case, index: int, root: Path, rng: np.random.Generator) -> Path:
    kind, name, make = case
    folder = root / f"{index:03d}-{kind}"
    folder.mkdir()
    data = make(rng, folder)
    path = folder / name
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    return path


def test_200_malformed_files_are_each_refused_with_one_line_and_the_right_exit_code(cases, tmp_path):
    pytest.importorskip("engine.inputs", reason="the front-door input checks (engine/inputs.py) are not in this tree")
    from studio.cli.main import exit_code_for

    rng = np.random.default_rng(SEED)
    failures = []
    for index, case in enumerate(cases):
        path = _write(case, index, tmp_path, rng)
        try:
            _check(case[0], path)
        except StudioError as error:
            message = str(error)
            if exit_code_for(error) != EXPECTED_EXIT[case[0]] or not message or "\n" in message:
                failures.append(f"{path.relative_to(tmp_path)}: exit {exit_code_for(error)}: {message!r}")
        except Exception as error:  # a traceback for the user
            failures.append(f"{path.relative_to(tmp_path)}: {type(error).__name__}: {error}")
        else:
            failures.append(f"{path.relative_to(tmp_path)}: accepted")
    assert failures == []


@pytest.mark.parametrize("index", [0, 45, 80, 130, 170, 190], ids=["image", "video", "npz", "json", "toml", "csv"])
def test_one_of_each_kind_through_the_cli(cases, index, tmp_path, cli, valid_inputs):
    rng = np.random.default_rng(SEED + index)
    kind = cases[index][0]
    path = _write(cases[index], index, tmp_path, rng)
    (source, driving), out = valid_inputs, tmp_path / "out.mp4"
    animate = ("animate", "-o", out, "--model", "no-such-model", "--quiet")
    argv = {
        "image": (*animate, path, driving), "video": (*animate, source, path), "npz": (*animate, source, path),
        "json": ("models", "verify", path.parent), "toml": (*animate, source, driving, "--preset", path),
        "csv": ("batch", path),
    }[kind]

    code, _, errors = cli(*argv)

    assert code == EXPECTED_EXIT[kind] and len(errors) == 1, (code, errors)
    assert not out.exists()
