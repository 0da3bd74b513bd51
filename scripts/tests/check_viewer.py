#!/usr/bin/env python3
"""Checks the web viewer `medsam serve` serves, in a real browser: Debian's headless Chromium
driven by selenium through Debian's chromedriver.

Starts the server (default model on cpu, a bearer token, a free port) and, as a user would:
opens /, answers the page's token prompt, uploads a real MR volume (nibabel's anatomical.nii)
through the file input, scrolls to the ventricles' slice with the arrow keys, drags a box over
them on the canvas, and checks that

- the server's radiological display of each axis is the one nibabel's axis codes give, the page
  places array pixels where that display puts them (and in array order when asked), and draws
  each pixel with the slice's grey value there;
- the box the page sent is the box dragged (slice pixels, within a pixel of rounding);
- the labels the server stored on that slice are the mask of that box (equal to what the native
  API answers for the same box on a second image), and the page's own label buffer agrees;
- the mask is drawn: canvas pixels inside the mask are tinted, pixels outside are grey;
- Undo clears the slice; Propagate labels a run of slices; Download gives a NIfTI nibabel reads
  on the input's grid with exactly the labels the server holds;
- the coronal view and a window preset load without an error on the page;
- the page loaded nothing but its own server's URLs (it works offline) and logged no errors.

A screenshot of the mask goes to a temporary folder (printed), never into the repository.

    apt-get install chromium chromium-driver && pip install selenium
    python3 scripts/tests/check_viewer.py [--medsam .build/release/medsam]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import nibabel as nib
import numpy as np
from pngread import read_png
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOLUME = os.path.join(ROOT, "Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii")
# The lateral ventricles on axial slice 12 of that volume (the box scripts/test.sh's volume check uses).
SLICE, BOX = 12, (12, 20, 22, 31)
TOKEN = "viewer-check-token"


class Server:
    def __init__(self, medsam):
        env = dict(os.environ, MEDSAM_SERVE_TOKEN=TOKEN)
        self.process = subprocess.Popen([medsam, "serve", "--port", "0", "--backend", "cpu"], env=env,
                                         stderr=subprocess.PIPE, text=True)
        self.log = []
        port = None
        for line in self.process.stderr:
            self.log.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if not port:
            raise AssertionError("the server did not say where it listens:\n" + "".join(self.log))
        # Keep reading its log so a full pipe never blocks it.
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()
        self.url = f"http://127.0.0.1:{port}"

    def request(self, path, body=None, method=None):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.read()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def chrome(download_dir):
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": download_dir,
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": download_dir})
    return driver


def wait(driver, what, condition, timeout=300):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d))
    except TimeoutException:
        status = driver.find_element(By.ID, "status").text
        raise AssertionError(f"timed out waiting for {what}; the page says: {status!r}") from None


def idle(driver):
    """Waits until no request of the page is in flight, then checks it shows no error."""
    wait(driver, "the page to finish its requests", lambda d: d.execute_script("return document.body.dataset.busy") == "0")
    status = driver.find_element(By.ID, "status")
    assert "error" not in (status.get_attribute("class") or ""), f"the page shows an error: {status.text!r}"


def drag_box(driver, box):
    """Drags from the box's first corner to its second on the canvas, in slice pixels."""
    canvas = driver.find_element(By.ID, "view")
    (x0, y0), (x1, y1) = (driver.execute_script("return window.medsamViewer.sliceToClient(arguments[0], arguments[1])", x, y)
                          for x, y in ((box[0], box[1]), (box[2], box[3])))
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height]", canvas)
    cx, cy = rect[0] + rect[2] / 2, rect[1] + rect[3] / 2
    # Selenium 4 offsets are from the element's centre.
    (ActionChains(driver).move_to_element_with_offset(canvas, int(round(x0 - cx)), int(round(y0 - cy)))
     .click_and_hold().move_by_offset(int(round((x1 - x0) / 2)), int(round((y1 - y0) / 2)))
     .move_to_element_with_offset(canvas, int(round(x1 - cx)), int(round(y1 - cy))).release().perform())


