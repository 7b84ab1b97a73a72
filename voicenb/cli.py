"""`voicenb` command line: demo, serve, bench (and more as the toolkit grows)."""

from __future__ import annotations

import argparse
import json
import logging
import sys


def _demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main(as_json=args.json, realtime=not args.fast)


def _serve(args: argparse.Namespace) -> int:
    from .engine import serve

    serve(host=args.host, port=args.port, token=args.token)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_benchmarks

    figures = run_benchmarks(quick=args.quick, out=(lambda s: None) if args.json else print)
    print(json.dumps(figures))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicenb",
        description="Realtime voice bots that summarise their own context (OpenAI Realtime GA protocol, "
        "or the offline engine when no OPENAI_API_KEY is set).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the live summarising bot with a scripted spoken user")
    demo.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    demo.add_argument("--fast", action="store_true", help="stream the scripted speech faster than real time")
    demo.set_defaults(func=_demo)

    serve = sub.add_parser("serve", help="start the offline realtime engine (GA protocol) on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' (401 otherwise)")
    serve.set_defaults(func=_serve)

    bench = sub.add_parser("bench", help="measure core throughput and the engine's voice-to-voice latency")
    bench.add_argument("--json", action="store_true", help="print only the JSON line of figures")
    bench.add_argument("--quick", action="store_true", help="fewer repetitions")
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
