"""`colorize serve` in a real headless Chromium (Debian's `chromium`, driven by Playwright): open the page, drop a
photo, click to add a hint, pick a colour, see the pixels under the hint change, save, check the file on disk; give
a reference photo, see its matches as hints, delete one, save them.

Skipped, with the reason, where Chromium or Playwright is missing; `make test` installs both where it can.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest
from PIL import Image

from colorize.color.ycbcr import lab_ab
from colorize.serve import Session, create_app

from helpers import painted

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# Flags for a sandboxed, offline machine: no first-run, sync or update traffic to refused hosts.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """The page over the shipped default model and a folder holding one sample photo."""
    import uvicorn

    from colorize.inference import load_colorizer

    monkeypatch.delenv("COLORIZE_WEIGHTS_DIR", raising=False)
    folder = tmp_path / "album"
    folder.mkdir()
    shutil.copy(SAMPLES / "heldout_hill.jpg", folder / "hill.jpg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Session(folder, load_colorizer(None, device="cpu", batch_size=1)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", folder
    server.should_exit = True
    thread.join(10)


def pixel(page, x: int, y: int) -> list[int]:
    """The rendered result's pixel at photo coordinates (x, y), read back from the page."""
    return page.evaluate("""([x, y]) => {
        const img = document.getElementById('after');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
    }""", [x, y])


def rendered(page, after: int) -> int:
    page.wait_for_function("n => Number(document.getElementById('after').dataset.rendered || 0) > n", arg=after, timeout=30000)
    return int(page.get_attribute("#after", "data-rendered"))


