"""The page's state behind `colorize serve`: the open photos, the model's colour kept per photo file and setting,
and what a request renders (`Session`). HTTP lives in `colorize.serve`; this module knows photos, not requests' wire.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass, field
from pathlib import Path

import numpy as np
from fastapi import HTTPException
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from colorize.color.ycbcr import merge
from colorize.errors import BadInputError, ColorizeError
from colorize.atomic import atomic_write
from colorize.hint_files import Dot, as_layer, encode_hints, split_dots
from colorize.hints import Hints, PointHint, read_painted
from colorize.images import DEFAULT_MAX_MEGAPIXELS, Photo
from colorize.photos import run_settings
from colorize.plan import Job, attach_hints, plan_folder, reference_beside
from colorize.reference import Reference
from colorize.pipeline import MIN_RENDER_FACTOR, Colorizer

SUFFIX = "_color"  # the CLI's default, so the page's outputs are the CLI's
_KEPT_CHROMAS = 16  # model colours kept (per photo file and setting), least recently used dropped first
_KEPT_PHOTOS = 8  # open photos held decoded, least recently opened dropped first
_SHOWN_CHARS = 120  # a name echoed in an error is cut to this many characters


class HintIn(BaseModel):
    """One hint as the page sends it: pixels of the photo and a #rrggbb colour."""

    model_config = ConfigDict(allow_inf_nan=False)
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


class RenderIn(BaseModel):
    """What to render: which open photo, its hints, and the settings. `keep_painted`: whether the photo's hints file
    (shown as an overlay) still counts; False once the user cleared it."""

    model_config = ConfigDict(allow_inf_nan=False)
    photo: str
    hints: list[HintIn] = []
    keep_painted: bool = True
    # What the page saw when it opened the photo (`OpenPhoto.version`): Save refuses when the files changed since.
    version: str | None = Field(None, max_length=64)
    vividness: float = Field(1.0, ge=0.1, le=5.0)
    render_factor: int | None = Field(None, ge=MIN_RENDER_FACTOR, le=100)


class OpenIn(BaseModel):
    """A photo of the served folder, by its path relative to the folder."""

    path: str


@dataclass
class OpenPhoto:
    """A decoded photo the page works on: from the folder (`source`, with the `identity` it had when read) or
    uploaded (`name` only). A folder photo's hints file (`painted`, as it was when opened) is split into the clicks
    it holds (`dots`, shown as markers) and a file of the rest (`strokes`, shown as an overlay)."""

    name: str
    photo: Photo
    source: Path | None = None
    identity: tuple[int, ...] | None = None
    painted: Path | None = None
    painted_identity: tuple[int, ...] | None = None
    dots: list[Dot] = field(default_factory=list)
    strokes: Path | None = None
    painted_error: str | None = None
    # Its own reference photo (NAME.ref.EXT beside it), applied as `colorize photos` applies it.
    reference: Reference | None = None
    reference_error: str | None = None

    @property
    def version(self) -> str:
        """The photo and its hints file as they were read, in a few characters: what Save checks against the disk."""
        return version_of(self.identity, self.painted, self.painted_identity)


def version_of(identity: tuple[int, ...] | None, painted: Path | None, painted_identity: tuple[int, ...] | None) -> str:
    return hashlib.sha256(repr((identity, painted and painted.name, painted_identity)).encode()).hexdigest()[:16]