def radiological_from_axcodes(affine):
    """The radiological display of each slice axis from nibabel's axis codes, independently of
    the server: screen x runs toward the patient's left (axial, coronal) or posterior (sagittal),
    screen y toward posterior (axial) or inferior; an array axis running the other way is mirrored."""
    codes = nib.aff2axcodes(affine)
    in_plane = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}
    toward = {"L": ("LR", False), "R": ("LR", True), "P": ("AP", False), "A": ("AP", True),
              "I": ("SI", False), "S": ("SI", True)}
    screen = {"axial": ("LR", "AP"), "coronal": ("LR", "SI"), "sagittal": ("AP", "SI")}
    result = {}
    for axis, (ax, ay) in in_plane.items():
        (wx, flip_ax), (wy, flip_ay) = toward[codes[ax]], toward[codes[ay]]
        planes = {frozenset(("LR", "AP")): "axial", frozenset(("LR", "SI")): "coronal", frozenset(("AP", "SI")): "sagittal"}
        plane = planes[frozenset((wx, wy))]
        sx, _ = screen[plane]
        transpose = wy == sx  # the array's y axis belongs on screen x
        flip_x, flip_y = (flip_ay, flip_ax) if transpose else (flip_ax, flip_ay)
        result[axis] = ({"transpose": transpose, "flipX": flip_x, "flipY": flip_y}, plane)
    return result


def canvas_colours(driver, points):
    """The RGB the canvas shows at the centre of each slice pixel (x, y)."""
    return driver.execute_script("""
        const canvas = document.getElementById('view'), ctx = canvas.getContext('2d');
        const rect = canvas.getBoundingClientRect();
        return arguments[0].map(([x, y]) => {
          const [cx, cy] = window.medsamViewer.sliceToClient(x + 0.5, y + 0.5);
          const px = Math.floor((cx - rect.left) * canvas.width / rect.width);
          const py = Math.floor((cy - rect.top) * canvas.height / rect.height);
          return Array.from(ctx.getImageData(px, py, 1, 1).data.slice(0, 3));
        });""", points)


def check_display(driver, server, image_id, axis, index, orientation, shape):
    """Where the page puts array pixels, against `orientation`, and what it draws there."""
    h, w = shape
    client = lambda x, y: driver.execute_script("return window.medsamViewer.sliceToClient(arguments[0], arguments[1])", x, y)
    t, fx, fy = orientation["transpose"], orientation["flipX"], orientation["flipY"]

    def display(x, y):
        u, v, dw, dh = (y, x, h, w) if t else (x, y, w, h)
        return (dw - u if fx else u, dh - v if fy else v)

    corners = [(0.5, 0.5), (w - 0.5, 0.5), (0.5, h - 0.5)]
    c = [client(*p) for p in corners]
    d = [display(*p) for p in corners]
    sign = lambda v: 0 if abs(v) < 1e-6 else (1 if v > 0 else -1)
    for k in (1, 2):
        for comp in (0, 1):
            assert sign(c[k][comp] - c[0][comp]) == sign(d[k][comp] - d[0][comp]), \
                f"{axis} ({orientation}): array corner {corners[k]} drawn at {c[k]}, corner {corners[0]} at {c[0]}"
    png = os.path.join(tempfile.mkdtemp(prefix="slice-"), "slice.png")
    with open(png, "wb") as f:
        f.write(server.request(f"/v1/images/{image_id}/slices/{axis}/{index}"))
    grey = read_png(png)[1]
    labelled = labels_slice(server, image_id, axis, index, shape)
    rng = np.random.default_rng(0)
    # Unlabelled pixels only: labels are drawn tinted over the slice.
    points = [(int(x), int(y)) for x, y in zip(rng.integers(0, w, 40), rng.integers(0, h, 40)) if not labelled[y, x]]
    drawn = [c[0] for c in canvas_colours(driver, points)]
    wrong = [(p, int(grey[p[1], p[0]]), v) for p, v in zip(points, drawn) if abs(int(grey[p[1], p[0]]) - v) > 2]
    assert not wrong, f"{axis}: pixels drawn with other values (pixel, slice, canvas): {wrong[:5]}"


