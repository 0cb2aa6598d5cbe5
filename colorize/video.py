"""Film: decode -> colorize -> stabilise -> encode as one stream, with the original audio carried across.

Memory stays flat: frames are decoded, colorized in batches of `Colorizer.batch_size` and encoded as they come
(film hints keep a hinted shot's carry back, `colorize.film_hints`).
Every decoded frame is encoded with its own timestamp, so frame count, rational frame rate and duration are
kept; audio packets are copied untouched when the output container accepts their codec, else re-encoded to AAC.

Temporal stability (`colorize.temporal`): each frame's chroma follows the previous frame's along optical flow;
only chroma is touched, every output frame keeps its own luminance.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from colorize.atomic import atomic_write, remove_stale_temps
from colorize.errors import ColorizeError
from colorize.film_files import COPYABLE_AUDIO, check_output, display_rotation, ffmpeg_reason, open_film
from colorize.film_hints import HintCarrier, frame_hints, numbered_keyframes
from colorize.hints import HINTS_SUFFIX, Hints
from colorize.images import PHOTO_SUFFIXES
from colorize.pipeline import Colorizer
from colorize.temporal import ChromaStabilizer, FlickerMeter

log = logging.getLogger(__name__)

_EVEN_ONLY = {"libx264", "libx265"}
_ENCODER_OPTIONS: dict[str, Callable[[int], dict[str, str]]] = {
    "libx264": lambda crf: {"crf": str(crf), "preset": "medium"},
    "libx265": lambda crf: {"crf": str(crf), "preset": "medium"},
    "libvpx-vp9": lambda crf: {"crf": str(crf), "b:v": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
}
_AAC_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}


@dataclass
class VideoReport:
    """What `colorize video --report` prints: the clip, the work done, and the measured flicker."""

    frames: int
    fps: str
    width: int
    height: int
    audio: str
    seconds: float
    frames_per_second: float
    frames_expected: int = 0
    frames_skipped: int = 0  # damaged mid-film: not decodable, left out
    skipped_at_seconds: list[float] | None = None
    frames_missing: int = 0  # announced but never reached: a truncated file
    flicker_input_model: float | None = None
    flicker_output: float | None = None
    stage_seconds: dict[str, float] | None = None


class StageClock:
    """Wall-clock seconds per pipeline stage, for `measure` runs (every stage ends with its arrays on the CPU, so
    no device work is left running past the block)."""

    def __init__(self, enabled: bool) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.enabled = enabled

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        """Add the time spent inside the block to `stage`."""
        if not self.enabled:
            yield
            return
        t0 = time.perf_counter()
        yield
        self.seconds[stage] += time.perf_counter() - t0


class FrameColorizer:
    """Colorizes frames in order, in batches, with optional stabilisation and the same `hints` for every frame (a
    reference photo for the clip); `flush` drains the last batch."""

    def __init__(self, colorizer: Colorizer, stabilize: bool, measure: bool = False, hints: Hints | None = None,
                 carrier: HintCarrier | None = None) -> None:
        self.colorizer = colorizer
        self.hints = hints
        self.carrier = carrier  # keyframes' hints carried along the shot (`prepare`d already)
        self.index = 0  # the next frame's number
        self.clock = StageClock(measure)
        self.stabilizer = ChromaStabilizer() if stabilize else None
        self.pending: list[tuple[np.ndarray, object]] = []
        self.raw_meter = FlickerMeter() if measure else None
        self.out_meter = FlickerMeter() if measure else None

    def push(self, gray: np.ndarray, tag: object) -> list[tuple[np.ndarray, object]]:
        """Queue a frame; returns the (rgb, tag) pairs finished by this call."""
        self.pending.append((gray, tag))
        return self.flush() if len(self.pending) >= self.colorizer.batch_size else []

    def flush(self) -> list[tuple[np.ndarray, object]]:
        """Colorize everything queued, in order."""
        grays = [g for g, _ in self.pending]
        done = []
        with self.clock("model"):
            chromas = self.colorizer.chroma(grays, [self.hints] * len(grays))
        for (gray, tag), chroma in zip(self.pending, chromas):
            if self.carrier is not None:
                with self.clock("film hints"):
                    self.carrier.follow(self.index, gray)
                    chroma = self.carrier.apply(self.index, chroma)
            self.index += 1
            if self.raw_meter is not None:
                self.raw_meter.add(self.colorizer.merge(gray, chroma))
            if self.stabilizer is not None:
                with self.clock("stabilise"):
                    chroma = self.stabilizer(gray, chroma)
            with self.clock("merge"):
                rgb = self.colorizer.merge(gray, chroma)
            if self.out_meter is not None:
                self.out_meter.add(rgb)
            done.append((rgb, tag))
        self.pending.clear()
        return done


class _Transcoder:
    """One pass over a film: demux, colorize the video frames in order, encode them with their own timestamps into
    `out` (or only as PNGs into `frames_out`), and carry the audio across (copied, or re-encoded to AAC)."""

    def __init__(self, src: Path, inp, frames: FrameColorizer, frames_out: Path | None, progress: Callable[[int], None]) -> None:  # noqa: ANN001
        self.src, self.inp, self.frames, self.frames_out, self.progress = src, inp, frames, frames_out, progress
        self.vin = inp.streams.video[0]
        self.ain = inp.streams.audio[0] if inp.streams.audio else None
        self.written, self.skipped_at, self.audio_note = 0, [], "none"
        self.out = self.vout = self.aout = self.resampler = None

    def open_output(self, out, dst: Path, codec: str, crf: int, fps: Fraction) -> None:  # noqa: ANN001
        """Add the video stream (and the audio's, copied or to AAC) to the output container `out`."""
        import av

        vin, ain, width, height = self.vin, self.ain, self.vin.codec_context.width, self.vin.codec_context.height
        if (width % 2 or height % 2) and codec in _EVEN_ONLY:
            # H.264/H.265 4:2:0 need even sizes; VP9 codes odd sizes exactly, still 4:2:0 and widely playable
            log.warning("%s: odd frame size %dx%d: encoding VP9 instead of %s to keep it exactly", self.src, width, height, codec)
            codec = "libvpx-vp9"
        self.out, vout = out, out.add_stream(codec, rate=fps)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        # The encoder counts in the source's own time base, so every frame keeps its exact timestamp: with the default
        # 1/fps, variable-frame-rate film (phones) rounds onto the average rate and collides.
        vout.time_base = vout.codec_context.time_base = vin.time_base
        vout.options = _ENCODER_OPTIONS.get(codec, lambda q: {})(crf)
        rotation = display_rotation(self.src)
        if rotation:
            vout.set_display_rotation(rotation)
        self.vout = vout
        if ain is None:
            return
        if ain.codec_context.name in COPYABLE_AUDIO[dst.suffix.lower()]:
            self.aout, self.audio_note = out.add_stream_from_template(ain), f"{ain.codec_context.name} (copied)"
            return
        rate = ain.codec_context.sample_rate
        rate = rate if rate in _AAC_RATES else 48000 if rate > 44100 else 44100
        # old files often carry an unnamed layout ("1 channels") that encoders refuse: name it
        layout = {1: "mono", 2: "stereo"}.get(ain.codec_context.layout.nb_channels, ain.codec_context.layout.name)
        self.aout = out.add_stream("aac", rate=rate)
        self.aout.layout = layout
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self.audio_note = f"{ain.codec_context.name} -> aac (re-encoded for {dst.suffix})"

    def run(self) -> None:
        """Every packet through; the last batch and the encoders flushed."""
        streams = [self.vin] + ([self.ain] if self.aout is not None else [])
        for packet in self.inp.demux(streams):
            if packet.stream.type == "audio":
                self._audio(packet)
            else:
                for gray, tag in self._decode(packet):
                    self._write(self.frames.push(gray, tag))
        self._write(self.frames.flush())
        if self.vout is not None:
            with self.frames.clock("encode"):
                for packet in self.vout.encode():
                    self.out.mux(packet)
        if self.resampler is not None:
            for p in self.aout.encode():
                self.out.mux(p)

    def _audio(self, packet) -> None:  # noqa: ANN001
        if packet.dts is None:
            return
        if self.resampler is None:
            packet.stream = self.aout
            self.out.mux(packet)
            return
        for af in packet.decode():
            for rf in self.resampler.resample(af):
                for p in self.aout.encode(rf):
                    self.out.mux(p)

    def _decode(self, packet) -> list:  # noqa: ANN001
        """The packet's frames as (gray, (pts, time base)); a damaged packet costs its frame, not the film."""
        import av

        try:
            with self.frames.clock("decode"):
                return [(vf.to_ndarray(format="gray"), (vf.pts, vf.time_base)) for vf in packet.decode()]
        except av.error.FFmpegError as e:
            at = float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base else float("nan")
            log.warning("%s: frame at %.3f s cannot be decoded (%s); skipped", self.src, at, ffmpeg_reason(e))
            self.skipped_at.append(round(at, 3))
            return []

    def _write(self, done: list) -> None:
        import av
        from PIL import Image

        for rgb, (pts, time_base) in done:
            self.written += 1
            with self.frames.clock("encode"):
                if self.frames_out is not None:
                    path = self.frames_out / f"frame_{self.written:06d}.png"
                    atomic_write(path, lambda tmp: Image.fromarray(rgb).save(tmp, format="PNG"))
                if self.vout is not None:
                    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                    frame.pts, frame.time_base = pts, time_base
                    for packet in self.vout.encode(frame):
                        self.out.mux(packet)
            self.progress(1)


def colorize_video(
    src: Path,
    dst: Path | None,
    colorizer: Colorizer,
    stabilize: bool = True,
    codec: str = "libx264",
    crf: int = 17,
    frames_out: Path | None = None,
    measure: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    on_total: Callable[[int], None] = lambda n: None,
    hints: Hints | None = None,
    keyframes: Sequence[tuple[str, Hints]] = (),
) -> VideoReport:
    """Colorize `src` into `dst` (written atomically) and/or numbered PNGs in `frames_out`, every frame with `hints`
    (a reference photo for the clip), and each (FRAME, hints) of `keyframes` carried over its shot
    (`colorize.film_hints`; FRAME a frame number or a timestamp)."""
    import av

    check_output(src, dst)
    t0 = time.perf_counter()
    inp = open_film(src)
    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"
    fps = vin.average_rate or vin.guessed_rate or Fraction(25)
    total = vin.frames or int(float(inp.duration or 0) / 1e6 * float(fps))
    on_total(total)
    carrier = None
    if keyframes:
        carrier = HintCarrier(colorizer, numbered_keyframes(keyframes, float(fps)), hints)
        with open_film(src) as first_pass:
            first_pass.streams.video[0].thread_type = "AUTO"  # decoded as the colorizing pass decodes
            carrier.prepare(_gray_frames(first_pass))
    frames = FrameColorizer(colorizer, stabilize, measure, hints, carrier)
    if frames_out is not None:
        frames_out.mkdir(parents=True, exist_ok=True)
    job = _Transcoder(src, inp, frames, frames_out, progress)

    def write(tmp: Path) -> None:
        with av.open(str(tmp), "w", format=_format_for(dst)) as out:
            job.open_output(out, dst, codec, crf, fps)
            job.run()

    if dst is not None and remove_stale_temps(dst):
        log.info("%s: removed the partial output of an interrupted run", dst)
    try:
        job.run() if dst is None else atomic_write(dst, write)
    except av.error.FFmpegError as e:
        raise ColorizeError(f"{src}: encoding failed ({ffmpeg_reason(e)}); try another --codec or output container") from None
    finally:
        inp.close()
    seconds = time.perf_counter() - t0
    # Frames the container announced (or its duration implies) but that never decoded: a truncated file.
    missing = max(0, total - job.written - len(job.skipped_at))
    if missing:
        log.warning("%s: %d of %d announced frames are missing after %.3f s; the file is truncated or damaged",
                    src, missing, total, job.written / float(fps))
    return VideoReport(
        frames=job.written, fps=str(fps), width=vin.codec_context.width, height=vin.codec_context.height,
        audio=job.audio_note, seconds=round(seconds, 2), frames_expected=total, frames_skipped=len(job.skipped_at),
        skipped_at_seconds=job.skipped_at, frames_missing=missing, frames_per_second=round(job.written / max(seconds, 1e-9), 2),
        flicker_input_model=round(frames.raw_meter.value, 4) if frames.raw_meter else None,
        flicker_output=round(frames.out_meter.value, 4) if frames.out_meter else None,
        stage_seconds={k: round(v, 3) for k, v in frames.clock.seconds.items()} if measure else None,
    )


def _gray_frames(inp) -> Iterator[np.ndarray]:  # noqa: ANN001
    """A film's decodable frames as (H, W) uint8 luminance, in order (a damaged packet costs its frames, as in the
    colorizing pass, which says so)."""
    import av

    for packet in inp.demux(inp.streams.video[0]):
        try:
            yield from (vf.to_ndarray(format="gray") for vf in packet.decode())
        except av.error.FFmpegError:
            continue


def _format_for(dst: Path) -> str:
    return {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}[dst.suffix.lower()]


def numbered_frames(folder: Path) -> list[Path]:
    """Image files in `folder` ordered by the number in their name (frame_2 before frame_10)."""

    files = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES and not p.name.lower().endswith(HINTS_SUFFIX)]
    if not files:
        raise ColorizeError(f"{folder}: no frames found")

    def key(p: Path) -> tuple:
        return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)) + (p.suffix,)

    return sorted(files, key=key)


