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
Every problem is a SettingsError that names the file and the field. Presets are checked when loaded:
the extension must be a plain suffix, and three tiny frames go through the preset's encoder and muxer
with its options, so FFmpeg itself refuses bad option values (``crf = "-5"``, an unknown x264 preset,
an unknown movflag) before a render starts rather than at export.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import InputError, SettingsError
from engine.resources import resource_path
from engine.textfiles import load_toml

CONTAINERS = {"mp4": "mp4", "mov": "mov", "webm": "webm", "mkv": "matroska", "gif": "gif", "png": None}  # id -> muxer
DEFAULT_PRESET = "web"
_PRESET_FOR_EXTENSION = {
    ".mp4": "web", ".m4v": "web", ".mov": "prores", ".webm": "webm", ".mkv": "lossless", ".gif": "gif", "": "png",
}
APP_NAME = "talkingpose-studio"
CONFIG_DIR_ENV = "TALKINGPOSE_CONFIG_DIR"  # replaces the platform's config dir (tests, portable installs)
MAX_PRESET_BYTES = 64 * 1024
_EXTENSION = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")  # a plain suffix: no "/", "..", spaces or controls
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEST_SIZE = 64  # the test frame: even, and large enough for every encoder's minimum
_TEST_FRAMES = 3  # x265 in an mp4 sometimes cannot finish a one-frame file
# x264/x265 print a bad preset name straight to the terminal, so these are checked before FFmpeg sees them
_X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


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
    problem: str = ""  # set only on the stand-ins list_presets(include_broken=True) gives for broken files

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


def list_presets(extra_dirs: Iterable[str | Path] = (), *, include_broken: bool = False) -> list[ExportPreset]:
    """All presets, the default first; a user's or an ``extra_dirs`` preset replaces one of the same id.

    A broken preset file is left out, or with ``include_broken`` listed as a stand-in whose ``problem``
    says what is wrong (so one bad file in the user's folder never hides the others).
    """
    by_id: dict[str, ExportPreset] = {}
    for folder in _search_dirs(extra_dirs):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            try:
                by_id[path.stem] = load_preset_file(path)
            except InputError as error:
                by_id[path.stem] = ExportPreset(path.stem, path.stem, "?", "", "?", "?", path=path, problem=str(error))
    presets = [p for p in by_id.values() if include_broken or not p.problem]
    return sorted(presets, key=lambda preset: (preset.id != DEFAULT_PRESET, preset.id))


