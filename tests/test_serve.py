"""`colorize serve`'s API with FastAPI's test client: upload, render with hints and settings, save as the CLI would;
a photo's own reference photo applied and saved as the CLI would; bad uploads, paths out of the folder and tokens."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app as cli
from colorize.color.ycbcr import lab_ab
from colorize.inference import load_colorizer
from colorize.page_guard import PageGuard, required_token
from colorize.serve import Session, create_app

from helpers import painted, write_photo_file

runner = CliRunner()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    write_photo_file(album / "a.png", h=64, w=96, seed=1)
    write_photo_file(album / "sub" / "b.jpg", h=48, w=64, seed=2)
    (album / "notes.txt").write_text("not a photo")
    return album


def client_for(folder: Path | None, weights: Path, token: str | None = None, **kwargs: object) -> TestClient:
    session = Session(folder, load_colorizer(weights, device="cpu", batch_size=1, render_factor=7), **kwargs)
    return TestClient(create_app(session, PageGuard("127.0.0.1", token)), base_url="http://127.0.0.1:8000")


def png_bytes(h: int = 40, w: int = 50, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def decode(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(int)


def test_the_folder_is_listed_and_its_photos_open(folder: Path, tiny_weights: Path) -> None:
    c = client_for(folder, tiny_weights)
    listed = c.get("/api/photos").json()
    assert [p["path"] for p in listed["photos"]] == ["a.png", "notes.txt", "sub/b.jpg"]  # photos are known by content
    assert not any(p["done"] for p in listed["photos"])
    opened = c.post("/api/open", json={"path": "sub/b.jpg"}).json()
    assert len(opened.pop("version")) == 16
    assert opened == {"id": "sub/b.jpg", "name": "b.jpg", "width": 64, "height": 48, "folder": True, "painted": None,
                      "strokes": False, "dots": [], "painted_error": None, "reference": None, "reference_error": None}
    bad = c.post("/api/open", json={"path": "notes.txt"})
    assert bad.status_code == 422 and "notes.txt: not an image" in bad.json()["error"]
    assert c.get("/api/thumbnail", params={"path": "a.png"}).headers["content-type"] == "image/jpeg"
    assert "colorize" in c.get("/").text


def test_hints_and_vividness_change_the_render_and_an_edit_reruns_only_the_solve(folder: Path, tiny_weights: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    c = client_for(folder, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    plain = decode(c.post("/api/render", json={"photo": "a.png"}).content)
    assert plain.shape == (64, 96, 3)
    from colorize.pipeline import Colorizer

    runs = []
    real = Colorizer.model_chroma
    monkeypatch.setattr(Colorizer, "model_chroma", lambda self, grays: runs.append(1) or real(self, grays))
    red = decode(c.post("/api/render", json={"photo": "a.png", "hints": [{"x": 20, "y": 30, "color": "#ff0000"}]}).content)
    moved = decode(c.post("/api/render", json={"photo": "a.png", "hints": [{"x": 70, "y": 30, "color": "#ff0000"}]}).content)
    assert runs == []  # the model's colour was kept; only the hints changed
    assert red[30, 20, 0] - red[30, 20, 1:].mean() > plain[30, 20, 0] - plain[30, 20, 1:].mean() + 20
    assert np.abs(moved - red).max() > 20
    vivid = decode(c.post("/api/render", json={"photo": "a.png", "vividness": 3}).content)
    assert runs == [1] and np.abs(vivid - plain).mean() > 1  # a new setting: the model runs once more
    outside = c.post("/api/render", json={"photo": "a.png", "hints": [{"x": 96, "y": 0, "color": "#ff0000"}]})
    assert outside.status_code == 400 and "outside the 96x64 photo" in outside.json()["error"]
    assert c.post("/api/render", json={"photo": "a.png", "hints": [{"x": 1, "y": 1, "color": "red"}]}).status_code == 422


def test_a_saved_result_equals_colorize_photo_with_the_same_hints(folder: Path, tiny_weights: Path) -> None:
    c = client_for(folder, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    hints = [{"x": 20, "y": 30, "color": "#2050c0"}, {"x": 80, "y": 10, "color": "#40a040"}]
    saved = c.post("/api/save", json={"photo": "a.png", "hints": hints, "vividness": 1.5, "render_factor": 9})
    assert saved.json()["written"] == ["a_color.png", "a.hints.png"] and saved.json()["kept"] == []
    assert c.get("/api/photos").json()["photos"][0]["done"]
    page = np.asarray(Image.open(folder / "a_color.png"))
    # The CLI reads the saved hints image beside the photo...
    (folder / "notes.txt").unlink()
    r = runner.invoke(cli, ["photos", str(folder), "-o", str(folder.parent / "cli"), "-w", str(tiny_weights), "--device", "cpu",
                            "--engine", "torch", "--vividness", "1.5", "-r", "9"])
    assert r.exit_code == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(folder.parent / "cli" / "a_color.png")), page)
    # ... and gives the same from the same hints typed as --hint.
    r = runner.invoke(cli, ["photo", str(folder / "a.png"), "-o", str(folder.parent / "typed.png"), "-w", str(tiny_weights),
                            "--device", "cpu", "--engine", "torch", "--vividness", "1.5", "-r", "9",
                            "--hint", "20,30=#2050c0", "--hint", "80,10=#40a040"])
    assert r.exit_code == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(folder.parent / "typed.png")), page)
    # Saving with the hints cleared removes the hints file, which would otherwise bring them back, and keeps it as ~.
    saved = c.post("/api/save", json={"photo": "a.png", "vividness": 1.5, "render_factor": 9, "keep_painted": False})
    assert saved.json()["written"] == ["a_color.png"] and saved.json()["kept"] == ["a.hints.png~"]
    assert not (folder / "a.hints.png").exists() and (folder / "a.hints.png~").exists()


def test_uploads_render_and_download_but_are_never_saved(tiny_weights: Path) -> None:
    c = client_for(None, tiny_weights)
    assert c.get("/api/photos").json() == {"folder": None, "render_factor": 35, "photos": []}  # the tiny checkpoint records no factor: the default
    up = c.post("/api/upload", files={"file": ("grandma.png", png_bytes(), "image/png")}).json()
    assert up["name"] == "grandma.png" and (up["width"], up["height"]) == (50, 40) and not up["folder"]
    got = c.post("/api/download", json={"photo": up["id"]})
    assert got.headers["content-disposition"] == 'attachment; filename="grandma_color.png"'
    assert decode(got.content).shape == (40, 50, 3)
    hints = c.post("/api/hints-file", json={"photo": up["id"], "hints": [{"x": 3, "y": 4, "color": "#102030"}]})
    rgba = np.asarray(Image.open(io.BytesIO(hints.content)))
    assert rgba.shape == (40, 50, 4) and tuple(rgba[4, 3]) == (0x10, 0x20, 0x30, 255) and rgba[..., 3].sum() == 255
    refused = c.post("/api/save", json={"photo": up["id"]})
    assert refused.status_code == 400 and "use Download" in refused.json()["error"]


@pytest.mark.parametrize(("name", "body", "status", "message"), [
    ("notes.png", b"hello, I am text", 415, "notes.png: not an image"),
    ("cut.png", png_bytes()[:200], 415, "cut.png: corrupt or truncated"),
    ("huge.png", png_bytes(1200, 1000), 415, "huge.png: 1000x1200 is 1 MP, over the 1 MP cap"),
])
def test_bad_uploads_are_one_line_4xx(tiny_weights: Path, name: str, body: bytes, status: int, message: str) -> None:
    c = client_for(None, tiny_weights, max_megapixels=1.0)
    r = c.post("/api/upload", files={"file": (name, body, "image/png")})
    assert r.status_code == status and message in r.json()["error"] and "Traceback" not in r.text


def test_an_upload_over_the_size_limit_is_refused(tiny_weights: Path) -> None:
    session = Session(None, load_colorizer(tiny_weights, device="cpu", batch_size=1, render_factor=7))
    c = TestClient(create_app(session, max_upload_mb=1.0), base_url="http://localhost:8000")
    r = c.post("/api/upload", files={"file": ("big.png", b"\0" * (2**20 + 10), "image/png")})
    assert r.status_code == 413 and "larger than the 1 MB upload limit" in r.json()["error"]


def test_nothing_outside_the_folder_can_be_read_or_written(folder: Path, tiny_weights: Path, tmp_path: Path) -> None:
    secret = write_photo_file(tmp_path / "secret.png")
    os.symlink(secret, folder / "link.png")
    c = client_for(folder, tiny_weights)
    assert "link.png" not in [p["path"] for p in c.get("/api/photos").json()["photos"]]
    for path in ("../secret.png", str(secret), "link.png", "sub/../../secret.png", "a.png/../../secret.png"):
        r = c.post("/api/open", json={"path": path})
        assert r.status_code == 404 and "no such photo in the served folder" in r.json()["error"]
        assert c.get("/api/thumbnail", params={"path": path}).status_code == 404
    assert c.get("/static/../serve.py").status_code == 404
    assert c.post("/api/render", json={"photo": "../secret.png"}).status_code == 404


def test_a_token_is_required_beyond_localhost(folder: Path, tiny_weights: Path) -> None:
    assert required_token("127.0.0.1", None) is None
    token = required_token("0.0.0.0", None)
    assert token and required_token("0.0.0.0", "mine") == "mine"
    c = client_for(folder, tiny_weights, token=token)
    for headers in ({}, {"X-Colorize-Token": "wrong"}):
        r = c.get("/api/photos", headers=headers)
        assert r.status_code == 403 and "token" in r.json()["error"]
    assert c.get("/api/photos", headers={"X-Colorize-Token": token}).status_code == 200
    assert c.get("/api/photos", params={"token": token}).status_code == 200  # as the page's images carry it
    page = c.get("/", params={"token": token})  # the printed URL: the page holds nothing private, and sets no cookie
    assert page.status_code == 200 and "set-cookie" not in page.headers
    assert c.get("/static/app.js").status_code == 200 and c.get("/api/photos").status_code == 403


def test_serve_refuses_a_missing_folder(tmp_path: Path) -> None:
    r = runner.invoke(cli, ["serve", str(tmp_path / "nope"), "--no-browser"])
    assert r.exit_code == 1 and "nope: no such folder" in r.stderr


def test_a_photos_own_reference_is_applied_on_the_page_and_a_saved_result_is_what_photos_makes(
        tmp_path: Path, tiny_weights: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    gray = np.asarray(Image.open(Path(__file__).resolve().parents[1] / "samples" / "heldout_hill.jpg"))
    real = painted(gray)
    Image.fromarray(gray).save(album / "hill.png")
    Image.fromarray(np.ascontiguousarray(real[30:330, 20:440][:, ::-1])).save(album / "hill.ref.jpg")
    session = Session(album, load_colorizer(tiny_weights, device="cpu", batch_size=1), weights=tiny_weights)
    c = TestClient(create_app(session), base_url="http://127.0.0.1:8000")
    assert [p["path"] for p in c.get("/api/photos").json()["photos"]] == ["hill.png"]  # the reference is no photo
    opened = c.post("/api/open", json={"path": "hill.png"}).json()
    assert opened["reference"] == "hill.ref.jpg"
    shown = decode(c.post("/api/render", json={"photo": "hill.png"}).content).astype(np.uint8)
    assert np.abs(lab_ab(shown) - lab_ab(real)).mean() < 0.6 * np.abs(lab_ab(np.repeat(gray[..., None], 3, -1)) - lab_ab(real)).mean()
    assert c.post("/api/save", json={"photo": "hill.png"}).status_code == 200
    r = runner.invoke(cli, ["photos", str(album), "-o", str(album), "-w", str(tiny_weights), "--device", "cpu"])
    assert r.exit_code == 0 and "colorized 0, skipped 1" in r.stderr, r.stderr
