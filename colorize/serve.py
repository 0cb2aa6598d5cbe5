"""`colorize serve`: a local web page over the same pipeline, writer, naming, records and hints files as the CLI.

The page (colorize/static/) opens photos from the served folder or by upload, shows before and after, and re-renders
on every hint, vividness or render-factor change. The model's colour does not depend on hints, so it is computed
once per photo file and setting and kept (`Session`); a hint change only reruns the solve and the merge. Saving
writes exactly what `colorize photos` writes for the same photo, hints and settings, under the name it gives (one
planning function for both) and with the record that lets a rerun of either skip it.

A hints file beside a photo is the user's work: the page shows its strokes, adds its clicks to them, never removes
or flattens what it did not show and the user did not clear, and keeps the file it replaces as `NAME.hints.png~`.

Safe by default: binds 127.0.0.1 and answers only its own Host names and Origin (`colorize.page_guard`); any other
host needs a token. Only files inside the folder can be read or written (no `..`, no absolute paths, no hidden
files, no symbolic link out of the folder); uploads are capped in bytes and decoded pixels (the CLI's bomb guard);
a bad request is a 4xx with a one-line message.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import secrets
import socket
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Annotated, Callable
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image

from colorize.atomic import WriteError, atomic_write, keep_backup
from colorize.errors import BadInputError, ColorizeError
from colorize.hint_files import encode_hints, overlay
from colorize.edge_aware import fit
from colorize.hint_solver import WORK_PX
from colorize.hints import Hints, read_painted
from colorize.images import Photo, read_photo, write_photo
from colorize.page_guard import PageGuard
from colorize.page_session import SUFFIX, OpenIn, OpenPhoto, RenderIn, Session, file_identity, shown, version_of
from colorize.photos import PENDING, fingerprint, write_record
from colorize.plan import own_hints_path, record_path
from colorize.reference import Reference, read_reference
from colorize.sheets import thumbnail

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_MB = 64.0


def encode(img: np.ndarray | Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(img) if isinstance(img, np.ndarray) else img
    im.save(buf, format=fmt, **({"quality": 92} if fmt == "JPEG" else {"compress_level": 1}))
    return buf.getvalue()


def attachment(name: str) -> dict[str, str]:
    """A download's Content-Disposition for any file name (RFC 6266 with RFC 5987's `filename*` for non-ASCII)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    extended = "" if fallback == name else f"; filename*=UTF-8''{quote(os.fsencode(name), safe='')}"
    return {"Content-Disposition": f'attachment; filename="{fallback}"{extended}'}


router = APIRouter()


def _session(request: Request) -> Session:
    return request.app.state.session


