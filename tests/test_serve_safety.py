"""`colorize serve` as other sites and careless saves meet it: only its own Host names and Origin are answered, Save
writes exactly what `colorize photos` writes (names, records), a hints file on disk is the user's work, a changed
photo is coloured again, and every bad request is a one-line 4xx."""

from __future__ import annotations

import errno
import io
import json
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

from helpers import huge_png_header, write_photo_file

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


def flat_photos(folder: Path, *names: str) -> None:
    """Plain gray photos under these names (their format from the suffix)."""
    for name in names:
        Image.fromarray(np.full((32, 40, 3), 120, np.uint8)).save(folder / name)


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
    assert stale.status_code == 409 and "changed since this page opened it" in stale.json()["error"]
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


# --- the second hostile round ----------------------------------------------------------------------------------------

def test_save_never_replaces_a_result_named_file_colorize_did_not_make(album: Path, tiny_weights: Path) -> None:
    write_photo_file(album / "a_color.png", seed=9)  # the user's own photo, only named like a result
    mine = (album / "a_color.png").read_bytes()
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    r = c.post("/api/save", json={"photo": "a.png"})
    assert r.status_code == 409 and "not made by colorize" in r.json()["error"]
    assert (album / "a_color.png").read_bytes() == mine


@pytest.mark.parametrize(("names", "saved", "hints_file"), [
    (("scan.png", "scan.gif"), "scan.png", "scan.png.hints.png"),
    (("scan.tif", "scan.tif.jpg"), "scan.tif.jpg", "scan.tif.jpg.hints.png"),
    (("scan.tif", "scan.tif.jpg"), "scan.tif", "scan.hints.png"),
])
def test_a_saved_hints_file_is_the_one_read_for_that_photo_and_no_other(album: Path, tiny_weights: Path,
                                                                        names: tuple[str, ...], saved: str,
                                                                        hints_file: str) -> None:
    flat_photos(album, *names)
    c = client(album, tiny_weights)
    for name in names:  # every photo opens without another's hints
        assert c.post("/api/open", json={"path": name}).json()["painted"] is None
    c.post("/api/open", json={"path": saved})
    assert c.post("/api/save", json={"photo": saved, "hints": [{"x": 3, "y": 4, "color": "#20a020"}]}).status_code == 200
    assert (album / hints_file).is_file()
    for name in names:
        painted = c.post("/api/open", json={"path": name}).json()["painted"]
        assert painted == (hints_file if name == saved else None), name


def test_a_photos_own_hints_file_keeps_being_its_own_after_the_twin_is_gone(album: Path, tiny_weights: Path) -> None:
    flat_photos(album, "scan.png", "scan.gif")
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "scan.png"})
    c.post("/api/save", json={"photo": "scan.png", "hints": [{"x": 3, "y": 4, "color": "#c02020"}]})
    (album / "scan.gif").unlink()
    opened = c.post("/api/open", json={"path": "scan.png"}).json()
    hints = opened["dots"] + [{"x": 20, "y": 20, "color": "#2040c0"}]
    saved = c.post("/api/save", json={"photo": "scan.png", "hints": hints, "version": opened["version"]}).json()
    assert saved["painted"] == "scan.png.hints.png" and len(saved["dots"]) == 2  # the click went where it is read
    assert not (album / "scan.hints.png").exists()


def test_names_differing_in_case_do_not_share_a_hints_file(album: Path, tiny_weights: Path) -> None:
    flat_photos(album, "img_1.jpg", "IMG_1.JPG")
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "img_1.jpg"})
    c.post("/api/save", json={"photo": "img_1.jpg", "hints": [{"x": 3, "y": 4, "color": "#c02020"}]})
    assert c.post("/api/open", json={"path": "IMG_1.JPG"}).json()["painted"] is None


