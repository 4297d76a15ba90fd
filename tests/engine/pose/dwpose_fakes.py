"""Small ONNX models with the real DWPose signatures, and raw outputs built from chosen boxes/peaks.

detector: (B, 3, 640, 640) -> (B, 8400, 85); pose: (B, 3, 384, 288) -> (B, 133, 576), (B, 133, 768).
Their outputs are constants chosen by the test, optionally shifted by one input pixel (``drive``),
so a test decides what each frame "contains" by painting that pixel.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STRIDES = (8, 16, 32)


def _graph_model(nodes, inputs, outputs, initialisers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "fake", inputs, outputs, initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _pixel_driven(name: str, base: np.ndarray, drive: np.ndarray, pixel: tuple[int, int], scale: float, out: str):
    """Nodes computing out = base + drive * input[:, 0, y, x] * scale (broadcast over the batch)."""
    y, x = pixel
    inits = [
        numpy_helper.from_array(base[None].astype(np.float32), f"{name}_base"),
        numpy_helper.from_array(drive[None].astype(np.float32) * np.float32(scale), f"{name}_drive"),
        numpy_helper.from_array(np.array([0, 0, y, x], np.int64), f"{name}_starts"),
        numpy_helper.from_array(np.array([2**31, 1, y + 1, x + 1], np.int64), f"{name}_ends"),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), f"{name}_shape"),
    ]
    nodes = [
        helper.make_node("Slice", ["input", f"{name}_starts", f"{name}_ends"], [f"{name}_px"]),
        helper.make_node("Reshape", [f"{name}_px", f"{name}_shape"], [f"{name}_g"]),
        helper.make_node("Mul", [f"{name}_g", f"{name}_drive"], [f"{name}_d"]),
        helper.make_node("Add", [f"{name}_base", f"{name}_d"], [out]),
    ]
    return nodes, inits


def detector_model(raw: np.ndarray, drive: np.ndarray | None = None, batch: int | str = 1) -> onnx.ModelProto:
    """Output = raw + drive * (blue value of input pixel (0, 0)) / 255; that pixel is the frame's top-left."""
    drive = np.zeros_like(raw) if drive is None else drive
    nodes, inits = _pixel_driven("det", raw, drive, (0, 0), 1 / 255, "output")
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 640, 640])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 8400, 85])]
    return _graph_model(nodes, inputs, outputs, inits)


def pose_model(simcc_x: np.ndarray, simcc_y: np.ndarray, offset: float = 0.0, batch: int | str = "N") -> onnx.ModelProto:
    """Outputs = peaks + offset * (normalised blue value at the crop centre): the offset moves every score."""
    nodes_x, inits_x = _pixel_driven("sx", simcc_x, np.ones_like(simcc_x), (192, 144), offset, "simcc_x")
    nodes_y, inits_y = _pixel_driven("sy", simcc_y, np.ones_like(simcc_y), (192, 144), offset, "simcc_y")
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 384, 288])]
    outputs = [
        helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, 133, 576]),
        helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, 133, 768]),
    ]
    return _graph_model(nodes_x + nodes_y, inputs, outputs, inits_x + inits_y)