def labels_slice(server, image_id, axis, index, shape):
    raw = server.request(f"/v1/images/{image_id}/labels/{axis}/{index}?format=raw")
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medsam", default=os.path.join(ROOT, ".build/release/medsam"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="check-viewer-")
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads)
    started = time.time()
    server = Server(args.medsam)
    driver = None
    try:
        driver = chrome(downloads)
        driver.get(server.url + "/")
        # The API needs the token: the page asks for it once and keeps it for the session.
        alert = WebDriverWait(driver, 30).until(lambda d: d.switch_to.alert)
        assert "access token" in alert.text, alert.text
        alert.send_keys(TOKEN)
        alert.accept()
        wait(driver, "the page to start", lambda d: d.execute_script("return document.body.dataset.ready") == "true")
        assert driver.current_url == server.url + "/viewer/", driver.current_url

        # Upload through the file input, as a user picks a file.
        driver.find_element(By.ID, "upload").send_keys(VOLUME)
        wait(driver, "the uploaded volume to open",
             lambda d: d.execute_script("return window.medsamViewer.state.info && window.medsamViewer.state.info.name") == "anatomical.nii")
        info = driver.execute_script("return window.medsamViewer.state.info")
        image_id = info["id"]
        axial = info["axes"]["axial"]
        shape = (axial["height"], axial["width"])
        start = driver.execute_script("return window.medsamViewer.state.slice")
        idle(driver)
        # Scroll to the ventricles' slice with the arrow keys.
        driver.find_element(By.ID, "view").click()  # a click without a drag is not a box
        key = Keys.ARROW_UP if SLICE > start else Keys.ARROW_DOWN
        for _ in range(abs(SLICE - start)):
            ActionChains(driver).send_keys(key).perform()
        wait(driver, f"axial slice {SLICE}", lambda d: d.execute_script("return document.body.dataset.loadedSlice") == f"axial/{SLICE}")
        idle(driver)
        assert driver.execute_script("return window.medsamViewer.labelledPixels()") == 0

        # Radiological display: the server's against nibabel's axis codes; the page's placement and
        # drawing against it, and array order when the user asks for it.
        expected = radiological_from_axcodes(nib.load(VOLUME).affine)
        for axis, (orientation, plane) in expected.items():
            got = info["axes"][axis]
            assert (got["radiological"], got["plane"]) == (orientation, plane), (axis, got, orientation, plane)
        assert expected["axial"][0] != {"transpose": False, "flipX": False, "flipY": False}, "the fixture must need a turn"
        assert driver.find_element(By.ID, "orientation").get_attribute("value") == "radiological"
        check_display(driver, server, image_id, "axial", SLICE, expected["axial"][0], shape)
        driver.execute_script("const s = document.getElementById('orientation'); s.value = 'array'; s.dispatchEvent(new Event('change'));")
        check_display(driver, server, image_id, "axial", SLICE, {"transpose": False, "flipX": False, "flipY": False}, shape)
        driver.execute_script("const s = document.getElementById('orientation'); s.value = 'radiological'; s.dispatchEvent(new Event('change'));")

        # Drag the box; the mask appears.
        drag_box(driver, BOX)
        wait(driver, "the mask", lambda d: d.execute_script("return document.body.dataset.lastMaskArea") is not None)
        idle(driver)
        sent = driver.execute_script(f"return window.medsamViewer.state.prompts.get('axial/{SLICE}/1').box")
        assert all(abs(a - b) <= 1 for a, b in zip(sent, BOX)), f"the page sent box {sent} for a drag over {BOX}"
        stored = labels_slice(server, image_id, "axial", SLICE, shape)
        area = int(driver.execute_script("return document.body.dataset.lastMaskArea"))
        assert (stored == 1).sum() == area > 20, f"stored {int((stored == 1).sum())} px, the page reported {area}"
        assert set(np.unique(stored)) == {0, 1}
        assert driver.execute_script("return window.medsamViewer.labelledPixels()") == area
        # The same box through the native API on a second copy of the volume gives the same mask.
        with open(VOLUME, "rb") as f:
            other = json.loads(server.request("/v1/images?name=copy.nii", f.read()))["id"]
        answer = json.loads(server.request(f"/v1/images/{other}/segment",
                                           {"axis": "axial", "slice": SLICE, "boxes": [sent], "label": 1}))
        server.request(f"/v1/images/{other}", method="DELETE")
        assert np.array_equal(labels_slice_from(answer, shape), stored == 1), "the viewer's labels differ from the API's mask"

        # The mask is drawn over the slice: tinted inside, grey outside.
        ys, xs = np.nonzero(stored)
        inside = [(int(x), int(y)) for x, y in zip(xs[::max(1, len(xs) // 8)], ys[::max(1, len(ys) // 8)])]
        outside = [(1, 1), (shape[1] - 2, shape[0] - 2)]
        colours = canvas_colours(driver, inside + outside)
        tinted = lambda c: max(c) - min(c) > 30
        assert all(tinted(c) for c in colours[:len(inside)]), f"mask pixels not tinted: {colours[:len(inside)]}"
        assert not any(tinted(c) for c in colours[len(inside):]), f"background tinted: {colours[len(inside):]}"
        screenshot = os.path.join(work, "viewer-mask.png")
        driver.save_screenshot(screenshot)

        # Undo clears the slice again.
        driver.find_element(By.ID, "undo").click()
        wait(driver, "the undo", lambda d: d.execute_script("return window.medsamViewer.labelledPixels()") == 0)
        idle(driver)
        assert not labels_slice(server, image_id, "axial", SLICE, shape).any()

        # Undo also took the box back (the prompt before the edit had none): draw it again, propagate.
        drag_box(driver, BOX)
        wait(driver, "the mask again", lambda d: d.execute_script("return window.medsamViewer.labelledPixels()") > 0)
        idle(driver)
        driver.find_element(By.ID, "propagate").click()
        wait(driver, "the propagation", lambda d: d.execute_script("return document.body.dataset.lastPropagatedVoxels") is not None)
        idle(driver)
        voxels = int(driver.execute_script("return document.body.dataset.lastPropagatedVoxels"))

        # Download: a NIfTI on the input's grid holding what the server holds.
        driver.find_element(By.ID, "download").click()
        files = wait(driver, "the download", lambda d: [f for f in os.listdir(downloads)
                                                       if f.endswith((".nii", ".nii.gz")) and not f.endswith(".crdownload")], 60)
        path = os.path.join(downloads, files[0])
        time.sleep(0.5)  # the browser renames the file into place when it is complete
        got = nib.load(path)
        source = nib.load(VOLUME)
        assert got.shape == source.shape[:3], (got.shape, source.shape)
        assert np.allclose(got.affine, source.affine, atol=1e-4), (got.affine, source.affine)
        labels = np.asarray(got.dataobj)
        assert set(np.unique(labels)) <= {0, 1}
        labelled_slices = sorted(set(np.nonzero(labels)[2]))
        assert SLICE in labelled_slices and len(labelled_slices) >= 2, labelled_slices
        assert int((labels == 1).sum()) >= voxels > 0, (int((labels == 1).sum()), voxels)
        # The slice the page shows in the volume (array order, k = slice): the API's slice layout.
        assert np.array_equal(labels[:, :, SLICE].T == 1, labels_slice(server, image_id, "axial", SLICE, shape) == 1)

        # Another axis and a window preset load without an error.
        driver.find_element(By.CSS_SELECTOR, "#axes button[data-axis='coronal']").click()
        wait(driver, "the coronal view", lambda d: (d.execute_script("return document.body.dataset.loadedSlice") or "").startswith("coronal/"))
        idle(driver)
        coronal = info["axes"]["coronal"]
        check_display(driver, server, image_id, "coronal", driver.execute_script("return window.medsamViewer.state.slice"),
                      expected["coronal"][0], (coronal["height"], coronal["width"]))
        driver.execute_script("const s = document.getElementById('window'); s.value = 'brain'; s.dispatchEvent(new Event('change'));")
        idle(driver)

        # Offline: every resource the page loaded came from its own server; no console errors.
        urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        foreign = [u for u in urls if not u.startswith(server.url + "/")]
        assert not foreign, f"the page loaded resources from elsewhere: {foreign}"
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        # The page's first request, before it asked for the token, is refused by design.
        refused = [m for m in errors if "/v1/health" in m and "401" in m]
        assert len(refused) == 1 and len(errors) == 1, f"console errors: {errors}"
        assert not any(TOKEN in line for line in server.log), "the token appeared in the server's log"
        print(f"check_viewer: radiological display as nibabel's {''.join(nib.aff2axcodes(nib.load(VOLUME).affine))} codes say "
              f"(axial {expected['axial'][0]}), token prompt, upload, arrow keys to slice {SLICE}, box {sent} -> {area} px "
              f"(same as the API), overlay tinted, undo, propagate {voxels} voxels on {len(labelled_slices)} slices, "
              f"download read by nibabel, coronal + brain window; {len(urls)} resources, all local; "
              f"{time.time() - started:.0f} s; screenshot {screenshot}")
    finally:
        if driver:
            driver.quit()
        server.stop()


def labels_slice_from(answer, shape):
    """The best mask of a segment answer (COCO RLE, column-major) as a boolean slice."""
    best = next(m for m in answer["masks"] if m["best"])
    h, w = best["rle"]["size"]
    flat = np.zeros(h * w, dtype=bool)
    at = 0
    for i, n in enumerate(best["rle"]["counts"]):
        if i % 2:
            flat[at:at + n] = True
        at += n
    mask = flat.reshape(w, h).T
    assert mask.shape == shape, (mask.shape, shape)
    return mask


if __name__ == "__main__":
    main()
