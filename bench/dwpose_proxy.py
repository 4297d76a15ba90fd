"""Stand-ins for the two DWPose ONNX files, for benchmarks where the real files cannot be downloaded.

Plain 3x3 convolution stacks with random weights, sized to the published compute of the real
networks (YOLOX-L at 640x640: 155.6 G multiply-adds, the YOLOX paper's count; DWPose-LL / RTMPose-l
at 384x288: about 10 G) and with the real input/output signatures (dynamic batch). They measure
what the backend costs around models of that size: NOT the real architectures' speed (YOLOX's CSP
blocks and RTMPose's attention head run faster or slower per multiply-add than a conv stack).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DETECTOR_MACS = 155.6e9
POSE_MACS = 10.0e9


class _Graph:
    def __init__(self, seed: int):
        self.nodes, self.inits, self.rng, self.count, self.macs = [], [], np.random.default_rng(seed), 0, 0.0

    def _name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, array: np.ndarray) -> str:
        name = self._name("c")
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(self, x: str, c_in: int, c_out: int, size: tuple[int, int], stride: int = 1, kernel: int = 3, std: float | None = None) -> str:
        std = std if std is not None else (2.0 / (c_in * kernel * kernel)) ** 0.5
        weight = self.const((self.rng.standard_normal((c_out, c_in, kernel, kernel)) * std).astype(np.float32))
        out_hw = (size[0] // stride) * (size[1] // stride)
        self.macs += c_out * c_in * kernel * kernel * out_hw
        y = self.node("Conv", [x, weight], pads=[kernel // 2] * 4, strides=[stride, stride])
        return self.node("Relu", [y]) if std is None or std > 0.05 else y

    def stack(self, x: str, channels: int, size: tuple[int, int], budget: float) -> str:
        per_layer = channels * channels * 9 * size[0] * size[1]
        while self.macs + per_layer <= budget:
            x = self.conv(x, channels, channels, size)
        return x


def _model(graph: _Graph, inputs, outputs) -> onnx.ModelProto:
    model = helper.make_model(helper.make_graph(graph.nodes, "proxy", inputs, outputs, graph.inits), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def detector_proxy(seed: int = 0) -> onnx.ModelProto:
    """(N, 3, 640, 640) -> (N, 8400, 85), ~155.6 G multiply-adds per image."""
    g = _Graph(seed)
    x = g.conv("input", 3, 64, (640, 640), stride=2)
    x = g.conv(x, 64, 128, (320, 320), stride=2)
    x = g.stack(x, 128, (160, 160), DETECTOR_MACS)
    heads = []
    for pool in (2, 4, 8):  # 80x80, 40x40, 20x20 cells: 8400 rows
        pooled = g.node("AveragePool", [x], kernel_shape=[pool, pool], strides=[pool, pool])
        head = g.conv(pooled, 128, 85, (160 // pool, 160 // pool), kernel=1, std=0.001)
        # raw values in (0, 0.1): box scores stay under the 0.1 NMS threshold, so every frame takes the
        # no-person path (one whole-frame crop): the cost of one person per frame, without NMS noise
        head = g.node("Mul", [g.node("Sigmoid", [head]), g.const(np.array(0.1, np.float32))])
        heads.append(g.node("Reshape", [head, g.const(np.array([0, 85, -1], np.int64))]))
    out = g.node("Transpose", [g.node("Concat", heads, axis=2)], perm=[0, 2, 1])
    g.nodes[-1].output[0] = "output"
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 640, 640])]
    return _model(g, inputs, [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 8400, 85])])


def pose_proxy(seed: int = 1) -> onnx.ModelProto:
    """(N, 3, 384, 288) -> SimCC (N, 133, 576), (N, 133, 768), ~10 G multiply-adds per crop."""
    g = _Graph(seed)
    x = g.conv("input", 3, 64, (384, 288), stride=2)
    x = g.conv(x, 64, 128, (192, 144), stride=2)
    x = g.stack(x, 128, (96, 72), POSE_MACS)
    features = g.conv(x, 128, 133, (96, 72), kernel=1, std=0.01)  # (N, 133, 96, 72)
    along_x = g.node("ReduceMean", [features], axes=[2], keepdims=0)  # (N, 133, 72)
    along_y = g.node("ReduceMean", [features], axes=[3], keepdims=0)  # (N, 133, 96)
    g.node("MatMul", [along_x, g.const(g.rng.standard_normal((72, 576)).astype(np.float32))])
    g.nodes[-1].output[0] = "simcc_x"
    g.node("MatMul", [along_y, g.const(g.rng.standard_normal((96, 768)).astype(np.float32))])
    g.nodes[-1].output[0] = "simcc_y"
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 384, 288])]
    outputs = [
        helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, ["N", 133, 576]),
        helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, ["N", 133, 768]),
    ]
    return _model(g, inputs, outputs)


def write_proxies(folder: Path) -> Path:
    """Write both stand-ins under the real file names; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(detector_proxy(), str(folder / "yolox_l.onnx"))
    onnx.save(pose_proxy(), str(folder / "dw-ll_ucoco_384.onnx"))
    return folder
