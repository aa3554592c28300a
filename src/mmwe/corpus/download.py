"""`mmwe corpus download`: fetch the images of a URL list with img2dataset into webdataset shards.

A web corpus (Pinterest40M, CC3M, LAION, RedCaps) arrives as URLs plus text. This module turns such a source into
the tar shards that `mmwe corpus build` reads (``KEY.jpg`` + ``KEY.json`` carrying the sentences), through
img2dataset (the optional extra ``mmwe[download]``: it pins webdataset < 0.3 and pulls opencv, so it is kept out
of the base install).

Sources: CSV / TSV (header row), Parquet or JSONL with a URL column and a caption (one string) or sentences (a list
of strings) column, or the released Pinterest40M metadata shards ``pin_2016_v1_*.npy`` (pickles: read only with
``allow_pickle``, through mmwe's restricted unpickler). Rows without a usable http(s) URL or text are counted and
skipped. Output layout of ``out``::

    out/urls.parquet       the cleaned URL list (url, sentences), rewritten only when the source changes
    out/shards/            img2dataset's webdataset shards 00000.tar ... with their _stats.json
    out/download.json      rows read, bad rows by reason, images downloaded, failed URLs by reason

A rerun with the same source and settings resumes: img2dataset's incremental mode skips every shard whose stats
file exists, so nothing is fetched twice.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from mmwe.corpus.pickle_safe import load_pickled_objects
from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write
from mmwe.validation import check

FAILURE_REASONS = ("http_404", "http_error", "timeout", "connection", "not_an_image", "too_large", "other")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@dataclass
class DownloadConfig:
    """Settings of one download (the ones that change which shards hold what are part of the resume identity)."""

    url_col: str = "url"  # column / key of the image URL
    caption_col: str = "caption"  # column / key of the text: one string, or a list of sentences
    allow_pickle: bool = False  # Pinterest .npy / .pkl shards are pickles: opt in for files you trust
    processes: int = 1  # img2dataset processes
    threads: int = 16  # download threads per process
    timeout: int = 10  # seconds per request
    retries: int = 0  # extra attempts per failed URL
    image_size: int = 256  # longest side after resizing (only images larger than this are shrunk)
    max_image_area: float = 1e8  # pixels; larger images are refused as too_large (decompression-bomb guard)
    shard_size: int = 10000  # images per tar shard
    limit: int | None = None  # first N usable rows only

    def validate(self) -> DownloadConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        for name in ("processes", "threads", "timeout", "image_size", "shard_size"):
            value = getattr(self, name)
            check(value >= 1, f"--{name.replace('_', '-')}: expected an integer >= 1, got {value}")
        check(self.retries >= 0 and (self.limit is None or self.limit >= 1),
              f"expected --retries >= 0 and --limit >= 1, got {self.retries} and {self.limit}")
        check(self.max_image_area > 0, f"--max-image-area: expected a positive number, got {self.max_image_area}")
        return self


# -- source rows ------------------------------------------------------------------------------------------------
def _text(value) -> list[str] | str:
    """Sentences of a caption cell, or the reason it is bad."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return "non_utf8"
    if isinstance(value, str):
        return [value.strip()] if value.strip() else "missing_caption"
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = [_text(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
        out = [s for x in items if isinstance(x, list) for s in x]
        return out or ("non_utf8" if "non_utf8" in items else "missing_caption")
    return "missing_caption"


def _rows(source: Path, cfg: DownloadConfig) -> Iterator[tuple[int, dict]]:
    """(line or row number, row as a dict) of a source file."""
    suffix = "".join(source.suffixes[-1:]).lower()
    if suffix in (".csv", ".tsv"):
        with open(source, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            try:
                for row in reader:
                    yield reader.line_num, row
            except UnicodeDecodeError as exc:
                raise MmweError(f"line {reader.line_num + 1}: expected UTF-8 text ({exc.reason})", path=source) \
                    from None
    elif suffix == ".jsonl":
        with open(source, "rb") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                yield i, obj if isinstance(obj, dict) else {"__bad__": "bad_json"}
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(source)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            raise MmweError(f"expected a Parquet file, got one pyarrow cannot read ({exc})", path=source) from None
        yield from enumerate(table.to_pylist(), 1)
    elif suffix in (".npy", ".pkl"):
        if not cfg.allow_pickle:
            raise MmweError("expected --allow-pickle to read pickled Pinterest shards, got none; pickles can run "
                            "code, so opt in only for files you trust (a restricted unpickler is used)", path=source)
        objs = load_pickled_objects(source)
        for i, obj in enumerate(objs if isinstance(objs, (list, tuple)) else [objs], 1):
            if isinstance(obj, dict):
                obj = {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k): v for k, v in obj.items()}
            yield i, obj if isinstance(obj, dict) else {"__bad__": "not_an_object"}
    else:
        raise MmweError(f"expected a .csv, .tsv, .jsonl, .parquet or Pinterest .npy/.pkl URL list, got {suffix!r}",
                        path=source)


def url_rows(source: str | Path, cfg: DownloadConfig, bad: Counter) -> tuple[list[str], list[list[str]]]:
    """(urls, sentences) of the usable rows of ``source``; the others counted in ``bad`` by reason."""
    source = Path(source)
    if not source.is_file():
        raise MmweError("expected a URL list file, got no such file", path=source)
    urls, texts, seen_cols = [], [], set()
    text_keys = (cfg.caption_col, "sentences", "caption", "text")
    for _, row in _rows(source, cfg):
        if "__bad__" in row:
            bad[row["__bad__"]] += 1
            continue
        seen_cols.update(row)
        url = row.get(cfg.url_col)
        url = url.decode("utf-8", "replace") if isinstance(url, bytes) else url
        if not isinstance(url, str) or not url.strip():
            bad["missing_url"] += 1
            continue
        if not _URL.match(url.strip()):
            bad["bad_url"] += 1
            continue
        value = next((row[k] for k in text_keys if row.get(k) is not None), None)
        sents = _text(value)
        if isinstance(sents, str):
            bad[sents] += 1
            continue
        urls.append(url.strip())
        texts.append(sents)
        if cfg.limit is not None and len(urls) >= cfg.limit:
            break
    if not urls:
        found = ", ".join(sorted(map(str, seen_cols))[:12]) or "none"
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(bad.items())) or "no rows"
        raise MmweError(f"expected rows with a {cfg.url_col!r} URL and a {cfg.caption_col!r} (or sentences) text, "
                        f"got none usable ({reasons}; columns seen: {found}); fix: --url-col / --caption-col",
                        path=source)
    return urls, texts


# -- img2dataset ------------------------------------------------------------------------------------------------
def failure_reason(message: str) -> str:
    """One of FAILURE_REASONS for an img2dataset error message."""
    m = message.lower()
    if "404" in m:
        return "http_404"
    if "http error" in m or re.search(r"\b[45]\d\d\b", m):
        return "http_error"
    if "timed out" in m or "timeout" in m:
        return "timeout"
    if "connection" in m or "refused" in m or "name or service" in m or "urlopen error" in m:
        return "connection"
    if "too large" in m or "image area" in m or "decompression" in m:
        return "too_large"
    if "identify" in m or "decod" in m or "not an image" in m or "cannot" in m:
        return "not_an_image"
    return "other"


def _write_url_list(out: Path, urls: list[str], texts: list[list[str]]) -> tuple[Path, str]:
    """out/urls.parquet (kept as is when its content is unchanged: incremental mode needs the same shards)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    digest = hashlib.sha256(json.dumps([urls, texts]).encode("utf-8")).hexdigest()
    path = out / "urls.parquet"
    stamp = out / "urls.sha256"
    if path.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return path, digest
    with atomic_path(path) as tmp:
        pq.write_table(pa.table({"url": urls, "sentences": texts}), tmp)
    stamp.write_text(digest + "\n")
    return path, digest


@contextlib.contextmanager
def _stdout_to_stderr():
    """img2dataset and its worker processes print progress on stdout: send it to stderr (stdout stays JSON).

    Both go through a pipe whose reader drops Python tracebacks: img2dataset prints the traceback of a failed
    shard (a full disk...) and carries on; ``_check_shards`` then says in one line what failed and what to do.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    read_end, write_end = os.pipe()
    reader = threading.Thread(target=_forward_without_tracebacks, args=(read_end, os.dup(saved_err)), daemon=True)
    reader.start()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)  # the pipe's last writers are gone once the workers have ended: the reader stops
        reader.join(timeout=10)
        os.close(saved_out)
        os.close(saved_err)