def test_click_pick_a_color_see_it_and_save(server: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(url)
        page.wait_for_selector("#thumbs figure[data-id='hill.jpg'] img")
        n = rendered(page, 0)  # it opens on the folder's first photo, fitted to the viewer, its thumbnail named
        assert "hill.jpg" in page.inner_text("#status") and page.inner_text("#thumbs figcaption") == "hill.jpg"
        assert page.locator("#before").bounding_box()["width"] > 480  # a small photo is enlarged to fill the viewer
        assert not page.is_visible("#painted") and not page.is_visible("#painted-row")  # no hints file, no overlay
        # Drop a photo on the page, as from a file manager.
        data = (SAMPLES / "cameraman.png").read_bytes()
        page.evaluate("""async (bytes) => {
            const file = new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'});
            const drop = new DataTransfer(); drop.items.add(file);
            document.dispatchEvent(new DragEvent('drop', {dataTransfer: drop, bubbles: true, cancelable: true}));
        }""", list(data))
        n = rendered(page, n)
        assert "dropped.png" in page.inner_text("#status")
        # Open the folder's photo, pick green, click on the meadow.
        page.click("#thumbs figure[data-id='hill.jpg']")
        n = rendered(page, n)
        x, y = 120, 300  # the meadow in the foreground of the 480x360 photo
        before = pixel(page, x, y)
        page.eval_on_selector("#colour", "el => { el.value = '#3c8c28'; el.dispatchEvent(new Event('input')); }")
        box = page.locator("#before").bounding_box()
        scale = box["width"] / 480
        t0 = time.monotonic()
        page.mouse.click(box["x"] + (x + 0.5) * scale, box["y"] + (y + 0.5) * scale)
        n = rendered(page, n)
        seconds = time.monotonic() - t0
        after = pixel(page, x, y)
        assert after[1] - max(after[0], after[2]) > before[1] - max(before[0], before[2]) + 15  # it turned green
        assert page.locator("#hints li").count() == 1
        # The README's screenshot: COLORIZE_SCREENSHOT=docs/images/serve.png pytest tests/test_serve_browser.py
        page.screenshot(path=os.environ.get("COLORIZE_SCREENSHOT") or str(tmp_path / "serve.png"))
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')")
        browser.close()
    saved = np.asarray(Image.open(folder / "hill_color.jpg").convert("RGB")).astype(int)
    assert saved.shape == (360, 480, 3)
    assert saved[y, x, 1] - max(saved[y, x, 0], saved[y, x, 2]) > 15
    hints = np.asarray(Image.open(folder / "hill.hints.png"))
    (hy, hx), = np.argwhere(hints[..., 3] == 255)  # the one hint, where it was clicked
    assert abs(hx - x) <= 1 and abs(hy - y) <= 1 and tuple(hints[hy, hx, :3]) == (0x3C, 0x8C, 0x28)
    print(f"click to re-rendered result: {seconds:.2f} s")


def test_a_painted_hints_file_is_shown_kept_on_save_and_a_foreign_name_is_refused(server: tuple[str, Path]) -> None:
    url, folder = server
    # A stroke painted in another program: a band of green over the meadow, and one click on the sky.
    rgba = np.zeros((360, 480, 4), np.uint8)
    rgba[290:300, 60:200] = (60, 140, 40, 255)
    rgba[40, 300] = (90, 140, 220, 255)
    Image.fromarray(rgba, "RGBA").save(folder / "hill.hints.png")
    port = url.rsplit(":", 1)[1].strip("/")
    with playwright.sync_playwright() as p:
        # evil.example resolves to this machine, as a DNS-rebinding site's name would.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS + ["--host-resolver-rules=MAP evil.example 127.0.0.1"])
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        refused = page.goto(f"http://evil.example:{port}/")
        assert refused.status == 403 and "does not answer to the name" in page.inner_text("body")
        page.goto(url)
        page.click("#thumbs figure[data-id='hill.jpg']")
        rendered(page, 0)
        assert page.is_visible("#painted") and "hill.hints.png" in page.inner_text("#painted-row")
        assert page.locator("#hints li").count() == 1  # the click is a marker, the stroke an overlay
        green = pixel(page, 120, 295)
        assert green[1] - max(green[0], green[2]) > 15  # the stroke counts before anything is clicked
        n = int(page.get_attribute("#after", "data-rendered"))
        box = page.locator("#before").bounding_box()
        scale = box["width"] / 480
        page.mouse.click(box["x"] + 400.5 * scale, box["y"] + 100.5 * scale)
        rendered(page, n)
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')")
        assert "kept as hill.hints.png~" in page.inner_text("#status")
        browser.close()
    saved = np.asarray(Image.open(folder / "hill.hints.png"))
    assert np.array_equal(saved[290:300, 60:200], rgba[290:300, 60:200])  # the stroke, untouched
    assert tuple(saved[40, 300]) == (90, 140, 220, 255) and saved[..., 3].astype(bool).sum() == 10 * 140 + 2
    assert np.array_equal(np.asarray(Image.open(folder / "hill.hints.png~")), rgba)


def test_a_reference_photo_becomes_hints_to_delete_and_colours_the_photo(server: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = server
    gray = np.asarray(Image.open(folder / "hill.jpg").convert("L"))
    real = painted(gray)
    reference = tmp_path / "same hill.jpg"
    Image.fromarray(np.ascontiguousarray(cv2.resize(real[40:320, 30:430], None, fx=0.7, fy=0.7)[:, ::-1])).save(reference)
    other = tmp_path / "portrait.png"
    Image.fromarray(painted(np.asarray(Image.open(SAMPLES / "einstein.jpg").convert("L")))).save(other)
    error = lambda rgb: float(np.abs(lab_ab(rgb) - lab_ab(real)).mean())  # noqa: E731
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(url)
        n = rendered(page, 0)
        plain = page_result(page)
        page.set_input_files("#reference", str(other))  # another scene: nothing changes, and the page says so
        page.wait_for_function("document.getElementById('status').textContent.includes('nothing of it was found')")
        assert page.locator("#hints li").count() == 0
        page.set_input_files("#reference", str(reference))
        n = rendered(page, n)
        page.wait_for_function("document.getElementById('status').textContent.includes('found; its colours are')")
        found = page.locator("#hints li").count()
        assert found >= 10
        with_reference = page_result(page)
        assert error(with_reference) < 0.7 * error(plain)
        page.locator("#hints li button").first.click()  # a match the user does not want
        rendered(page, n)
        assert page.locator("#hints li").count() == found - 1
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')")
        browser.close()
    hints = np.asarray(Image.open(folder / "hill.hints.png"))
    assert (hints[..., 3] == 255).sum() == found - 1  # the matches Save wrote are the clicks the page kept


def page_result(page) -> np.ndarray:
    """The rendered result as the page shows it, (H, W, 3) uint8."""
    data = page.evaluate("""() => {
        const img = document.getElementById('after');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        return [c.width, c.height, Array.from(g.getImageData(0, 0, c.width, c.height).data)];
    }""")
    w, h, rgba = data
    return np.asarray(rgba, np.uint8).reshape(h, w, 4)[..., :3]
