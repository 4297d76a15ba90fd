"""Media I/O: reading driving videos, the frame store on disk, export presets, exporting with sound.

Everything streams one frame at a time; nothing here holds a whole video in memory.
"""

from engine.video.audio import AudioTrack, has_audio
from engine.video.export import AUDIO_SIDECAR, ExportResult, export_frames
from engine.video.frame_store import FrameStore, ResumePoint
from engine.video.presets import (
    DEFAULT_PRESET,
    ExportPreset,
    bundled_presets_dir,
    list_presets,
    load_preset,
    load_preset_file,
    preset_for_output,
    user_presets_dir,
)
from engine.video.reader import (
    VideoInfo,
    as_frame_rate,
    iter_frames,
    probe,
    read_frame,
    read_image,
    video_fingerprint,
)

__all__ = [
    "AUDIO_SIDECAR",
    "AudioTrack",
    "DEFAULT_PRESET",
    "ExportPreset",
    "ExportResult",
    "FrameStore",
    "ResumePoint",
    "VideoInfo",
    "as_frame_rate",
    "bundled_presets_dir",
    "export_frames",
    "has_audio",
    "iter_frames",
    "list_presets",
    "load_preset",
    "load_preset_file",
    "preset_for_output",
    "probe",
    "read_frame",
    "read_image",
    "user_presets_dir",
    "video_fingerprint",
]
