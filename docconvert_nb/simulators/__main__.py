"""``python -m docconvert_nb.simulators PROVIDER [--port N]``: run a simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import SIMULATORS, simulator_class


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m docconvert_nb.simulators",
        description="Run a local simulator of a conversion service's wire protocol on 127.0.0.1.",
    )
    parser.add_argument("provider", choices=sorted(SIMULATORS), help="which service to simulate")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--queued", type=float, default=0.5, help="seconds a job stays queued (default 0.5)")
    parser.add_argument("--processing", type=float, default=1.0, help="minimum seconds of processing (default 1)")
    args = parser.parse_args(argv)

    stop = threading.Event()
    # Before anything is printed: whoever reads "listening" may send SIGTERM at once.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sim = simulator_class(args.provider)(port=args.port, durations={"queued": args.queued, "processing": args.processing})
    sim.start()
    print(f"{sim.label or sim.name} simulator listening on {sim.base_url}", flush=True)
    for key, value in sim.credentials.items():
        print(f"  {key}: {value}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