def file_identity(path: Path) -> tuple[int, ...] | None:
    """(size, modification and change times in ns, inode) of a file, None where there is none: what tells a changed
    file, even one rewritten in place with its old date kept (`cp -p`: the change time cannot be set back)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


@dataclass
class Session:
    """The server's state: the folder, the open photos, and the model's colour kept per photo file and setting.
    `weights` is what the model was loaded from, for the record beside each saved output."""

    folder: Path | None
    base: Colorizer
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    weights: Path | None = None
    photos: dict[str, OpenPhoto] = field(default_factory=dict)
    kept: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    save_lock: threading.Lock = field(default_factory=threading.Lock)
    scratch: tempfile.TemporaryDirectory = field(default_factory=lambda: tempfile.TemporaryDirectory(prefix="colorize-page-"))

    def listing(self) -> dict[str, Job]:
        """The folder's photos by id (path relative to the folder, POSIX), each with where `colorize photos FOLDER
        -o FOLDER` writes its result. A symbolic link out of the folder is not listed (nor opened: `_folder_photo`)."""
        if self.folder is None:
            return {}
        root = self.folder.resolve()
        try:
            jobs = plan_folder(self.folder, self.folder, recursive=True, suffix=SUFFIX, ext="auto")
        except ColorizeError as e:  # the folder was moved, renamed or unplugged
            raise HTTPException(404, str(e)) from None
        return {j.src.relative_to(self.folder).as_posix(): j for j in jobs
                if j.error is None and root in j.src.resolve().parents}

    def model_chroma(self, photo_id: str, render_factor: int | None, vividness: float) -> np.ndarray:
        """The model's colour for an open photo at these settings, computed once per photo file and kept."""
        opened = self.get(photo_id)
        key = (photo_id, opened.identity, render_factor, vividness)
        with self.lock:
            if key in self.kept:
                self.kept.move_to_end(key)
                return self.kept[key]
            try:
                chroma = self.colorizer(render_factor, vividness).model_chroma([opened.photo.gray])[0]
            except ColorizeError as e:
                raise HTTPException(500, f"{opened.name}: {e}") from None
            self.kept[key] = chroma
            while len(self.kept) > _KEPT_CHROMAS:
                self.kept.popitem(last=False)
            return chroma

    def colorizer(self, render_factor: int | None, vividness: float) -> Colorizer:
        """The pipeline at these settings, over the one loaded model; settings its engine cannot run are a 422."""
        try:
            return Colorizer(self.base.backend, self.base.inference, render_factor, 1, vividness, self.base.mirror)
        except ColorizeError as e:
            raise HTTPException(422, str(e)) from None

    def settings(self, req: RenderIn) -> str:
        """What the record beside a saved output says it was made with, as `colorize photos` words it."""
        return run_settings(self.weights, req.render_factor, req.vividness, self.base.mirror)

    def siblings(self, opened: OpenPhoto) -> list[Job]:
        """The photos of a folder photo's own folder (itself included) as `colorize photos` plans them: what names
        its result and hints file, without walking the rest of the served folder."""
        folder = opened.source.parent
        try:
            jobs = plan_folder(folder, folder, recursive=False, suffix=SUFFIX, ext="auto")
        except ColorizeError as e:  # the folder was moved, renamed or unplugged
            raise HTTPException(404, str(e)) from None
        return [j for j in jobs if j.error is None]

    def hints_file(self, opened: OpenPhoto) -> Path | None:
        """The hints file `colorize photos` would read for this folder photo now, if there is one."""
        if opened.source is None:
            return None
        mine = [j for j in attach_hints(self.siblings(opened), opened.source.parent, None) if j.src == opened.source]
        return mine[0].hints.image if mine and mine[0].hints else None

    def load_painted(self, opened: OpenPhoto) -> None:
        """Read the photo's hints file into `opened`: its clicks, and its strokes kept in a scratch file."""
        opened.painted = self.hints_file(opened)
        opened.painted_identity = None if opened.painted is None else file_identity(opened.painted)
        opened.dots, opened.strokes, opened.painted_error = [], None, None
        if opened.painted is None:
            return
        try:
            rgba, mask = read_painted(opened.painted)
        except BadInputError as e:
            opened.strokes, opened.painted_error = opened.painted, str(e)
            return
        opened.dots, strokes = split_dots(opened.painted, rgba, mask, *opened.photo.gray.shape)
        if (strokes[..., 3] > 0).any():
            opened.strokes = Path(self.scratch.name) / f"{secrets.token_hex(8)}.png"
            atomic_write(opened.strokes, lambda tmp: Image.fromarray(strokes, "RGBA").save(tmp, format="PNG"))

    def load_reference(self, opened: OpenPhoto) -> None:
        """Read a folder photo's own reference photo into `opened`, as `colorize photos` finds it."""
        path = reference_beside(opened.source)
        opened.reference, opened.reference_error = None, None
        if path is not None:
            try:
                opened.reference = Reference.open(path, self.max_megapixels)
            except BadInputError as e:
                opened.reference_error = str(e)

    def render(self, req: RenderIn) -> tuple[OpenPhoto, np.ndarray]:
        """(the photo, its colour (H, W, 3) uint8) with the request's clicks, unless cleared its strokes, and its
        own reference photo."""
        opened = self.get(req.photo)
        points = tuple(PointHint.parse(f"{d.x},{d.y}=#{bytes(d.rgb).hex()}") for d in to_dots(req.hints, *opened.photo.gray.shape))
        strokes = opened.strokes if req.keep_painted else None
        hints = Hints(points, strokes, opened.reference)
        return opened, self.result(opened, req, hints if points or strokes or opened.reference else None)

    def result(self, opened: OpenPhoto, req: RenderIn, hints: Hints | None) -> np.ndarray:
        """The photo in colour (H, W, 3) uint8 at the request's settings with `hints`, as `colorize photo` makes it."""
        gray = opened.photo.gray
        try:
            chroma = Colorizer.apply_hints(gray, self.model_chroma(req.photo, req.render_factor, req.vividness), hints)
        except BadInputError as e:
            raise HTTPException(422, f"{e}; clear the painted hints to go on without them") from None
        return merge(gray, chroma)

    def hints_file_bytes(self, req: RenderIn) -> bytes | None:
        """The hints file of what the page shows: the strokes (unless cleared) with the clicks, or the clicks alone;
        None for no hints at all."""
        opened = self.get(req.photo)
        dots = to_dots(req.hints, *opened.photo.gray.shape)
        strokes = opened.strokes if req.keep_painted else None
        if strokes is None:
            return encode_hints(None, dots, *opened.photo.gray.shape) if dots else None
        try:
            rgba, mask = read_painted(strokes)
        except BadInputError as e:
            raise HTTPException(422, f"{e}; clear the painted hints to go on without them") from None
        return encode_hints(as_layer(rgba, mask), dots, *opened.photo.gray.shape)

    def unchanged_hints(self, req: RenderIn) -> bool:
        """Whether the page shows the photo's hints file as it was opened: strokes kept, the same clicks."""
        opened = self.get(req.photo)
        dots = to_dots(req.hints, *opened.photo.gray.shape)
        return opened.painted is not None and req.keep_painted and sorted(map(astuple, dots)) == sorted(map(astuple, opened.dots))

    def keep_open(self, photo_id: str, opened: OpenPhoto) -> None:
        """Hold `opened` under `photo_id`, the least recently opened dropped past _KEPT_PHOTOS (each holds a decoded
        photo: a folder run from the page must not hold them all)."""
        self.photos.pop(photo_id, None)
        self.photos[photo_id] = opened
        while len(self.photos) > _KEPT_PHOTOS:
            self.photos.pop(next(iter(self.photos)))

    def get(self, photo_id: str) -> OpenPhoto:
        if photo_id not in self.photos:
            raise HTTPException(404, f"{shown(photo_id)}: not open; open it from the folder or upload it first")
        return self.photos[photo_id]


def shown(name: str) -> str:
    """A name as an error echoes it: cut short, so a 5000-character path makes a one-line message."""
    return name if len(name) <= _SHOWN_CHARS else name[:_SHOWN_CHARS] + "…"


def to_dots(hints: list[HintIn], height: int, width: int) -> list[Dot]:
    """The page's clicks as pixels of the photo; a click outside it is a 400."""
    dots = []
    for h in hints:
        if h.x >= width or h.y >= height:
            raise HTTPException(400, f"hint at {h.x:g},{h.y:g} is outside the {width}x{height} photo")
        dots.append(Dot(int(h.x), int(h.y), tuple(bytes.fromhex(h.color[1:]))))
    return dots
