#!/usr/bin/env python3
"""Checks `medsam serve`'s MONAI Label subset with the real client class of the `monailabel`
PyPI package (MONAILabelClient), not an imitation.

Starts the server (LiteMedSAM on cpu, a bearer token, a free port), then with the client:
/info/ lists the deepgrow models; /datastore/ takes a NIfTI upload under a chosen id; /infer/medsam
returns a label volume on the input's grid (same shape and affine, labels only on the clicked
slice) whose slice equals the native API's mask for the same clicks; /infer/medsam_3d labels a
run of slices through the clicked one; and a client without the token is refused.

    pip install --no-deps monailabel      # the client needs only requests from its dependencies
    python3 scripts/tests/check_monailabel.py [--medsam .build/debug/medsam]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request

import nibabel as nib
import numpy as np
from monailabel.client import MONAILabelClient
from monailabel.client.client import MONAILabelClientException


def rle_decode(rle):
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=np.uint8)
    at = 0
    for i, n in enumerate(rle["counts"]):
        if i % 2 == 1:
            flat[at:at + n] = 1
        at += n
    return flat.reshape(w, h).T  # column-major runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medsam", default=".build/debug/medsam")
    args = ap.parse_args()
    token = "check-token-123"
    work = tempfile.mkdtemp(prefix="check-monailabel-")

    # A CT-like volume: air, a body, a bright ellipsoid organ; an oblique-free affine with spacing.
    shape = (64, 56, 12)
    i, j, k = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    vol = np.full(shape, -1000.0)
    vol[((i - 32) / 28) ** 2 + ((j - 28) / 24) ** 2 < 1] = 0
    organ = ((i - 30) / 10) ** 2 + ((j - 26) / 8) ** 2 + ((k - 6) / 5) ** 2 < 1
    vol[organ] = 120
    affine = np.diag([0.9, 0.8, 2.5, 1.0])
    affine[:3, 3] = [-20, 15, 40]
    path = os.path.join(work, "ct.nii.gz")
    nib.save(nib.Nifti1Image(vol.astype(np.int16), affine), path)

    env = dict(os.environ, MEDSAM_SERVE_TOKEN=token)
    server = subprocess.Popen([args.medsam, "serve", "--port", "0", "--backend", "cpu"], env=env,
                              stderr=subprocess.PIPE, text=True)
    log, drain = [], None
    try:
        port = None
        for line in server.stderr:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "the server did not say where it listens"
        # Keep reading its log so a full pipe never blocks it; the token must never appear.
        drain = threading.Thread(target=lambda: log.extend(server.stderr), daemon=True)
        drain.start()
        url = f"http://127.0.0.1:{port}"

        anonymous = MONAILabelClient(url, tmpdir=work)
        try:
            anonymous.info()
            raise AssertionError("a client without the token was answered")
        except MONAILabelClientException as e:
            assert "401" in e.msg, e.msg

        client = MONAILabelClient(url, tmpdir=work)
        # The client's own token form (what its auth_token() returns from a MONAI Label server).
        client.update_auth({"token_type": "Bearer", "access_token": token})
        info = client.info()
        models = info["models"]
        assert models["medsam"]["type"] == "deepgrow" and models["medsam"]["dimension"] == 2, models
        assert models["medsam_3d"]["type"] == "deepgrow" and models["medsam_3d"]["dimension"] == 3, models
        assert models["medsam"]["labels"] == {"foreground": 1}

        up = client.upload_image(path, image_id="case01")
        assert up == {"image": "case01"}, up

        clicks = {"foreground": [[30, 26, 6]], "background": [[5, 5, 6]]}
        label_path, params = client.infer("medsam", "case01", dict(clicks))
        label = nib.load(label_path)
        data = np.asarray(label.dataobj)
        assert data.shape == shape, data.shape
        assert np.allclose(label.affine, affine, atol=1e-4), label.affine
        assert data.dtype == np.uint8
        slices = sorted(set(np.nonzero(data)[2].tolist()))
        assert slices == [6], f"2-D model labelled slices {slices}"
        assert params["slice"] == 6 and params["voxels"] == int(data.sum()), params

        # The same clicks through the native API give the same mask.
        req = urllib.request.Request(f"{url}/v1/images/case01/segment", method="POST",
                                     data=json.dumps({"slice": 6, "points": [[30, 26], [5, 5]], "labels": [1, 0]}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        native = json.load(urllib.request.urlopen(req))
        best = next(m for m in native["masks"] if m["best"])
        # The native mask is rows = j, columns = i; the NIfTI slice is indexed [i, j].
        assert np.array_equal(rle_decode(best["rle"]).T, data[:, :, 6]), "MONAI Label and native masks differ"
        inside = data[:, :, 6][organ[:, :, 6]].mean()
        print(f"medsam: {int(data.sum())} voxels on slice 6, {inside:.2f} of the organ's slice covered")

        label3, params3 = client.infer("medsam_3d", "case01", dict(clicks))
        data3 = np.asarray(nib.load(label3).dataobj)
        slices3 = sorted(set(np.nonzero(data3)[2].tolist()))
        assert data3.shape == shape and 6 in slices3 and len(slices3) > 1, slices3
        assert slices3 == list(range(slices3[0], slices3[-1] + 1)), f"not a run of slices: {slices3}"
        print(f"medsam_3d: slices {slices3[0]}..{slices3[-1]}, {int(data3.sum())} voxels, stops {params3['stops']}")

        try:
            client.infer("no-such-model", "case01", dict(clicks))
            raise AssertionError("an unknown model was answered")
        except MONAILabelClientException as e:
            assert "404" in e.msg, e.msg
        print("check_monailabel: OK")
    finally:
        server.terminate()
        try:
            rc = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise AssertionError("the server did not stop on SIGTERM within 30 s")
        assert rc == 0, f"the server exited with {rc} on SIGTERM"
        if drain:
            drain.join(timeout=5)
        assert not any(token in line for line in log), "the token appeared in the server's log"
    return 0


if __name__ == "__main__":
    sys.exit(main())