def create_app(session: Session, guard: PageGuard | None = None, max_upload_mb: float = MAX_UPLOAD_MB) -> FastAPI:
    """The web app over `session`, answering only what `guard` allows (default: a server on 127.0.0.1, no token)."""
    guard = guard or PageGuard("127.0.0.1")
    app = FastAPI(title="colorize", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.session, app.state.max_upload_mb = session, max_upload_mb

    @app.middleware("http")
    async def check_request(request: Request, call_next: Callable) -> Response:
        given = request.headers.get("x-colorize-token") or request.query_params.get("token")
        refused = guard.refusal(request.method, request.url.path, [(k.lower(), v) for k, v in request.headers.items()], given)
        if refused is not None:
            return JSONResponse({"error": refused}, 403)
        response = await call_next(request)
        # Never framed by another site, never sniffed into another type, never leaking the token in a Referer.
        response.headers.update({"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})
        return response

    @app.exception_handler(HTTPException)
    async def one_line(request: Request, exc: HTTPException) -> JSONResponse:
        return AsciiJSON({"error": exc.detail}, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """The first problem, in one line, without echoing the input (a NaN there cannot even be sent back)."""
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return JSONResponse({"error": f"{where or 'request'}: {first.get('msg', 'invalid')}"}, 422)

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


SessionDep = Annotated[Session, Depends(_session)]


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html")


class AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: a file name that is not valid UTF-8 (a Latin-1 name on a UTF-8
    system) reaches the page and comes back as the same name, instead of failing to encode."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


@router.get("/api/photos")
def photos(session: SessionDep) -> Response:
    """The folder's photos, each marked done when its colorized output exists under the name a save gives it, and the
    model's own render factor (the most the page offers)."""
    return AsciiJSON({"folder": str(session.folder) if session.folder else None,
                      "render_factor": session.base.inference.render_factor,
                      "photos": [{"path": pid, "done": job.dst.exists()} for pid, job in session.listing().items()]})


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
def open_folder_photo(req: OpenIn, session: SessionDep) -> Response:
    src = _folder_photo(session, req.path)
    identity = file_identity(src)  # before reading: a file replaced meanwhile then reads as changed at Save
    opened = OpenPhoto(src.name, _read(session, src), source=src, identity=identity)
    session.load_painted(opened)
    session.load_reference(opened)
    session.keep_open(req.path, opened)
    return AsciiJSON(_described(req.path, opened))


def _uploaded(request: Request, file: UploadFile) -> tuple[str, bytes]:
    """An uploaded file's name and bytes, refused past the upload limit."""
    limit = request.app.state.max_upload_mb
    data = file.file.read(int(limit * 2**20) + 1)
    name = Path(file.filename or "upload").name
    if len(data) > limit * 2**20:
        raise HTTPException(413, f"{shown(name)}: larger than the {limit:g} MB upload limit")
    return name, data


@router.post("/api/upload")
def upload(request: Request, session: SessionDep, file: UploadFile = File(...)) -> Response:
    name, data = _uploaded(request, file)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{Path(name).suffix.lower()[:16]}"
        path.write_bytes(data)
        photo = _read(session, path, 415, shown_as=shown(name))
    photo_id = f"upload-{secrets.token_hex(6)}"
    session.keep_open(photo_id, OpenPhoto(name, photo))
    return AsciiJSON(_described(photo_id, session.photos[photo_id]))


@router.post("/api/reference")
def reference(request: Request, session: SessionDep, photo: str = Form(...), file: UploadFile = File(...)) -> Response:
    """Where a reference photo is found in an open photo: its colours there, as hints the page shows, moves and
    deletes like the user's own (`colorize.reference.Matched.points`); none where nothing of it is found."""
    gray = session.get(photo).photo.gray
    name, data = _uploaded(request, file)
    try:
        ref = Reference(read_reference(io.BytesIO(data), shown(name), session.max_megapixels), shown(name))
    except BadInputError as e:
        raise HTTPException(415, str(e)) from None
    points = ref.match(gray, fit(*gray.shape, WORK_PX)).points(*gray.shape)
    hints = [{"x": x, "y": y, "color": "#%02x%02x%02x" % rgb} for x, y, rgb in points]
    return AsciiJSON({"name": name, "hints": hints})


@router.get("/api/original")
def original(photo: str, session: SessionDep) -> Response:
    return Response(encode(session.get(photo).photo.gray), media_type="image/jpeg")


@router.get("/api/painted")
def painted(photo: str, session: SessionDep) -> Response:
    """The strokes of the photo's hints file as the page overlays them: opaque, the rest transparent."""
    strokes = session.get(photo).strokes
    if strokes is None:
        raise HTTPException(404, f"{shown(photo)}: has no painted hints")
    try:
        return Response(encode(overlay(*read_painted(strokes)), "PNG"), media_type="image/png")
    except BadInputError as e:
        raise HTTPException(422, str(e)) from None


@router.post("/api/render")
def render(req: RenderIn, session: SessionDep) -> Response:
    t0 = time.perf_counter()
    _, rgb = session.render(req)
    body = encode(rgb)
    return Response(body, media_type="image/jpeg", headers={"X-Render-Ms": f"{1e3 * (time.perf_counter() - t0):.0f}"})


@router.post("/api/save")
def save(req: RenderIn, session: SessionDep) -> Response:
    """Write the result and its hints file beside a folder photo, named, recorded and made as `colorize photos
    FOLDER -o FOLDER` makes them; a replaced or removed hints file is kept as `NAME.hints.png~`. Refused where the
    photo or its hints file changed since this page opened it (another program, another tab), or where a file of
    the result's name is there that colorize did not make."""
    opened = session.get(req.photo)
    if opened.source is None:
        raise HTTPException(400, f"{opened.name} was uploaded, not opened from the folder: use Download")
    with session.save_lock:  # one Save at a time: two at once would both pass the check below
        return _save(req, session, opened)


def _save(req: RenderIn, session: Session, opened: OpenPhoto) -> Response:
    painted = session.hints_file(opened)
    now = version_of(file_identity(opened.source), painted, painted and file_identity(painted))
    if now != opened.version or req.version not in (None, now):
        raise HTTPException(409, f"{opened.name}: it or its hints file changed since this page opened it (another "
                                 "program or tab saved it); open it again")
    siblings = session.siblings(opened)
    job = next((j for j in siblings if j.src == opened.source), None)
    if job is None:
        raise HTTPException(404, f"{shown(req.photo)}: no longer a photo of the served folder")
    own = own_hints_path(job, siblings)
    if job.dst.exists() and not record_path(job.dst).is_file():
        raise HTTPException(409, f"{job.dst.name}: already there and not made by colorize; move it away to save here")
    try:
        notes = {"written": [], "kept": []} if session.unchanged_hints(req) else _save_hints(session, opened, req, own)
        painted = session.hints_file(opened)
        job = dataclasses.replace(job, hints=Hints(image=painted, reference=opened.reference) if painted or opened.reference else None)
        rgb = session.result(opened, req, job.hints)
        write_record(job, PENDING)
        written = write_photo(job.dst, rgb, opened.photo)
        write_record(job, fingerprint(job, session.settings(req)))
    except (OSError, WriteError) as e:
        raise _cannot_write(job.dst.name, e) from None
    except ColorizeError as e:
        raise HTTPException(409, str(e)) from None
    finally:
        session.load_painted(opened)  # the hints file as it is now, written or not: the next Save starts from it
    return AsciiJSON({"written": [written.name] + notes["written"], "kept": notes["kept"], **_painted(opened)})


def _save_hints(session: Session, opened: OpenPhoto, req: RenderIn, own: Path) -> dict[str, list[str]]:
    """Write the photo's own hints file `own` as the page shows the hints, keeping the file it replaces as `~`.
    Returns the names written and kept."""
    data = session.hints_file_bytes(req)
    if data is None:
        backup = keep_backup(own, move=True)
        if session.hints_file(opened) is None:
            return {"written": [], "kept": [backup.name] if backup else []}
        # A NAME.hints.png of photos sharing this one's stem would apply to it: its own file, empty, says "none".
        data = encode_hints(None, [], *opened.photo.gray.shape)
    else:
        backup = keep_backup(own)
    atomic_write(own, lambda tmp: tmp.write_bytes(data))
    return {"written": [own.name], "kept": [backup.name] if backup else []}


def _cannot_write(name: str, e: OSError | WriteError) -> HTTPException:
    """A failed write as the page reports it: 507 for a full disk, 403 for a folder that refuses it, else 500."""
    code = e.errno
    status = 507 if code in (errno.ENOSPC, errno.EDQUOT) else 403 if code in (errno.EACCES, errno.EPERM, errno.EROFS) else 500
    return HTTPException(status, f"{name}: cannot save it beside the photo ({os.strerror(code) if code else e})")


@router.post("/api/download")
def download(req: RenderIn, session: SessionDep) -> Response:
    """The full-resolution result as a PNG file, named as the CLI would name it."""
    opened, rgb = session.render(req)
    img = Image.fromarray(rgb)
    if opened.photo.alpha is not None:
        img.putalpha(Image.fromarray(opened.photo.alpha))
    return Response(encode(img, "PNG"), media_type="image/png", headers=attachment(f"{Path(opened.name).stem}{SUFFIX}.png"))


@router.post("/api/hints-file")
def hints_file(req: RenderIn, session: SessionDep) -> Response:
    """The hints file Save would write (an empty one for no hints), to download."""
    opened = session.get(req.photo)
    data = session.hints_file_bytes(req) or encode_hints(None, [], *opened.photo.gray.shape)
    return Response(data, media_type="image/png", headers=attachment(f"{Path(opened.name).stem}.hints.png"))


def _folder_photo(session: Session, path: str) -> Path:
    """The folder photo with id `path` (as `Session.listing` names it), or 404: no absolute path, no `..`, no hidden
    file, nothing that resolves outside the folder, nothing the system cannot even look up (a name too long).
    Checked for this one path: a page of thumbnails does not walk the folder once per thumbnail."""
    parts = PurePosixPath(path).parts
    src = None if session.folder is None else session.folder.joinpath(*parts)
    try:
        found = not (src is None or not parts or PurePosixPath(path).is_absolute()
                     or any(p == ".." or p.startswith(".") for p in parts)
                     or not src.is_file() or session.folder.resolve() not in src.resolve().parents)
    except (OSError, ValueError):
        found = False
    if not found:
        raise HTTPException(404, f"{shown(path)}: no such photo in the served folder")
    return src


def _described(photo_id: str, opened: OpenPhoto) -> dict:
    """What the page needs of an open photo: its id, name and size, whether it can be saved, and its hints file."""
    h, w = opened.photo.gray.shape
    return {"id": photo_id, "name": opened.name, "width": w, "height": h, "folder": opened.source is not None,
            "reference": opened.reference and Path(opened.reference.name).name, "reference_error": opened.reference_error,
            **_painted(opened)}


def _painted(opened: OpenPhoto) -> dict:
    """The photo's hints file as the page shows it: its name, its clicks (markers) and whether it has strokes."""
    return {"version": opened.version, "painted": opened.painted and opened.painted.name, "strokes": opened.strokes is not None,
            "dots": [{"x": d.x, "y": d.y, "color": "#" + bytes(d.rgb).hex()} for d in opened.dots],
            "painted_error": opened.painted_error}


def ensure_folder(folder: Path | None) -> None:
    if folder is not None and not folder.is_dir():
        raise ColorizeError(f"{folder}: is a file; give the folder of photos to serve, or none to open photos in the page"
                            if folder.exists() else f"{folder}: no such folder")


def check_port(host: str, port: int) -> None:
    """One line before the model loads, where the address cannot be listened on (another server has the port)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise ColorizeError(f"{host}:{port}: cannot listen there ({e.strerror or e}); choose another --port") from None