def marker_pose_model() -> onnx.ModelProto:
    """Every keypoint at the brightest column/row of the crop: SimCC = per-column (row) max, each bin twice."""
    inits = [
        numpy_helper.from_array(np.array([1, 133, 1], np.int64), "tile"),
        numpy_helper.from_array(np.array([0, 1, -1], np.int64), "pairs"),
        numpy_helper.from_array(np.array([0.5], np.float32), "half"),
    ]
    nodes = []
    for axis_kept, reduced, name in ((3, [1, 2], "simcc_x"), (2, [1, 3], "simcc_y")):
        nodes += [
            helper.make_node("ReduceMax", ["input"], [f"{name}_p"], axes=reduced, keepdims=0),  # (B, L)
            helper.make_node("Unsqueeze", [f"{name}_p", "axes2"], [f"{name}_u"]),  # (B, L, 1)
            helper.make_node("Concat", [f"{name}_u", f"{name}_u"], [f"{name}_c"], axis=2),  # (B, L, 2)
            helper.make_node("Reshape", [f"{name}_c", "pairs"], [f"{name}_r"]),  # (B, 1, 2L)
            helper.make_node("Tile", [f"{name}_r", "tile"], [f"{name}_t"]),  # (B, 133, 2L)
            helper.make_node("Mul", [f"{name}_t", "half"], [name]),
        ]
    inits.append(numpy_helper.from_array(np.array([2], np.int64), "axes2"))
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 384, 288])]
    outputs = [
        helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, ["N", 133, 576]),
        helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, ["N", 133, 768]),
    ]
    return _graph_model(nodes, inputs, outputs, inits)


def raw_detections(boxes_in_input: list[tuple[float, float, float, float]], scores: list[float]) -> np.ndarray:
    """A (8400, 85) YOLOX output holding exactly these person boxes (x0, y0, x1, y1 in 640-input pixels).

    Each box goes to the stride-32 cell nearest its centre: (cx, cy) = (raw + grid) * stride,
    (w, h) = exp(raw) * stride; objectness 1 and person probability = score. Other rows score 0.
    """
    raw = np.zeros((8400, 85), np.float64)
    raw[:, 2:4] = math.log(1.0 / 32)  # tiny boxes, never kept (score 0)
    offset = 80 * 80 + 40 * 40
    for (x0, y0, x1, y1), score in zip(boxes_in_input, scores):
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        gx, gy = min(19, max(0, int(cx // 32))), min(19, max(0, int(cy // 32)))
        row = offset + gy * 20 + gx
        raw[row, :4] = [cx / 32 - gx, cy / 32 - gy, math.log(w / 32), math.log(h / 32)]
        raw[row, 4], raw[row, 5] = 1.0, score
    return raw


def simcc_peaks(x_bins: np.ndarray, y_bins: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SimCC vectors (133, 576), (133, 768) with one peak of height ``peak[k]`` at the given bins, 0 elsewhere."""
    simcc_x, simcc_y = np.zeros((133, 576), np.float32), np.zeros((133, 768), np.float32)
    simcc_x[np.arange(133), x_bins] = peak
    simcc_y[np.arange(133), y_bins] = peak
    return simcc_x, simcc_y


def detection_frame_size(width: int, height: int) -> tuple[int, int]:
    k = 512 / min(width, height)
    return int(np.round(width * k / 64)) * 64, int(np.round(height * k / 64)) * 64


def expected_keypoints(frame_wh, box_in_input, x_bins, y_bins) -> np.ndarray:
    """(133, 2) pixels of the original frame for a detector box given in 640-input pixels."""
    width, height = frame_wh
    det_w, det_h = detection_frame_size(width, height)
    ratio = min(640 / det_h, 640 / det_w)
    x0, y0, x1, y1 = np.asarray(box_in_input, np.float64) / ratio  # detection-frame pixels
    center = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    w, h = (x1 - x0) * 1.25, (y1 - y0) * 1.25
    crop_w, crop_h = (w, w * 384 / 288) if w / h > 288 / 384 else (h * 288 / 384, h)
    # crop pixel (u, v) shows detection pixel center + ((u, v) - input centre) * crop size / input size
    u, v = np.asarray(x_bins) / 2.0, np.asarray(y_bins) / 2.0
    det_x = center[0] + (u - 144) * crop_w / 288
    det_y = center[1] + (v - 192) * crop_h / 384
    return np.stack([det_x / det_w * width, det_y / det_h * height], axis=1)


def write_models(folder: Path, det: onnx.ModelProto, pose: onnx.ModelProto) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(det, str(folder / "yolox_l.onnx"))
    onnx.save(pose, str(folder / "dw-ll_ucoco_384.onnx"))
    return folder
