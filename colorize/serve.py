"""`colorize serve`: a local web page over the same pipeline, writer, naming and hints files as the CLI.

The page (colorize/static/) opens photos from the served folder or by upload, shows before and after, and re-renders
on every hint, vividness or render-factor change. The model's colour does not depend on hints, so it is computed
once per photo and setting and kept (`Session`); a hint change only reruns the solve and the merge. Saving writes
exactly what `colorize photo` writes for the same photo, hints and settings, beside the photo, with the hints as
`NAME.hints.png` so `colorize photos` reproduces it.

Safe by default: binds 127.0.0.1; any other host needs a token, checked on every request. Only files inside the
folder can be read or written (no `..`, no absolute paths, no hidden files, no symbolic link out of the folder); uploads are
capped in bytes and decoded pixels (the CLI's bomb guard); a bad request is a 4xx with a one-line message.
"""

from __future__ import annotations

import io
import logging
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Callable

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from pydantic import BaseModel, Field

from colorize.atomic import atomic_write
from colorize.color.ycbcr import merge
from colorize.errors import BadInputError, ColorizeError
from colorize.hints import HINTS_SUFFIX, Hints, PointHint
from colorize.images import DEFAULT_MAX_MEGAPIXELS, Photo, read_photo, write_photo
from colorize.photos import Job, plan_folder, plan_single
from colorize.pipeline import MIN_RENDER_FACTOR, Colorizer
from colorize.sheets import thumbnail

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_MB = 64.0
SUFFIX = "_color"  # the CLI's default, so the page's outputs are the CLI's
_KEPT_COLOURS = 16  # model colours kept (per photo and setting), least recently used dropped first
TOKEN_COOKIE = "colorize_token"


class HintIn(BaseModel):
    """One hint as the page sends it: pixels of the photo and a #rrggbb colour."""

    x: float = Field(ge=0)
    y: float = Field(ge=0)
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


class RenderIn(BaseModel):
    """What to render: which open photo, its hints, and the settings."""

    photo: str
    hints: list[HintIn] = []
    vividness: float = Field(1.0, ge=0.1, le=5.0)
    render_factor: int | None = Field(None, ge=MIN_RENDER_FACTOR, le=100)


class OpenIn(BaseModel):
    """A photo of the served folder, by its path relative to the folder."""

    path: str


@dataclass
class OpenPhoto:
    """A decoded photo the page works on: from the folder (`source`) or uploaded (`name` only)."""

    name: str
    photo: Photo
    source: Path | None = None


@dataclass
class Session:
    """The server's state: the folder, the open photos, and the model's colour kept per photo and setting."""

    folder: Path | None
    base: Colorizer
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    photos: dict[str, OpenPhoto] = field(default_factory=dict)
    kept: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def listing(self) -> dict[str, Job]:
        """The folder's photos by id (path relative to the folder, POSIX), each with where its result goes. A
        symbolic link out of the folder is not listed (nor opened: `_folder_photo`)."""
        if self.folder is None:
            return {}
        root = self.folder.resolve()
        jobs = plan_folder(self.folder, self.folder, recursive=True, suffix=SUFFIX, ext="auto")
        return {j.src.relative_to(self.folder).as_posix(): j for j in jobs
                if j.error is None and root in j.src.resolve().parents}

    def color(self, photo_id: str, render_factor: int | None, vividness: float) -> np.ndarray:
        """The model's colour for an open photo at these settings, computed once and kept."""
        key = (photo_id, render_factor, vividness)
        with self.lock:
            if key in self.kept:
                self.kept.move_to_end(key)
                return self.kept[key]
            try:
                chroma = self.colorizer(render_factor, vividness).model_chroma([self.photos[photo_id].photo.gray])[0]
            except ColorizeError as e:
                raise HTTPException(500, f"{self.photos[photo_id].name}: {e}") from None
            self.kept[key] = chroma
            while len(self.kept) > _KEPT_COLOURS:
                self.kept.popitem(last=False)
            return chroma

    def colorizer(self, render_factor: int | None, vividness: float) -> Colorizer:
        """The pipeline at these settings, over the one loaded model."""
        return Colorizer(self.base.backend, self.base.inference, render_factor, 1, vividness, self.base.mirror)

    def render(self, req: RenderIn) -> tuple[OpenPhoto, np.ndarray]:
        """(the photo, its colour (H, W, 3) uint8) as `colorize photo` would make it."""
        opened = self.get(req.photo)
        gray = opened.photo.gray
        hints = to_hints(req.hints, *gray.shape)
        chroma = Colorizer.apply_hints(gray, self.color(req.photo, req.render_factor, req.vividness), hints)
        return opened, merge(gray, chroma)

    def get(self, photo_id: str) -> OpenPhoto:
        if photo_id not in self.photos:
            raise HTTPException(404, f"{photo_id}: not open; open it from the folder or upload it first")
        return self.photos[photo_id]


