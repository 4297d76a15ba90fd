"""ONNX Runtime sessions for the two DWPose files, with their signatures checked.

A missing, truncated or non-ONNX file, a model with another signature, or a GPU requested where
ONNX Runtime has none each raise ModelError with one sentence naming the file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError

DETECTOR_FILE = "yolox_l.onnx"
POSE_FILE = "dw-ll_ucoco_384.onnx"
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class Sessions:
    """The detector and pose-model sessions, which provider runs them, and whether each takes a batch."""

    detector: object
    pose: object
    provider: str
    detector_batches: bool
    pose_batches: bool


def providers_for(device: str) -> list[str]:
    """ONNX Runtime providers for ``device`` ("auto": CUDA when this onnxruntime build and a GPU have it)."""
    if device not in DEVICES:
        raise ModelError(f"unknown pose device {device!r}; use one of: {', '.join(DEVICES)}")
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cuda" and CUDA not in available:
        raise ModelError(
            "the GPU was requested for DWPose but ONNX Runtime has no CUDA provider here; "
            "install onnxruntime-gpu with a CUDA-capable NVIDIA driver, or run the pose model on the CPU"
        )
    if device == "cpu" or CUDA not in available:
        return [CPU]
    return [CUDA, CPU]


def open_sessions(detector: Path, pose: Path, device: str = "auto", threads: int = 0) -> Sessions:
    """Open both files on the chosen provider and check that they have the DWPose signatures.

    ``threads`` > 0 caps ONNX Runtime's CPU threads (0 = its default).
    """
    providers = providers_for(device)
    det = _session(Path(detector), providers, threads)
    det_batches = _check_signature(det, Path(detector), "YOLOX person detector", [(3, 640, 640)], [(8400, 85)])
    pos = _session(Path(pose), providers, threads)
    pose_batches = _check_signature(pos, Path(pose), "DWPose whole-body model", [(3, 384, 288)], [(133, 576), (133, 768)])
    used = det.get_providers()[0]
    if device == "cuda" and used != CUDA:
        raise ModelError(
            "ONNX Runtime could not start its CUDA provider (CUDA or cuDNN libraries missing); "
            "install the CUDA runtime onnxruntime-gpu needs, or run the pose model on the CPU"
        )
    return Sessions(det, pos, used, det_batches, pose_batches)


def _session(path: Path, providers: list[str], threads: int):
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(
            f"the DWPose model file {path} is missing; run `studio-cli models fetch dwpose`, or put "
            f"{DETECTOR_FILE} and {POSE_FILE} in one folder and run `studio-cli models import-pose FOLDER`"
        )
    options = ort.SessionOptions()
    options.log_severity_level = 3  # keep ONNX Runtime's warnings (unused initialisers, ...) off the console
    if threads > 0:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime raises its own Fail/InvalidProtobuf/InvalidGraph types
        raise ModelError(
            f"{path.name} is not a readable ONNX model (truncated or another kind of file: {type(error).__name__}); "
            "download it again with `studio-cli models fetch dwpose`"
        ) from None


def _dims_match(actual: list, expected: tuple[int, ...]) -> bool:
    return len(actual) == len(expected) and all(not isinstance(a, int) or a == e for a, e in zip(actual, expected))


def _check_signature(session, path: Path, what: str, inputs: list[tuple], outputs: list[tuple]) -> bool:
    """True when the batch axis is dynamic (the released files fix it to 1); raises on another signature."""
    ins, outs = session.get_inputs(), session.get_outputs()
    shapes_in = [list(i.shape) for i in ins]
    shapes_out = [list(o.shape) for o in outs]
    fits = (
        len(ins) == len(inputs) and len(outs) == len(outputs)
        and all(_dims_match(s[1:], e) for s, e in zip(shapes_in, inputs))
        and all(_dims_match(s[1:], e) for s, e in zip(shapes_out, outputs))
        and all(i.type == "tensor(float)" for i in ins)
    )
    if not fits:
        expected = " and ".join("Nx" + "x".join(map(str, e)) for e in outputs)
        got = ", ".join("x".join(map(str, s)) for s in shapes_in) + " -> " + ", ".join("x".join(map(str, s)) for s in shapes_out)
        raise ModelError(
            f"{path.name} is not the {what}: it maps {got}, expected Nx{'x'.join(map(str, inputs[0]))} -> {expected}; "
            "use the files of the official DWPose release (`studio-cli models fetch dwpose`)"
        )
    batch = shapes_in[0][0]
    return not isinstance(batch, int) or batch < 1
