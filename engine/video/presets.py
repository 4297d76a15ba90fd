"""Export presets: small TOML files that say how to encode a render (container, codecs, quality).

The bundled presets live in ``resources/presets``; users may pass their own file or folder.
A preset file looks like::

    name = "MP4 (H.264)"            # shown to users
    description = "..."
    container = "mp4"               # mp4 | mov | webm | mkv | gif | png (png = a folder of numbered frames)
    extension = ".mp4"              # "" for png
    [container_options]             # optional muxer options, e.g. movflags
    [video]
    codec = "libx264"
    pix_fmt = "yuv420p"             # gif: pal8 (the exporter picks one palette for the clip)
    tag = "hvc1"                    # optional codec tag (fourcc) written in the container
    options = { crf = "18" }        # encoder options, values as strings
    [audio]                         # optional; omit to never write sound
    codec = "aac"
    bitrate = 192000                # optional, bits per second
    sample_rate = 48000             # optional; default keeps the driving video's rate

A preset's id is its file name without ``.toml``; it is what users type (``--preset web``).
Besides the bundled ones, every ``.toml`` in the user's preset folder (``presets`` in the config
dir, see :func:`user_presets_dir`) is a preset, and replaces a bundled one of the same id.
Every problem is a SettingsError that names the file and the field.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import SettingsError
from engine.resources import resource_path

CONTAINERS = {"mp4": "mp4", "mov": "mov", "webm": "webm", "mkv": "matroska", "gif": "gif", "png": None}  # id -> muxer
DEFAULT_PRESET = "web"
_PRESET_FOR_EXTENSION = {
    ".mp4": "web", ".m4v": "web", ".mov": "prores", ".webm": "webm", ".mkv": "lossless", ".gif": "gif", "": "png",
}
APP_NAME = "talkingpose-studio"
CONFIG_DIR_ENV = "TALKINGPOSE_CONFIG_DIR"  # replaces the platform's config dir (tests, portable installs)


@dataclass(frozen=True)
class ExportPreset:
    """How to encode a render; see the module docstring for the file format."""

    id: str
    name: str
    container: str
    extension: str
    video_codec: str
    pix_fmt: str
    video_tag: str | None = None
    video_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)
    audio_codec: str | None = None
    audio_bitrate: int | None = None
    audio_sample_rate: int | None = None
    description: str = ""
    path: Path | None = None

    @property
    def is_image_sequence(self) -> bool:
        return self.container == "png"

    @property
    def is_gif(self) -> bool:
        return self.container == "gif"


def bundled_presets_dir() -> Path:
    """The folder of presets shipped with the studio (``resources/presets``)."""
    return resource_path("presets")


def user_presets_dir() -> Path:
    """The user's own presets: ``presets`` in the config dir (``$TALKINGPOSE_CONFIG_DIR`` replaces that dir)."""
    folder = os.environ.get(CONFIG_DIR_ENV)
    if not folder:
        import platformdirs

        folder = platformdirs.user_config_dir(APP_NAME)
    return Path(folder).expanduser() / "presets"


def _search_dirs(extra_dirs: Iterable[str | Path]) -> list[Path]:
    """Preset folders, weakest first: bundled, the user's folder, then ``extra_dirs`` in order."""
    return [bundled_presets_dir(), user_presets_dir(), *map(Path, extra_dirs)]


def list_presets(extra_dirs: Iterable[str | Path] = ()) -> list[ExportPreset]:
    """All presets, the default first; a user's or an ``extra_dirs`` preset replaces one of the same id."""
    by_id: dict[str, ExportPreset] = {}
    for folder in _search_dirs(extra_dirs):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            by_id[path.stem] = load_preset_file(path)
    return sorted(by_id.values(), key=lambda preset: (preset.id != DEFAULT_PRESET, preset.id))


def load_preset(name_or_path: str | Path, extra_dirs: Iterable[str | Path] = ()) -> ExportPreset:
    """A preset by id (``"web"``, looked up like :func:`list_presets`) or by the path of a ``.toml`` file."""
    text = str(name_or_path)
    if text.endswith(".toml") or Path(text).is_file():
        return load_preset_file(Path(text))
    for folder in reversed(_search_dirs(extra_dirs)):
        path = folder / f"{text}.toml"
        if path.is_file():
            return load_preset_file(path)
    known = ", ".join(preset.id for preset in list_presets(extra_dirs))
    raise SettingsError("preset", f"no preset named {text!r}; use one of {known} or the path of a .toml file")