def _forward_without_tracebacks(read_end: int, dest: int) -> None:
    """Copy what arrives on ``read_end`` to ``dest`` (progress bars' carriage returns kept), less every
    "Traceback (most recent call last):" block up to and including its exception line; closes both at the end."""
    buf, in_tb = b"", False
    with contextlib.suppress(OSError):
        while chunk := os.read(read_end, 65536):
            buf += chunk
            parts = re.split(rb"(?<=[\r\n])", buf)
            buf = parts.pop()  # an unfinished line waits for its end
            for line in parts:
                if b"Traceback (most recent call last)" in line:  # maybe after a progress bar's last state
                    head = line.split(b"Traceback (most recent call last)")[0]
                    line, in_tb = (head + b"\n" if head.strip() else b""), True
                    os.write(dest, line)
                    continue
                if line.startswith(b"Exception ignored in"):  # the unraisable hook's header of a traceback
                    continue
                elif in_tb and not line[:1].isspace() and not line.startswith((b"During handling", b"The above")):
                    in_tb = False  # the exception line ends the block
                    continue
                if not in_tb:
                    os.write(dest, line)
        if buf and not in_tb:
            os.write(dest, buf)
    os.close(read_end)
    os.close(dest)


def _img2dataset():
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks its version online on import
    try:
        from img2dataset import download
    except ImportError:
        raise MmweError("mmwe corpus download needs img2dataset; fix: pip install 'mmwe[download]'") from None
    return download