def colorize_frames(
    src_dir: Path,
    out_dir: Path,
    colorizer: Colorizer,
    stabilize: bool = True,
    ext: str = "auto",
    overwrite: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    hints: Hints | None = None,
) -> tuple[int, int]:
    """Colorize a folder of numbered frames in order, each with `hints` (a reference photo for the clip); a frame's
    own `NAME.hints.png` beside it colours its shot (`colorize.film_hints`). Returns (written, skipped).

    A rerun skips frames already written and seeds the stabiliser with the last of them, so a resumed sequence
    continues smoothly.
    """
    from PIL import Image

    from colorize.images import output_suffix, read_photo, write_photo

    if out_dir.resolve() == src_dir.resolve():
        raise ColorizeError(f"{src_dir}: write the colorized frames to another folder (-o)")
    sources = numbered_frames(src_dir)
    keyframes = frame_hints(src_dir, sources)
    carrier = HintCarrier(colorizer, keyframes, hints) if keyframes else None
    if carrier is not None:
        carrier.prepare(read_photo(f).gray for f in sources)
    frames = FrameColorizer(colorizer, stabilize, hints=hints, carrier=carrier)
    written = skipped = 0

    def write(done: list) -> None:
        nonlocal written
        for rgb, (path, ph) in done:
            write_photo(path, rgb, ph)
            written += 1
            progress(1)

    last_done: Path | None = None
    for src in sources:
        dst = out_dir / f"{src.stem}{output_suffix(src, ext)}"
        if dst.exists() and not overwrite:
            if carrier is not None:  # the carry goes through every frame, done or not
                write(frames.flush())
                carrier.follow(frames.index, read_photo(src).gray)
                frames.index += 1
            skipped += 1
            last_done = dst
            progress(1)
            continue
        if last_done is not None and frames.stabilizer is not None:
            with Image.open(last_done) as im:  # the last finished frame's chroma is what we continue from
                prev = np.array(im.convert("RGB"))
            frames.stabilizer.continue_from(prev)
            last_done = None
        photo = read_photo(src)
        write(frames.push(photo.gray, (dst, photo)))
    write(frames.flush())
    return written, skipped


def report_json(report: VideoReport) -> str:
    """The report as JSON."""
    return json.dumps(asdict(report), indent=2)