def test_clicks_on_a_stroke_or_side_by_side_come_back_as_clicks(album: Path, tiny_weights: Path) -> None:
    painted_file(album / "a.hints.png")
    c = client(album, tiny_weights)
    opened = c.post("/api/open", json={"path": "a.png"}).json()
    clicks = [{"x": 20, "y": 12, "color": "#00ffff"}, {"x": 30, "y": 30, "color": "#ff00ff"},
              {"x": 31, "y": 30, "color": "#ffff00"}]  # one on the stroke, two touching
    saved = c.post("/api/save", json={"photo": "a.png", "hints": opened["dots"] + clicks,
                                      "version": opened["version"]}).json()
    assert sorted((d["x"], d["y"]) for d in saved["dots"]) == [(20, 12), (30, 30), (31, 30), (50, 40)]
    # The click on the stroke deleted: the stroke is as it was painted.
    again = c.post("/api/save", json={"photo": "a.png", "hints": saved["dots"][1:] if saved["dots"][0]["x"] == 20 else
                                      [d for d in saved["dots"] if d["x"] != 20], "version": saved["version"]}).json()
    assert tuple(np.asarray(Image.open(album / "a.hints.png"))[12, 20]) == (200, 30, 30, 255)
    assert len(again["dots"]) == 3


def test_an_unreadable_hints_file_is_kept_until_the_user_clears_it(album: Path, tiny_weights: Path) -> None:
    Image.fromarray(np.zeros((48, 64), np.uint16)).save(album / "a.hints.png")
    original = (album / "a.hints.png").read_bytes()
    c = client(album, tiny_weights)
    opened = c.post("/api/open", json={"path": "a.png"}).json()
    assert "16-bit" in opened["painted_error"]
    r = c.post("/api/save", json={"photo": "a.png", "hints": [{"x": 1, "y": 1, "color": "#ff0000"}]})
    assert r.status_code == 422 and "clear the painted hints" in r.json()["error"]
    assert (album / "a.hints.png").read_bytes() == original
    cleared = c.post("/api/save", json={"photo": "a.png", "hints": [{"x": 1, "y": 1, "color": "#ff0000"}],
                                        "keep_painted": False}).json()
    assert cleared["kept"] == ["a.hints.png~"] and (album / "a.hints.png~").read_bytes() == original


