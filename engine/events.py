"""Frozen events the engine yields. The GUI and the CLI only consume these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ClcState:
    """What carries from frame k to frame k+1 (paper Alg. 1): z_T, ẑ0,k and k.

    ``z_T`` and ``z0_hat`` are CPU float32 tensors of shape (1, C, h, w). Saving this with frame
    k is enough to resume at frame k+1 exactly.
    """

    k: int  # 0-based index of the frame that produced z0_hat
    z_T: Any
    z0_hat: Any


@dataclass(frozen=True)
class Progress:
    """One denoising step of one frame finished (``step`` counts from 1 to ``total_steps``)."""

    frame: int
    step: int
    total_steps: int
    kind: str = "progress"


@dataclass(frozen=True)
class FrameReady:
    """Frame ``index`` is done: ``image`` is an HxWx3 uint8 RGB array."""

    index: int
    image: np.ndarray = field(repr=False)
    state: ClcState | None = field(default=None, repr=False)
    seconds: float = 0.0
    kind: str = "frame"


@dataclass(frozen=True)
class Done:
    """The render finished: ``frames`` frames were produced in this run."""

    frames: int
    seconds: float = 0.0
    kind: str = "done"


@dataclass(frozen=True)
class Message:
    """A note for the user (e.g. 'no person in 3 frames'); ``level`` is info or warning."""

    text: str
    level: str = "info"
    kind: str = "message"


@dataclass(frozen=True)
class Analysis:
    """The driving video's analysis, running alongside the render: ``done`` of ``total`` frames."""

    done: int
    total: int
    kind: str = "analysis"


Event = Progress | FrameReady | Done | Message | Analysis
