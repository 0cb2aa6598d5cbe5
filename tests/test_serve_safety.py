"""`colorize serve` as other sites and careless saves meet it: only its own Host names and Origin are answered, Save
writes exactly what `colorize photos` writes (names, records), a hints file on disk is the user's work, a changed
photo is coloured again, and every bad request is a one-line 4xx."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from colorize.cli import app as cli
from colorize.inference import load_colorizer
from colorize.page_guard import PageGuard
from colorize.serve import Session, create_app

from conftest import write_photo_file
from test_hostile import huge_png_header

runner = CliRunner()
PAGE = "http://127.0.0.1:8000"


def client(folder: Path | None, weights: Path, guard: PageGuard | None = None, base_url: str = PAGE) -> TestClient:
    session = Session(folder, load_colorizer(weights, device="cpu", batch_size=1, render_factor=7), weights=weights)
    return TestClient(create_app(session, guard), base_url=base_url)


def cli_photos(folder: Path, out: Path, weights: Path, *extra: str) -> str:
    r = runner.invoke(cli, ["photos", str(folder), "-o", str(out), "-w", str(weights), "--device", "cpu", "--engine", "torch",
                            *extra])
    assert r.exit_code == 0, r.stderr
    return r.stderr


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


@pytest.fixture()
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    folder.mkdir()
    write_photo_file(folder / "a.png", h=48, w=64, seed=1)
    return folder


# --- who may ask ---------------------------------------------------------------------------------------------------

def test_a_name_other_than_the_servers_own_is_refused_as_dns_rebinding(album: Path, tiny_weights: Path) -> None:
    evil = client(album, tiny_weights, base_url="http://evil.example:8000")
    for call in (lambda: evil.get("/api/photos"), lambda: evil.post("/api/open", json={"path": "a.png"}),
                 lambda: evil.post("/api/save", json={"photo": "a.png"}), lambda: evil.get("/")):
        r = call()
        assert r.status_code == 403 and "does not answer to the name 'evil.example'" in r.json()["error"]
    for base in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        assert client(album, tiny_weights, base_url=base).get("/api/photos").status_code == 200
    added = PageGuard("127.0.0.1", allowed_hosts=["mypc.local"])
    assert client(album, tiny_weights, added, base_url="http://MyPC.local:8000").get("/api/photos").status_code == 200
    # On every interface an address is accepted (no other site controls one), a name still is not.
    everywhere = PageGuard("0.0.0.0", token="t")
    assert everywhere.host_allowed("192.168.1.20:8000") and everywhere.host_allowed("[fe80::1]:8000")
    assert not everywhere.host_allowed("evil.example:8000")


def test_a_change_asked_by_another_site_is_refused(album: Path, tiny_weights: Path) -> None:
    c = client(album, tiny_weights)
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "null"):
        r = c.post("/api/open", json={"path": "a.png"}, headers={"Origin": origin})
        assert r.status_code == 403 and "another site" in r.json()["error"]
        up = c.post("/api/upload", files={"file": ("x.png", b"x", "image/png")}, headers={"Origin": origin})
        assert up.status_code == 403
    assert c.post("/api/open", json={"path": "a.png"}, headers={"Origin": PAGE}).status_code == 200
    # An image or script tag on another site (no Origin, but the browser says where it comes from).
    assert c.get("/api/thumbnail", params={"path": "a.png"}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    # Following a link to the page itself is fine.
    assert c.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}).status_code == 200
    assert c.get("/").headers["content-security-policy"] == "frame-ancestors 'none'"


def test_any_token_is_compared_without_a_crash(album: Path, tiny_weights: Path) -> None:
    c = client(album, tiny_weights, PageGuard("0.0.0.0", token="sesame"), base_url="http://192.168.1.20:8000")
    for params, headers in (({"token": "é"}, {}), ({"token": "%FF"}, {}), ({}, {"X-Colorize-Token": "sésame".encode()}), ({}, {})):
        r = c.get("/api/photos", params=params, headers=headers)
        assert r.status_code == 403 and "token" in r.json()["error"]
    assert c.get("/api/photos", params={"token": "sesame"}).status_code == 200


# --- what Save writes ----------------------------------------------------------------------------------------------

def test_photos_sharing_a_stem_are_saved_under_the_names_colorize_photos_gives(album: Path, tiny_weights: Path,
                                                                              tmp_path: Path) -> None:
    write_photo_file(album / "scan.png", h=40, w=56, seed=2)
    Image.open(album / "scan.png").save(album / "scan.gif")
    c = client(album, tiny_weights)
    for name, colour in (("scan.png", "#c02020"), ("scan.gif", "#2040c0")):
        c.post("/api/open", json={"path": name})
        r = c.post("/api/save", json={"photo": name, "hints": [{"x": 5, "y": 5, "color": colour}]})
        assert r.status_code == 200, r.text
    # Each photo has its own output and hints file, under the names the CLI gives them, and is listed as done.
    assert {p["path"]: p["done"] for p in c.get("/api/photos").json()["photos"]} == {"a.png": False, "scan.gif": True,
                                                                                    "scan.png": True}
    assert (album / "scan.png.hints.png").exists() and (album / "scan.gif.hints.png").exists()
    assert not (album / "scan.hints.png").exists()
    made = sorted(p.name for p in album.glob("scan_color*"))
    assert made == ["scan_color.gif.png", "scan_color.png.png"]
    cli_photos(album, tmp_path / "cli", tiny_weights)
    # The page's outputs beside the photos (recorded as ours) are not coloured again as new photos.
    assert sorted(p.name for p in (tmp_path / "cli").iterdir() if not p.name.startswith(".")) == ["a_color.png", *made]
    for name in made:
        assert np.array_equal(pixels(album / name), pixels(tmp_path / "cli" / name))


def test_save_leaves_the_record_a_rerun_of_colorize_photos_trusts(album: Path, tiny_weights: Path) -> None:
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    assert c.post("/api/save", json={"photo": "a.png", "vividness": 2}).status_code == 200
    assert (album / ".a_color.png.colorize").exists()
    # The same settings: the page's result is the CLI's, skipped; other settings: redone.
    assert "colorized 0, skipped 1" in cli_photos(album, album, tiny_weights, "--vividness", "2")
    assert "colorized 1, skipped 0" in cli_photos(album, album, tiny_weights)
    # And the page's next save replaces the CLI's record with its own.
    c.post("/api/save", json={"photo": "a.png", "vividness": 2})
    assert "colorized 0, skipped 1" in cli_photos(album, album, tiny_weights, "--vividness", "2")


# --- hints files are the user's work ------------------------------------------------------------------------------

def painted_file(path: Path, h: int = 48, w: int = 64) -> bytes:
    """A hints file as a person paints it: a soft-edged red stroke and one lone blue click."""
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[10:14, 5:40] = (200, 30, 30, 255)
    rgba[9, 5:40] = (200, 30, 30, 90)
    rgba[40, 50] = (30, 40, 200, 255)
    Image.fromarray(rgba, "RGBA").save(path)
    return path.read_bytes()


def test_an_unchanged_hints_file_is_never_rewritten(album: Path, tiny_weights: Path) -> None:
    original = painted_file(album / "a.hints.png")
    c = client(album, tiny_weights)
    opened = c.post("/api/open", json={"path": "a.png"}).json()
    assert opened["painted"] == "a.hints.png" and opened["strokes"]
    assert opened["dots"] == [{"x": 50, "y": 40, "color": "#1e28c8"}]
    overlay = np.asarray(Image.open(io.BytesIO(c.get("/api/painted", params={"photo": "a.png"}).content)))
    assert overlay[12, 20, 3] == 255 and overlay[40, 50, 3] == 0 and overlay[30, 30, 3] == 0  # strokes, not the click
    saved = c.post("/api/save", json={"photo": "a.png", "hints": opened["dots"]})  # what "Colorize all" sends
    assert saved.json()["written"] == ["a_color.png"] and saved.json()["kept"] == []
    assert (album / "a.hints.png").read_bytes() == original and not (album / "a.hints.png~").exists()


def test_a_click_is_added_to_the_strokes_and_the_old_file_kept(album: Path, tiny_weights: Path, tmp_path: Path) -> None:
    original = painted_file(album / "a.hints.png")
    c = client(album, tiny_weights)
    opened = c.post("/api/open", json={"path": "a.png"}).json()
    hints = opened["dots"] + [{"x": 30, "y": 30, "color": "#20a020"}]
    saved = c.post("/api/save", json={"photo": "a.png", "hints": hints}).json()
    assert saved["written"] == ["a_color.png", "a.hints.png"] and saved["kept"] == ["a.hints.png~"]
    assert (album / "a.hints.png~").read_bytes() == original
    old, new = np.asarray(Image.open(album / "a.hints.png~")), np.asarray(Image.open(album / "a.hints.png"))
    unchanged = np.ones(old.shape[:2], bool)
    unchanged[30, 30] = False
    assert np.array_equal(old[unchanged], new[unchanged])  # every stroke pixel as painted, soft edge included
    assert tuple(new[30, 30]) == (0x20, 0xA0, 0x20, 255)
    assert len(saved["dots"]) == 2 and saved["strokes"]  # reopened as the page now shows it
    # The saved result is what the CLI makes from the saved file.
    cli_photos(album, tmp_path / "cli", tiny_weights)
    assert np.array_equal(pixels(album / "a_color.png"), pixels(tmp_path / "cli" / "a_color.png"))


def test_only_clearing_removes_strokes_and_the_file_is_kept_as_a_backup(album: Path, tiny_weights: Path) -> None:
    original = painted_file(album / "a.hints.png")
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    # The click deleted, the strokes kept: the file loses the click only.
    c.post("/api/save", json={"photo": "a.png", "hints": []})
    kept = np.asarray(Image.open(album / "a.hints.png"))
    assert kept[40, 50, 3] == 0 and kept[12, 20, 3] == 255
    saved = c.post("/api/save", json={"photo": "a.png", "hints": [], "keep_painted": False}).json()
    assert saved["kept"] == ["a.hints.png~"] and saved["painted"] is None
    assert not (album / "a.hints.png").exists()
    assert np.array_equal(np.asarray(Image.open(album / "a.hints.png~")), kept)
    assert original != (album / "a.hints.png~").read_bytes()  # one level: the latest replaced file


def test_a_hints_file_changed_on_disk_after_opening_is_not_overwritten(album: Path, tiny_weights: Path) -> None:
    painted_file(album / "a.hints.png")
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    edited = painted_file(album / "a.hints.png") + b""
    os.utime(album / "a.hints.png", ns=(1, 1))
    r = c.post("/api/save", json={"photo": "a.png", "hints": [{"x": 1, "y": 1, "color": "#ff0000"}]})
    assert r.status_code == 409 and "open it again" in r.json()["error"]
    assert (album / "a.hints.png").read_bytes() == edited


# --- a changed photo -------------------------------------------------------------------------------------------------

def test_a_replaced_photo_is_coloured_again_not_from_the_old_colour(album: Path, tiny_weights: Path, tmp_path: Path) -> None:
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    c.post("/api/render", json={"photo": "a.png"})
    write_photo_file(album / "a.png", h=48, w=64, seed=7)
    stale = c.post("/api/save", json={"photo": "a.png"})
    assert stale.status_code == 409 and "changed on disk" in stale.json()["error"]
    c.post("/api/open", json={"path": "a.png"})
    got = np.asarray(Image.open(io.BytesIO(c.post("/api/download", json={"photo": "a.png"}).content)).convert("RGB")).astype(int)
    cli_photos(album, tmp_path / "cli", tiny_weights)
    assert np.array_equal(got, pixels(tmp_path / "cli" / "a_color.png"))


# --- every bad request is one line -----------------------------------------------------------------------------------

def test_a_non_latin_name_downloads_under_its_own_name(album: Path, tiny_weights: Path) -> None:
    write_photo_file(album / "фото.png", h=40, w=40, seed=3)
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "фото.png"})
    for path, name in (("/api/download", "фото_color.png"), ("/api/hints-file", "фото.hints.png")):
        r = c.post(path, json={"photo": "фото.png"})
        assert r.status_code == 200
        assert r.headers["content-disposition"].endswith("filename*=UTF-8''" + __import__("urllib.parse").parse.quote(name))


@pytest.mark.parametrize("body", [
    '{"photo": "a.png", "vividness": NaN}', '{"photo": "a.png", "vividness": Infinity}',
    '{"photo": "a.png", "hints": [{"x": Infinity, "y": 1, "color": "#ff0000"}]}', '{"photo": "a.png", "hints": [{"x": NaN',
])
def test_a_malformed_request_is_a_one_line_422(album: Path, tiny_weights: Path, body: str) -> None:
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    r = c.post("/api/render", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "\n" not in r.json()["error"]


def test_a_path_too_long_for_the_system_is_a_404(album: Path, tiny_weights: Path) -> None:
    c = client(album, tiny_weights)
    for r in (c.post("/api/open", json={"path": "a" * 5000 + ".png"}), c.get("/api/thumbnail", params={"path": "b/" * 3000})):
        assert r.status_code == 404 and len(r.json()["error"]) < 200


def test_an_image_past_pillows_own_limit_gets_the_cap_message(tmp_path: Path, tiny_weights: Path) -> None:
    c = client(None, tiny_weights)
    body = huge_png_header(tmp_path / "big.png", 20000, 15001).read_bytes()  # 300 MP: past twice Pillow's limit
    r = c.post("/api/upload", files={"file": ("big.png", body, "image/png")})
    assert r.status_code == 415 and r.json()["error"].startswith("big.png: ")
    assert r.json()["error"].endswith("300 MP, over the 150 MP cap (raise it with --max-megapixels if you trust this file)")


@pytest.mark.parametrize(("code", "status"), [(errno.ENOSPC, 507), (errno.EROFS, 403)])
def test_a_save_the_disk_refuses_is_one_line_and_the_old_result_is_not_taken_as_new(album: Path, tiny_weights: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                                     code: int, status: int) -> None:
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    assert c.post("/api/save", json={"photo": "a.png"}).status_code == 200
    first = (album / "a_color.png").read_bytes()

    def refuse(path: Path, *args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("colorize.serve.write_photo", refuse)
    r = c.post("/api/save", json={"photo": "a.png", "vividness": 2})
    assert r.status_code == status and r.json()["error"] == f"a_color.png: cannot save it beside the photo ({os.strerror(code)})"
    assert (album / "a_color.png").read_bytes() == first
    # The output is still the first save's, and a run with the second's settings makes it instead of skipping it.
    assert "colorized 1, skipped 0" in cli_photos(album, album, tiny_weights, "--vividness", "2")
