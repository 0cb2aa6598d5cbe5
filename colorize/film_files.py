"""Film files before and around the transcode (`colorize.video`): what is read and written, checked before a model
is loaded, and FFmpeg's failures in its own words."""

from __future__ import annotations

from pathlib import Path

from colorize.errors import BadInputError, ColorizeError

# Output container -> audio codecs it can hold as they are; anything else is re-encoded to AAC.
COPYABLE_AUDIO = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "opus"},
    ".mov": {"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le"},
    ".mkv": {"aac", "mp3", "alac", "ac3", "opus", "vorbis", "flac", "pcm_s16le", "pcm_s24le"},
}
VIDEO_SUFFIXES = set(COPYABLE_AUDIO)


def check_film(path: Path, dst: Path | None = None, codec: str = "libx264") -> None:
    """One-line errors, before a model is loaded: unless `path` is a film this module can read, `dst` a container it
    writes and `codec` a video encoder of this FFmpeg."""
    import av

    check_output(path, dst)
    try:
        kind = av.Codec(codec, "w").type
    except ValueError:
        raise ColorizeError(f"--codec {codec}: no such encoder in this FFmpeg; try libx264, libx265 or mpeg4") from None
    if kind != "video":
        raise ColorizeError(f"--codec {codec}: an {kind} encoder; give a video one, e.g. libx264")
    open_film(path).close()


def check_output(src: Path, dst: Path | None) -> None:
    """A film output colorize writes (its container known) that is not its own input."""
    if dst is not None and dst.suffix.lower() not in VIDEO_SUFFIXES:
        raise ColorizeError(f"{dst}: output must be one of {', '.join(sorted(VIDEO_SUFFIXES))}")
    if dst is not None and dst.resolve() == src.resolve():
        raise ColorizeError(f"{src}: the output would overwrite the input; choose another -o")


def open_film(path: Path):  # -> av.container.InputContainer
    import av

    if path.is_dir():
        raise BadInputError(f"{path}: is a folder; for a folder of frames use colorize frames {path}")
    if not path.is_file():
        raise BadInputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise BadInputError(f"{path}: not a readable video ({ffmpeg_reason(e)})") from None
    still = container.format.name == "image2" or container.format.name.endswith("_pipe")  # FFmpeg's still-image readers
    still = still or (container.format.name == "gif" and bool(container.streams.video) and container.streams.video[0].frames == 1)
    kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
    if still or not container.streams.video:
        container.close()
        raise BadInputError(f"{path}: is a still photo, not a film; use colorize photo {path}" if still else
                            f"{path}: has no video stream ({kinds}); nothing to colorize")
    return container


def ffmpeg_reason(e: Exception) -> str:
    """FFmpeg's words for a failure, without PyAV's error number (`[Errno 1094995529]`)."""
    return getattr(e, "strerror", None) or str(e)


def display_rotation(src: Path) -> float:
    """The display-matrix rotation of the first frame (phone videos), read before the output's header is written."""
    import av

    try:
        with av.open(str(src)) as probe:
            for frame in probe.decode(video=0):
                return float(frame.rotation or 0)
    except av.error.FFmpegError as e:
        raise BadInputError(f"{src}: cannot decode its first frame ({ffmpeg_reason(e)})") from None
    return 0.0