def download_corpus(source: str | Path, out: str | Path, cfg: DownloadConfig = DownloadConfig()) -> dict:
    """Fetch every usable row of ``source`` into ``out/shards`` (webdataset); returns (and writes
    ``out/download.json``) the counts. See the module doc."""
    cfg.validate()
    fetch = _img2dataset()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bad: Counter = Counter()
    urls, texts = url_rows(source, cfg, bad)
    url_list, digest = _write_url_list(out, urls, texts)
    identity = {"urls": digest, **{k: v for k, v in asdict(cfg).items() if k not in ("processes", "threads")}}
    state = out / "download.json"
    shards = out / "shards"
    if shards.exists() and state.is_file():
        try:
            before = json.loads(state.read_text(encoding="utf-8")).get("identity")
        except ValueError:
            before = None
        if before != identity:
            raise MmweError("expected the same source and settings as the download already in this folder, got "
                            "others; fix: a new --out folder (or delete this one)", path=out)
    with _stdout_to_stderr():
        fetch(url_list=str(url_list), input_format="parquet", url_col="url", caption_col=None,
              save_additional_columns=["sentences"], output_format="webdataset", output_folder=str(shards),
              processes_count=cfg.processes, thread_count=cfg.threads, image_size=cfg.image_size,
              resize_mode="keep_ratio", resize_only_if_bigger=True, encode_format="jpg", timeout=cfg.timeout,
              retries=cfg.retries, number_sample_per_shard=cfg.shard_size, incremental_mode="incremental",
              enable_wandb=False, distributor="multiprocessing", max_image_area=cfg.max_image_area,
              disallowed_header_directives=[])
    _check_shards(shards)
    summary = summarize(shards)
    summary.update(source=str(source), rows_usable=len(urls), bad_rows=dict(sorted(bad.items())), identity=identity,
                   shards_dir=str(shards))
    with atomic_write(state, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
    return summary


def _check_shards(shards: Path) -> None:
    """Refuse a download with shards that img2dataset could not finish (it logs the error, e.g. a full disk, and
    carries on): their files are removed, so that the same command, which skips finished shards, writes them
    again; one MmweError says what happened and what to do."""
    failed = sorted({f.name.split(".")[0] for f in shards.glob("*") if not f.name.endswith("_stats.json")
                     and not (shards / f"{f.name.split('.')[0]}_stats.json").is_file()})
    if not failed:
        return
    for f in shards.iterdir():
        if f.name.split(".")[0] in failed:
            f.unlink()
    total = len(failed) + len(list(shards.glob("*_stats.json")))
    free = shutil.disk_usage(shards).free
    why = (f"no space left on device (ENOSPC; {free:,} bytes free there); fix: free space on that disk or choose "
           "another --out" if free < 1 << 20 else "img2dataset could not finish them (its messages above say why); "
           "fix: that cause")
    raise MmweError(f"{len(failed)} of {total} shards failed ({', '.join(failed[:5])}): {why}; the finished shards "
                    "are kept and the unfinished ones removed: run the same command again to resume", path=shards)


def summarize(shards: str | Path) -> dict:
    """Downloaded images and failed URLs by reason, from img2dataset's per-shard stats files."""
    failed: Counter = Counter()
    examples: dict[str, str] = {}
    ok = tried = 0
    files = sorted(Path(shards).glob("*_stats.json"))
    for f in files:
        st = json.loads(f.read_text(encoding="utf-8"))
        ok += int(st.get("successes", 0))
        tried += int(st.get("count", 0))
        for message, n in (st.get("status_dict") or {}).items():
            if message == "success":
                continue
            reason = failure_reason(message)
            failed[reason] += int(n)
            examples.setdefault(reason, message[:200])
    return {"urls_tried": tried, "downloaded": ok, "failed": dict(sorted(failed.items())),
            "failed_examples": examples, "shards": len(files)}