def load_preset(name_or_path: str | Path, extra_dirs: Iterable[str | Path] = ()) -> ExportPreset:
    """A preset by id (``"web"``, looked up like :func:`list_presets`) or by the path of a ``.toml`` file."""
    text = str(name_or_path)
    if text.endswith(".toml") or Path(text).is_file():
        return load_preset_file(Path(text))
    for folder in reversed(_search_dirs(extra_dirs)):
        path = folder / f"{text}.toml"
        if path.is_file():
            return load_preset_file(path)
    known = ", ".join(preset.id for preset in list_presets(extra_dirs))  # usable ones only
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
    data = load_toml(path, what="an export preset", max_bytes=MAX_PRESET_BYTES, error=_preset_error, fix="fix the file")
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
    extension = get.text("extension", default="" if container == "png" else f".{container}")
    if container == "png" and extension:
        raise SettingsError(f"{where}: extension", f'must be "" for a png preset, which writes a folder (got {extension!r})')
    if container != "png" and not _EXTENSION.match(extension):
        raise SettingsError(f"{where}: extension", f'must be a plain file suffix such as ".mp4" (got {extension!r})')
    preset = ExportPreset(
        id=preset_id,
        name=get.text("name", default=preset_id, one_line=True),
        description=get.text("description", default="", one_line=True),
        container=container,
        extension=extension,
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
    if container != "png":
        _check_encoding(preset, where)
    return preset


def _preset_error(message: str) -> SettingsError:
    return SettingsError("preset", message)


class _Reader:
    """Typed access to one TOML table, raising SettingsError('<file>: <field>', ...)."""

    def __init__(self, data: dict[str, Any], where: str, prefix: str = ""):
        self.data, self.where, self.prefix = data, where, prefix

    def _field(self, key: str) -> str:
        return f"{self.where}: {self.prefix}{key}"

    def text(self, key: str, default: str | None = None, one_line: bool = False) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise SettingsError(self._field(key), "is missing; add it to the preset file")
        if not isinstance(value, str):
            raise SettingsError(self._field(key), f"must be text in quotes (got {value!r})")
        if one_line and (len(value) > 200 or _CONTROL.search(value)):
            raise SettingsError(self._field(key), "must be one line of at most 200 characters")
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
        if not isinstance(value, dict) or not all(isinstance(v, str) and not _CONTROL.search(v) for v in value.values()):
            raise SettingsError(self._field(key), 'must map names to one-line text values, e.g. { crf = "18" }')
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


def _check_encoding(preset: ExportPreset, where: str) -> None:
    """Encode a few tiny frames with the preset; on failure, find and name the option FFmpeg refuses."""
    speed = preset.video_options.get("preset")
    if preset.video_codec in ("libx264", "libx265") and speed is not None and speed not in _X26X_PRESETS:
        raise SettingsError(f"{where}: video.options.preset", f"{speed!r} is not an x264/x265 preset; use one of {', '.join(_X26X_PRESETS)}")
    problem = _test_encode(preset)
    if problem is None:
        return
    bare = dataclasses.replace(preset, video_options={}, container_options={})
    if _test_encode(bare) is not None:
        field_name = "video.tag" if preset.video_tag and _test_encode(dataclasses.replace(bare, video_tag=None)) is None else "video.codec"
        raise SettingsError(f"{where}: {field_name}", f"a test frame could not be encoded ({problem}); choose another codec or tag")
    for table, prefix in (("container_options", "container_options."), ("video_options", "video.options.")):
        for key, value in getattr(preset, table).items():
            alone = _test_encode(dataclasses.replace(bare, **{table: {key: value}}))
            if alone is not None:
                raise SettingsError(f"{where}: {prefix}{key}", f"{value!r} is refused by {preset.video_codec}/{preset.container} ({alone})")
    raise SettingsError(f"{where}: video.options", f"these options do not work together ({problem}); change one of them")


@functools.lru_cache(maxsize=64)
def _test_encode_cached(container: str, codec: str, pix_fmt: str, tag: str | None, video_options: tuple, container_options: tuple) -> str | None:
    import av
    import numpy as np

    try:  # a file, not memory: mp4's faststart rewrites the file it wrote
        scratch = tempfile.TemporaryDirectory(prefix="talkingpose-preset-")
    except OSError:  # no writable temp folder: nothing to test with; the export reports FFmpeg's own words
        return None
    with scratch as folder, _UnusedOptions() as unused:
        try:
            with av.open(os.path.join(folder, "test"), "w", format=CONTAINERS[container], options=dict(container_options)) as output:
                stream = output.add_stream(codec, rate=25)
                stream.time_base = Fraction(1, 25)  # as the exporter does; some muxers refuse the default
                stream.width = stream.height = _TEST_SIZE
                stream.pix_fmt = pix_fmt
                stream.codec_context.options = dict(video_options)
                if tag:
                    stream.codec_context.codec_tag = tag
                black = np.zeros((_TEST_SIZE, _TEST_SIZE), np.uint8)
                if pix_fmt == "pal8":
                    frame = av.VideoFrame.from_ndarray((black, np.full((256, 4), 255, np.uint8)), format="pal8")
                else:
                    frame = av.VideoFrame.from_ndarray(np.stack([black] * 3, axis=-1), format="rgb24").reformat(format=pix_fmt)
                for index in range(_TEST_FRAMES):
                    frame.pts = index
                    for packet in stream.encode(frame):
                        output.mux(packet)
                leftover = dict(stream.codec_context.options)  # PyAV keeps the options the encoder did not take
                for packet in stream.encode(None):
                    output.mux(packet)
        except Exception as error:  # FFmpeg's refusal, whatever its class
            return str(error).split(": '", 1)[0] or type(error).__name__
    if leftover or unused.names:
        return f"unknown option {sorted({*leftover, *unused.names})[0]!r}"
    return None


def _test_encode(preset: ExportPreset) -> str | None:
    return _test_encode_cached(
        preset.container, preset.video_codec, preset.pix_fmt, preset.video_tag,
        tuple(sorted(preset.video_options.items())), tuple(sorted(preset.container_options.items())),
    )


class _UnusedOptions(logging.Handler):
    """Collects the muxer options PyAV reports as not used (it only logs them)."""

    _LOGGER = "av.container.output"

    def __init__(self):
        super().__init__(logging.WARNING)
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Some options were not used: "):
            self.names.update(re.findall(r"'([^']+)': ", message))

    def __enter__(self) -> "_UnusedOptions":
        logger = logging.getLogger(self._LOGGER)
        self._propagate, logger.propagate = logger.propagate, False  # the user sees our sentence, not PyAV's
        logger.addHandler(self)
        return self

    def __exit__(self, *exc_info) -> None:
        logger = logging.getLogger(self._LOGGER)
        logger.removeHandler(self)
        logger.propagate = self._propagate
