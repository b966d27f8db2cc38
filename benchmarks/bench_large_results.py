"""Large results: a 200 MB output fetched from the simulators, peak memory and time against the in-memory way.

    .venv/bin/python benchmarks/bench_large_results.py [--quick] [--size-mb 200] [--rounds 3]

Two services, each through its local simulator in a separate server process
whose engine makes a ``--size-mb`` output of random bytes (so the size is
exact and nothing compresses):

* **Aspose.OCR Cloud** answers ``GET /v5.0/ocr/RecognizeImage?id=`` with the
  result as a base64 string inside the JSON body. Peer: ``requests`` +
  ``json.loads`` + ``b64decode`` in memory, then the bytes written to a file.
  Ours: the adapter's ``status()`` call that fetches and decodes the result,
  as it is today; and the same GET through ``providers/_streaming.py``
  (the body decoded chunk by chunk into a file) as the adapter would do it.
* **online-convert.com** serves outputs as downloads. Peer:
  ``requests.get(...).content`` in memory (and ``?encoding=base64`` +
  ``b64decode``), then written to a file. Ours: the adapter's output
  ``open()`` (streamed to a temp file, MD5 checked), binary and base64.

Each fetch runs in a fresh Python process, alternating between the
candidates round by round. Memory is the fetch's own peak: the child's peak
RSS (``VmHWM``, reset just before the fetch) minus its RSS just before it,
divided by the output size. Target: under 1.2× the output size.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import Report, median, parse_args, python_env, run_child, tiny_png  # noqa: E402

TIMEOUT = 900
QUICK_RUNS = [["--quick"]]
TARGET = 1.2
#: (service, way): how a child fetches, and the label and side it stands for in the table.
WAYS = {
    "aspose": {
        "peer": "json.loads + b64decode",
        "adapter": "Aspose adapter (today)",
        "streaming": "Aspose GET → _streaming sink",
    },
    "onlineconvert": {
        "peer": "requests .content",
        "peer_base64": "requests .content + b64decode",
        "adapter": "online-convert adapter",
        "adapter_base64": "online-convert adapter, ?encoding=base64",
    },
}


# -- the server process --------------------------------------------------------------------

def big_output_registry(size: int):
    """An engine registry whose png → pdf (ocr and convert) makes ``size`` random bytes."""
    from docconvert_nb.engine.registry import Converter, Registry

    def make_big(ctx) -> None:
        path = ctx.workdir / "big.pdf"
        with path.open("wb") as out:
            out.write(b"%PDF-1.4\n")
            left = size - 9
            while left > 0:
                block = os.urandom(min(left, 8 << 20))
                out.write(block)
                left -= len(block)
        ctx.add_output(path, "big.pdf")

    registry = Registry()
    for task in ("ocr", "convert"):
        registry.add(Converter(f"big_{task}", task, frozenset({"png"}), frozenset({"pdf"}), make_big))
    return registry


def serve(size: int) -> None:
    """Run both simulators with the big-output engine; print their addresses; stop on SIGTERM."""
    from docconvert_nb.engine import Engine
    from docconvert_nb.simulators import simulate

    stores = [tempfile.TemporaryDirectory(prefix="bench-large-"), tempfile.TemporaryDirectory(prefix="bench-large-")]
    registry = big_output_registry(size)
    aspose = simulate("aspose", engine=Engine(stores[0].name, registry=registry, retention=float("inf"), workers=1))
    online = simulate("onlineconvert", engine=Engine(stores[1].name, registry=registry, retention=float("inf"),
                                                     workers=1))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print(json.dumps({"aspose": {"base_url": aspose.base_url, **aspose.credentials},
                      "onlineconvert": {"base_url": online.base_url, **online.credentials}}), flush=True)
    while not stopping:
        time.sleep(0.1)
    aspose.stop()
    online.stop()
    for store in stores:
        store.cleanup()


# -- one fetch, in its own process ----------------------------------------------------------------

def fetch(service: str, way: str, server: dict, size: int) -> dict:
    """Submit a job, wait for it server-side, then measure the one fetch of its output."""
    import requests

    from benchmarks._harness import peak_rss_bytes, reset_peak_rss, rss_bytes
    from docconvert_nb.documents import ConversionRequest, Source

    work = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    request = ConversionRequest(Source(name="page.png", format="png", data=tiny_png()), "pdf",
                                "ocr" if service == "aspose" else "convert", {})
    if service == "aspose":
        from docconvert_nb.providers.aspose import Aspose

        provider = Aspose(server["client_id"], server["client_secret"], base_url=server["base_url"], simulator=True,
                          cache_dir=work)
    else:
        from docconvert_nb.providers.onlineconvert import OnlineConvert

        provider = OnlineConvert(server["api_key"], base_url=server["base_url"] + "/v2", simulator=True,
                                 cache_dir=work, download_encoding="base64" if way.endswith("base64") else "binary")
    job_id = provider.submit(request)
    snapshot = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # the cheap status call until the output exists
        if service == "aspose":
            state = provider._get_json("Utilities/GetTaskStatus", job_id).get("taskStatus")
            if state in ("Completed", "Error"):
                break
        else:
            snapshot = provider.status(job_id)
            if snapshot.status is not None and snapshot.status.is_terminal:
                break
        time.sleep(0.1)
    out_path = work / "result.pdf"
    session = requests.Session()
    url = f"{server['base_url']}/v5.0/ocr/RecognizeImage"
    token = None
    if service == "aspose" and way == "peer":
        token = session.post(f"{server['base_url']}/connect/token", data={
            "grant_type": "client_credentials", "client_id": server["client_id"],
            "client_secret": server["client_secret"]}).json()["access_token"]

    reset_peak_rss()
    before = rss_bytes()
    start = time.perf_counter()
    if service == "aspose" and way == "adapter":
        result = provider.status(job_id)
        decoded = result.outputs[0].size
    elif service == "aspose" and way == "streaming":
        from docconvert_nb.providers._streaming import Base64JsonSink

        sink = Base64JsonSink({"data"}, work)
        provider.http.download("/v5.0/ocr/RecognizeImage", sink, params={"id": job_id}, auth=provider._oauth,
                               headers={"Accept": "application/json"})
        document = sink.finish()
        field = document["results"][0]["data"]
        os.replace(field.path, out_path)
        decoded = field.size
    elif service == "aspose":  # peer
        body = session.get(url, params={"id": job_id}, headers={"Authorization": f"Bearer {token}"}).content
        document = json.loads(body)
        data = base64.b64decode(document["results"][0]["data"])
        out_path.write_bytes(data)
        decoded = len(data)
        del body, document, data
    elif way.startswith("adapter"):
        with snapshot.outputs[0].open() as fh:
            fh.seek(0, os.SEEK_END)
            decoded = fh.tell()
    else:  # online-convert peers: the output in memory
        job = provider.http.json("GET", f"/jobs/{job_id}", headers=provider._read_headers(job_id))
        uri = job["output"][0]["uri"]
        params = {"encoding": "base64"} if way.endswith("base64") else {}
        data = session.get(uri, params=params).content
        if way.endswith("base64"):
            data = base64.b64decode(data)
        out_path.write_bytes(data)
        decoded = len(data)
        del data
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()
    try:
        provider.delete(job_id)
    finally:
        provider.close()
    if decoded != size:
        raise SystemExit(f"{service}/{way}: fetched {decoded} bytes, expected {size}")
    return {"seconds": seconds, "peak_bytes": peak - before, "rss_before": before}


# -- the parent ----------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, lambda p: (
        p.add_argument("--size-mb", type=float, help="output size (default 200, quick 4)"),
        p.add_argument("--rounds", type=int, help="fetches per candidate (default 1: the simulator takes ~20 s to build each 200 MB body)"),
        p.add_argument("--serve", action="store_true", help=_hidden()),
        p.add_argument("--fetch", nargs=3, metavar=("SERVICE", "WAY", "SERVER_JSON"), help=_hidden()),
    ))
    size = int((args.size_mb or (4 if args.quick else 200)) * 1e6)
    if args.serve:
        serve(size)
        return 0
    if args.fetch:
        service, way, server = args.fetch
        print(json.dumps(fetch(service, way, json.loads(server), size)))
        return 0

    rounds = args.rounds or 1
    report = Report("large_results", quick=args.quick)
    server_process = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--size-mb", str(size / 1e6)], env=python_env(),
        stdout=subprocess.PIPE, text=True)
    try:
        servers = json.loads(server_process.stdout.readline())
        measured: dict[tuple[str, str], list[dict]] = {(s, w): [] for s, ways in WAYS.items() for w in ways}
        for index in range(rounds):
            order = list(measured) if index % 2 == 0 else list(reversed(measured))
            for service, way in order:
                child = run_child([sys.executable, __file__, "--fetch", service, way, json.dumps(servers[service]),
                                   "--size-mb", str(size / 1e6)], env=python_env(), timeout=600)
                result = json.loads(child.stdout.strip().splitlines()[-1])
                result["child_peak_rss"] = child.peak_rss_bytes
                measured[(service, way)].append(result)
                print(f"  {service:<14} {way:<15} {result['seconds']:6.2f} s   fetch peak "
                      f"{result['peak_bytes'] / size:5.2f}× output   (process peak {child.peak_rss_bytes / 1e6:6.0f} MB)",
                      flush=True)
    finally:
        server_process.terminate()
        server_process.wait(timeout=30)

    def fig(service, way, key):
        return median([r[key] for r in measured[(service, way)]])

    mb = size / 1e6
    for service, peer_ways in (("aspose", ["peer"]), ("onlineconvert", ["peer", "peer_base64"])):
        ours_ways = [w for w in WAYS[service] if not w.startswith("peer")]
        for ours in ours_ways:
            peer = peer_ways[-1] if ours.endswith("base64") else peer_ways[0]
            label = WAYS[service][ours]
            report.row(f"{mb:.0f} MB: peak memory / output, {label}", WAYS[service][peer],
                       fig(service, peer, "peak_bytes") / size, fig(service, ours, "peak_bytes") / size, unit="×",
                       note=f"target < {TARGET}×")
            report.row(f"{mb:.0f} MB: fetch time, {label}", WAYS[service][peer],
                       fig(service, peer, "seconds"), fig(service, ours, "seconds"), unit="s")
    over = [WAYS[s][w] for (s, w) in measured if not w.startswith("peer")
            and fig(s, w, "peak_bytes") / size >= TARGET]
    report.note(f"over the {TARGET}× target: {', '.join(over)}" if over else f"every adapter under the {TARGET}× target")
    report.note("peak memory is the fetch's own: peak RSS during the fetch minus RSS before it, in a fresh process")
    report.note(f"times: {rounds} fetch(es) per candidate, including the simulator building each body "
                "(the same work for every candidate of a service), so they are noisy; the memory figures are not")
    report.details = {"size_bytes": size, "rounds": rounds,
                      "runs": {f"{s}/{w}": runs for (s, w), runs in measured.items()}}
    report.finish()
    return 0


def _hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