def to_hints(hints: list[HintIn], height: int, width: int) -> Hints | None:
    """The page's hints as the CLI's (`--hint X,Y=#rrggbb`); None for none. A hint outside the photo is a 400."""
    points = []
    for h in hints:
        if h.x >= width or h.y >= height:
            raise HTTPException(400, f"hint at {h.x:g},{h.y:g} is outside the {width}x{height} photo")
        points.append(PointHint.parse(f"{int(h.x)},{int(h.y)}={h.color}"))
    return Hints(tuple(points)) if points else None


def hints_image(hints: list[HintIn], height: int, width: int) -> Image.Image:
    """`NAME.hints.png`: transparent, one opaque pixel of its colour at each hint, read back by `Hints(image=...)`
    into the same hints (same place, same colour)."""
    rgba = np.zeros((height, width, 4), np.uint8)
    for h in hints:
        rgba[int(h.y), int(h.x)] = (*Image.new("RGB", (1, 1), h.color).getpixel((0, 0)), 255)
    return Image.fromarray(rgba, "RGBA")


def encode(img: np.ndarray | Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(img) if isinstance(img, np.ndarray) else img
    im.save(buf, format=fmt, **({"quality": 92} if fmt == "JPEG" else {"compress_level": 1}))
    return buf.getvalue()


router = APIRouter()


def _session(request: Request) -> Session:
    return request.app.state.session


def create_app(session: Session, token: str | None = None, max_upload_mb: float = MAX_UPLOAD_MB) -> FastAPI:
    """The web app over `session`; with `token`, every request must carry it (query, header or cookie)."""
    app = FastAPI(title="colorize", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.session, app.state.max_upload_mb = session, max_upload_mb

    @app.middleware("http")
    async def check_token(request: Request, call_next: Callable) -> Response:
        if token is not None:
            given = (request.query_params.get("token") or request.headers.get("x-colorize-token")
                     or request.cookies.get(TOKEN_COOKIE))
            if given is None or not secrets.compare_digest(given, token):
                return JSONResponse({"error": "missing or wrong token: open the URL colorize serve printed"}, 403)
        response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(HTTPException)
    async def one_line(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, exc.status_code)

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


SessionDep = Annotated[Session, Depends(_session)]


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/api/photos")
def photos(session: SessionDep) -> dict:
    """The folder's photos, each marked done when its colorized output exists."""
    return {"folder": str(session.folder) if session.folder else None,
            "photos": [{"path": pid, "done": job.dst.exists()} for pid, job in session.listing().items()]}


def _read(session: Session, path: Path, status: int = 422, shown_as: str | None = None) -> Photo:
    """A photo decoded under the session's size cap; a bad one is an HTTP error naming it."""
    try:
        return read_photo(path, session.max_megapixels)
    except BadInputError as e:
        raise HTTPException(status, str(e).replace(str(path), shown_as) if shown_as else str(e)) from None


@router.get("/api/thumbnail")
def thumb(path: str, session: SessionDep) -> Response:
    photo = _read(session, _folder_photo(session, path))
    return Response(encode(thumbnail(photo.gray, 160)), media_type="image/jpeg")


@router.post("/api/open")
def open_folder_photo(req: OpenIn, session: SessionDep) -> dict:
    src = _folder_photo(session, req.path)
    session.photos[req.path] = OpenPhoto(src.name, _read(session, src), source=src)
    return _described(req.path, session.photos[req.path])


@router.post("/api/upload")
def upload(request: Request, session: SessionDep, file: UploadFile = File(...)) -> dict:
    limit = request.app.state.max_upload_mb
    data = file.file.read(int(limit * 2**20) + 1)
    if len(data) > limit * 2**20:
        raise HTTPException(413, f"{file.filename}: larger than the {limit:g} MB upload limit")
    name = Path(file.filename or "upload").name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{Path(name).suffix.lower()}"
        path.write_bytes(data)
        photo = _read(session, path, 415, shown_as=name)
    photo_id = f"upload-{secrets.token_hex(6)}"
    session.photos[photo_id] = OpenPhoto(name, photo)
    return _described(photo_id, session.photos[photo_id])


@router.get("/api/original")
def original(photo: str, session: SessionDep) -> Response:
    return Response(encode(session.get(photo).photo.gray), media_type="image/jpeg")


@router.post("/api/render")
def render(req: RenderIn, session: SessionDep) -> Response:
    t0 = time.perf_counter()
    _, rgb = session.render(req)
    body = encode(rgb)
    return Response(body, media_type="image/jpeg", headers={"X-Render-Ms": f"{1e3 * (time.perf_counter() - t0):.0f}"})


@router.post("/api/save")
def save(req: RenderIn, session: SessionDep) -> dict:
    """Write the result and its hints beside a folder photo, as `colorize photo` names them."""
    opened, rgb = session.render(req)
    if opened.source is None:
        raise HTTPException(400, f"{opened.name} was uploaded, not opened from the folder: use Download")
    job = plan_single(opened.source, None, SUFFIX, "auto", overwrite=True)
    written = write_photo(job.dst, rgb, opened.photo)
    hints_path = opened.source.with_name(opened.source.stem + HINTS_SUFFIX)
    if req.hints:
        image = hints_image(req.hints, *opened.photo.gray.shape)
        atomic_write(hints_path, lambda tmp: image.save(tmp, format="PNG"))
    elif hints_path.exists():
        hints_path.unlink()  # no hints now: an old hints file would bring them back in `colorize photos`
    return {"written": [written.name] + ([hints_path.name] if req.hints else [])}


@router.post("/api/download")
def download(req: RenderIn, session: SessionDep) -> Response:
    """The full-resolution result as a PNG file, named as the CLI would name it."""
    opened, rgb = session.render(req)
    name = f"{Path(opened.name).stem}{SUFFIX}.png"
    img = Image.fromarray(rgb)
    if opened.photo.alpha is not None:
        img.putalpha(Image.fromarray(opened.photo.alpha))
    return Response(encode(img, "PNG"), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/api/hints-file")
def hints_file(req: RenderIn, session: SessionDep) -> Response:
    opened = session.get(req.photo)
    name = f"{Path(opened.name).stem}{HINTS_SUFFIX}"
    return Response(encode(hints_image(req.hints, *opened.photo.gray.shape), "PNG"), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _folder_photo(session: Session, path: str) -> Path:
    """The folder photo with id `path` (as `Session.listing` names it), or 404: no absolute path, no `..`, no hidden
    file, nothing that resolves outside the folder. Checked for this one path: a page of thumbnails does not walk the
    folder once per thumbnail."""
    parts = PurePosixPath(path).parts
    src = None if session.folder is None else session.folder.joinpath(*parts)
    if (src is None or not parts or PurePosixPath(path).is_absolute() or any(p == ".." or p.startswith(".") for p in parts)
            or not src.is_file() or session.folder.resolve() not in src.resolve().parents):
        raise HTTPException(404, f"{path}: no such photo in the served folder")
    return src


def _described(photo_id: str, opened: OpenPhoto) -> dict:
    h, w = opened.photo.gray.shape
    return {"id": photo_id, "name": opened.name, "width": w, "height": h, "folder": opened.source is not None}


def required_token(host: str, token: str | None) -> str | None:
    """The token a server on `host` needs: none on loopback unless given, else the given one or a new one."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return token
    return token or secrets.token_urlsafe(16)


def ensure_folder(folder: Path | None) -> None:
    if folder is not None and not folder.is_dir():
        raise ColorizeError(f"{folder}: no such folder")