def preset_for_output(path: str | Path) -> ExportPreset:
    """The preset that suits an output name: ``.mp4`` -> web, ``.mov`` -> prores, ``.mkv`` -> lossless,
    ``.gif`` -> gif, no extension -> png (a folder), ..."""
    suffix = Path(path).suffix.lower()
    if suffix not in _PRESET_FOR_EXTENSION:
        choices = ", ".join(s for s in _PRESET_FOR_EXTENSION if s)
        raise SettingsError(
            "output", f"cannot tell the format of {Path(path).name!r}; end it in {choices} or give a folder name"
        )
    return load_preset(_PRESET_FOR_EXTENSION[suffix])


def load_preset_file(path: Path) -> ExportPreset:
    """Read and check one preset file."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError("preset", f"preset file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError("preset", f"{path.name} is not valid TOML ({exc}); fix the file") from None
    return preset_from_dict(data, path.stem, path)


def preset_from_dict(data: dict[str, Any], preset_id: str, path: Path | None = None) -> ExportPreset:
    """Build an ExportPreset from parsed TOML, checking every field against this PyAV build."""
    where = path.name if path else preset_id
    get = _Reader(data, where)
    container = get.text("container")
    if container not in CONTAINERS:
        raise SettingsError(f"{where}: container", f"must be one of {', '.join(CONTAINERS)} (got {container!r})")
    video = get.table("video")
    audio = get.table("audio", required=False)
    video_codec = _Reader(video, where, "video.").text("codec")
    pix_fmt = _Reader(video, where, "video.").text("pix_fmt")
    _check_video_codec(video_codec, pix_fmt, where)
    video_tag = _Reader(video, where, "video.").text("tag", default="") or None
    if video_tag is not None and len(video_tag) != 4:
        raise SettingsError(f"{where}: video.tag", f"must be a four-character code such as \"hvc1\" (got {video_tag!r})")
    if container == "gif" and (video_codec != "gif" or audio):
        raise SettingsError(f"{where}: video.codec", 'a gif preset needs codec = "gif" and no [audio] table')
    audio_codec = _Reader(audio, where, "audio.").text("codec") if audio else None
    sample_rate = _Reader(audio, where, "audio.").integer("sample_rate") if audio else None
    if audio_codec:
        codec = _check_codec(audio_codec, "audio", f"{where}: audio.codec")
        if sample_rate and codec.audio_rates and sample_rate not in codec.audio_rates:
            rates = ", ".join(map(str, sorted(codec.audio_rates)))
            raise SettingsError(
                f"{where}: audio.sample_rate", f"{audio_codec} cannot use {sample_rate} Hz; use one of {rates}"
            )
    return ExportPreset(
        id=preset_id,
        name=get.text("name", default=preset_id),
        description=get.text("description", default=""),
        container=container,
        extension=get.text("extension", default="" if container == "png" else f".{container}"),
        video_codec=video_codec,
        pix_fmt=pix_fmt,
        video_tag=video_tag,
        video_options=_Reader(video, where, "video.").options("options"),
        container_options=get.options("container_options"),
        audio_codec=audio_codec,
        audio_bitrate=_Reader(audio, where, "audio.").integer("bitrate") if audio else None,
        audio_sample_rate=sample_rate,
        path=path,
    )


class _Reader:
    """Typed access to one TOML table, raising SettingsError('<file>: <field>', ...)."""

    def __init__(self, data: dict[str, Any], where: str, prefix: str = ""):
        self.data, self.where, self.prefix = data, where, prefix

    def _field(self, key: str) -> str:
        return f"{self.where}: {self.prefix}{key}"

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise SettingsError(self._field(key), "is missing; add it to the preset file")
        if not isinstance(value, str):
            raise SettingsError(self._field(key), f"must be text in quotes (got {value!r})")
        return value

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise SettingsError(self._field(key), f"must be a positive whole number (got {value!r})")
        return value

    def table(self, key: str, required: bool = True) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise SettingsError(self._field(key), f"must be a [{key}] table in the preset file")
        return value

    def options(self, key: str) -> dict[str, str]:
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise SettingsError(self._field(key), 'must map names to text values, e.g. { crf = "18" }')
        return dict(value)


def _check_codec(name: str, kind: str, field_name: str):
    import av

    try:
        codec = av.codec.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise SettingsError(field_name, f"encoder {name!r} is not available in this build; choose another codec") from None
    if codec.type != kind:
        raise SettingsError(field_name, f"{name!r} is a {codec.type} codec, not a {kind} codec")
    return codec


def _check_video_codec(name: str, pix_fmt: str, where: str) -> None:
    codec = _check_codec(name, "video", f"{where}: video.codec")
    formats = [fmt.name for fmt in (codec.video_formats or ())]
    if formats and pix_fmt not in formats:
        raise SettingsError(f"{where}: video.pix_fmt", f"{name} cannot write {pix_fmt!r}; use one of {', '.join(formats)}")