def test_a_photo_rewritten_with_its_old_date_is_still_seen_as_changed(album: Path, tiny_weights: Path) -> None:
    c = client(album, tiny_weights)
    c.post("/api/open", json={"path": "a.png"})
    first = c.post("/api/render", json={"photo": "a.png"}).content
    st = (album / "a.png").stat()
    Image.fromarray(np.full((48, 64, 3), 30, np.uint8)).save(album / "b.png")
    size = (album / "b.png").stat().st_size
    write_photo_file(album / "a.png", h=48, w=64, seed=7)
    os.utime(album / "a.png", ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p` leaves it
    assert c.post("/api/save", json={"photo": "a.png"}).status_code == 409
    c.post("/api/open", json={"path": "a.png"})
    assert c.post("/api/render", json={"photo": "a.png"}).content != first
    assert size  # (b.png only made the disk busier; the photo's identity is what matters)


def test_another_tabs_save_is_not_silently_undone(album: Path, tiny_weights: Path) -> None:
    c = client(album, tiny_weights)
    tab_a = c.post("/api/open", json={"path": "a.png"}).json()
    tab_b = c.post("/api/open", json={"path": "a.png"}).json()
    assert c.post("/api/save", json={"photo": "a.png", "hints": [{"x": 1, "y": 1, "color": "#ff0000"}],
                                     "version": tab_a["version"]}).status_code == 200
    late = c.post("/api/save", json={"photo": "a.png", "hints": [{"x": 9, "y": 9, "color": "#0000ff"}],
                                     "version": tab_b["version"]})
    assert late.status_code == 409 and "open it again" in late.json()["error"]
    assert np.asarray(Image.open(album / "a.hints.png"))[1, 1, 3] == 255


def test_odd_names_a_lost_folder_and_a_link_loop_are_never_a_500(album: Path, tiny_weights: Path, tmp_path: Path) -> None:
    latin1 = os.fsdecode(b"caf\xe9.png")  # a Latin-1 name on a UTF-8 system
    write_photo_file(album / latin1)
    os.symlink(album / "loop", album / "loop")
    c = client(album, tiny_weights)
    listed = c.get("/api/photos")
    assert listed.status_code == 200 and latin1 in [p["path"] for p in listed.json()["photos"]]
    # The page sends it back as JSON.stringify writes it: escaped.
    opened = c.post("/api/open", content=json.dumps({"path": latin1}), headers={"content-type": "application/json"})
    assert opened.status_code == 200
    assert runner.invoke(cli, ["photos", str(album), "-o", str(tmp_path / "out"), "-w", str(tiny_weights), "--device", "cpu",
                               "--engine", "torch"]).exception.code == 1  # the loop fails alone, the rest is done
    assert (tmp_path / "out" / "a_color.png").is_file()
    album.rename(tmp_path / "moved")
    gone = c.get("/api/photos")
    assert gone.status_code == 404 and "no such folder" in gone.json()["error"]


def test_duplicate_or_decorated_host_headers_are_refused() -> None:
    guard = PageGuard("127.0.0.1")
    assert guard.refusal("GET", "/api/photos", [("host", "evil.example"), ("host", "127.0.0.1:8000")], None)
    assert guard.refusal("GET", "/api/photos", [("host", "localhost:80@evil.com")], None)
    assert guard.refusal("GET", "/api/photos", [("host", "127.0.0.1:8000")], None) is None


# --- the review's round ----------------------------------------------------------------------------------------------

def test_save_writes_the_hints_file_that_is_read_whatever_its_case(album: Path, tiny_weights: Path) -> None:
    Image.fromarray(np.full((32, 40, 3), 120, np.uint8)).save(album / "IMG.JPG", format="JPEG")
    rgba = np.zeros((32, 40, 4), np.uint8)
    rgba[5:8, 5:30] = (200, 30, 30, 255)
    Image.fromarray(rgba, "RGBA").save(album / "img.jpg.hints.png")
    c = client(album, tiny_weights)
    opened = c.post("/api/open", json={"path": "IMG.JPG"}).json()
    assert opened["painted"] == "img.jpg.hints.png"
    saved = c.post("/api/save", json={"photo": "IMG.JPG", "hints": [{"x": 20, "y": 20, "color": "#2040c0"}],
                                      "version": opened["version"]}).json()
    assert saved["painted"] == "img.jpg.hints.png" and len(saved["dots"]) == 1  # the click went where it is read
    assert not (album / "IMG.hints.png").exists()


def test_a_save_that_failed_to_write_does_not_block_the_next(album: Path, tiny_weights: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(album, tiny_weights)
    opened = c.post("/api/open", json={"path": "a.png"}).json()
    real_write = __import__("colorize.serve", fromlist=["write_photo"]).write_photo

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("colorize.serve.write_photo", full)
    hints = [{"x": 3, "y": 3, "color": "#ff0000"}]
    assert c.post("/api/save", json={"photo": "a.png", "hints": hints, "version": opened["version"]}).status_code == 507
    monkeypatch.setattr("colorize.serve.write_photo", real_write)
    again = c.post("/api/open", json={"path": "a.png"}).json()
    assert c.post("/api/save", json={"photo": "a.png", "hints": again["dots"], "version": again["version"]}).status_code == 200


def test_a_damaged_clicks_record_is_read_as_a_file_without_one(album: Path, tiny_weights: Path) -> None:
    from PIL import PngImagePlugin

    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[10, 10] = (200, 30, 30, 255)
    info = PngImagePlugin.PngInfo()
    info.add_text("colorize-clicks", '[{"x": 10, "y": 10, "row": 10, "col": 10, "rgb": [200, 30, 30], "under": [0, 0, 0]}]')
    Image.fromarray(rgba, "RGBA").save(album / "a.hints.png", pnginfo=info)
    r = client(album, tiny_weights).post("/api/open", json={"path": "a.png"})
    assert r.status_code == 200 and r.json()["dots"] == [{"x": 10, "y": 10, "color": "#c81e1e"}]  # a lone pixel: a click
