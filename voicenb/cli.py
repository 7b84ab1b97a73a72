"""`voicenb` command line: argument parsing only; the work lives in `voicenb.tools` and the engine.

User mistakes (a missing file, a bad value) print one line and exit 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable

from .model_table import DEFAULT_REALTIME_MODEL, DEFAULT_TEXT_MODEL


class UsageError(Exception):
    """A mistake in what the user asked for: shown as one line, exit code 2."""


def _demo(args: argparse.Namespace) -> int:
    from .tools.demo import main

    return main(as_json=args.json, realtime=not args.fast)


def _serve(args: argparse.Namespace) -> int:
    from .engine import serve

    parts = {"llm": args.llm, "stt": args.stt, "tts": args.tts}
    serve(host=args.host, port=args.port, token=args.token, **{k: v for k, v in parts.items() if v})
    return 0


def _model_path(args: argparse.Namespace) -> int:
    from .engine.models import main as models_main

    models_main(["--path", args.name])
    return 0


def _serve_models(args: argparse.Namespace) -> int:
    from .engine.chat_api import serve_models

    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    serve_models(parts, llm=args.llm, host=args.host, port=args.port, token=args.token, threads=args.threads)
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.load:
        from .tools.load import main as load_bench

        load_bench(args.load, args.turns)
        return 0
    if args.sessions:
        from .tools.classroom import room_sessions
        from .tools.latency import concurrent_sessions

        local = asyncio.run(concurrent_sessions(args.sessions, args.turns))
        room = asyncio.run(room_sessions(args.sessions, args.turns))
        if not args.json:
            print(f"{args.sessions} sessions, one in-process engine: v2v p50 {local['p50_s']:.2f} s, "
                  f"p95 {local['p95_s']:.2f} s")  # fmt: skip
            for r in room["rows"]:
                n, p50, p95 = r["sessions"], r["p50_s"], r["p95_s"]
                print(f"classroom recipe, {n} at once: v2v p50 {p50:.2f} s, p95 {p95:.2f} s")
            mem = room["engine"]
            print(f"holds {room['holds']} at p95 <= {room['target_p95_s']:.0f} s; engine process "
                  f"{mem['rss_mb']:.0f} MB resident (peak {mem['peak_mb']:.0f} MB)")  # fmt: skip
        print(json.dumps({"sessions": args.sessions, "local": local, "classroom": room}))
        return 0
    from .tools.bench import long_session_figures, run_benchmarks
    from .tools.fold_pace import fold_pace

    out = (lambda s: None) if args.json else print
    if args.folds:
        figures = asyncio.run(fold_pace(out=out))
        print(json.dumps(figures))
        return 1 if "fold_error" in figures else 0
    if args.long_session is not None:
        figures = long_session_figures(args.long_session, out)
        print(json.dumps(figures))
        return 0 if figures["long_reply_wait_p50_s"] is not None and not figures["long_stopped"] else 1
    figures = run_benchmarks(quick=args.quick, out=out)
    print(json.dumps(figures))
    return 1 if "summary_overlap_error" in figures else 0


def _eval(args: argparse.Namespace) -> int:
    from .tools.eval import ConversationError, EvalSettings, run

    settings = EvalSettings(
        policy=args.policy, summariser=args.summariser, trigger_tokens=args.trigger, keep_last=args.keep_last,
        retention_ratio=args.retention_ratio, model=args.model, speech=args.speech, wpm=args.wpm,
        probe=args.probe, recall=args.recall, recall_always=args.recall_always,
        target_tokens=args.target,
    )  # fmt: skip
    try:
        return run(args.conversations, settings, minutes=args.minutes, all_policies=args.compare,
                   plot=args.plot, as_json=args.json, ratios=args.ratios,
                   fill=args.fill, first_turns=args.first_turns)  # fmt: skip
    except ConversationError as exc:
        raise UsageError(str(exc)) from exc


def _soak(args: argparse.Namespace) -> int:
    from .tools.soak import main

    wall_s = args.max_wall_minutes * 60 if args.max_wall_minutes else None
    return main(args.minutes, args.handoff_every, args.json, args.defaults, args.realtime,
                args.local_model, wall_s)  # fmt: skip


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _ratio(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicenb",
        description="Realtime voice bots that summarise their own context (OpenAI Realtime GA protocol, "
        "or the offline engine when no OPENAI_API_KEY is set).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the live summarising bot with a scripted spoken user")
    demo.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    demo.add_argument("--fast", action="store_true", help="stream the scripted speech faster than real time")
    demo.set_defaults(func=_demo)

    serve = sub.add_parser("serve", help="start the offline realtime engine (GA protocol) on loopback")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    serve.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' (401 otherwise)")
    serve.add_argument("--llm", default=None, help="reply model: a name, a .gguf path or a chat endpoint URL")
    serve.add_argument("--stt", default=None, help="speech to text: a whisper name or dir, or a server's URL")
    serve.add_argument("--tts", default=None, help="text to speech: a piper .onnx, or a server's URL")
    serve.set_defaults(func=_serve)

    models = sub.add_parser(
        "serve-models",
        help="serve the engine's models over HTTP (chat, transcriptions, speech) for other engines",
    )
    models.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    models.add_argument("--port", type=int, default=8766, help="port to listen on (default 8766)")
    models.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' (401 otherwise)")
    models.add_argument(
        "--parts", default="chat,stt,tts", help="which of chat,stt,tts to serve (default all)"
    )
    models.add_argument("--llm", default=None, help="the chat model: a name or a .gguf path")
    models.add_argument("--threads", type=_positive(int), default=2, help="threads per model (default 2)")
    models.set_defaults(func=_serve_models)

    from .engine.models import LLMS

    path = sub.add_parser("model-path", help="print a bundled reply model's GGUF path (for llama_cpp.server)")
    path.add_argument("name", choices=list(LLMS))
    path.set_defaults(func=_model_path)

    bench = sub.add_parser("bench", help="measure core throughput and the engine's voice-to-voice latency")
    bench.add_argument("--json", action="store_true", help="print only the JSON line of figures")
    bench.add_argument("--quick", action="store_true", help="fewer repetitions")
    bench.add_argument("--load", type=int, default=0, metavar="N",
                       help="N concurrent engine sessions: reply p50/p95, RSS, a flood")  # fmt: skip
    sessions_help = (
        "N spoken sessions at once: v2v p50/p95 in-process, then 1..N learners against the classroom recipe"
    )
    bench.add_argument("--sessions", type=int, default=0, metavar="N", help=sessions_help)
    bench.add_argument(
        "--turns", type=_positive(int), default=3, help="turns per session for --load/--sessions"
    )
    bench.add_argument(
        "--folds",
        action="store_true",
        help="only the fold-pace figure: the default offline summariser folding 1k-4k tokens",
    )
    bench.add_argument("--long-session", type=_positive(int), default=None, metavar="N",
                       help="only the long-session figure: N typed turns through the default offline "
                       "session (the full run does 150)")  # fmt: skip
    bench.set_defaults(func=_bench)

    evl = sub.add_parser("eval", help="replay a conversation under a context policy")
    evl.add_argument("conversations", nargs="+", metavar="CONVERSATION.json", help="played in a row")
    policies = ["summarise", "last-n", "retention", "auto", "none"]
    evl.add_argument("--policy", default="summarise", choices=policies,
                     help="context policy (default summarise; none: never prune, theoretical)")  # fmt: skip
    evl.add_argument("--summariser", default="local", choices=["local", "offline", "openai"],
                     help=f"local model (default), offline (extractive) or openai ({DEFAULT_TEXT_MODEL})",
                     )  # fmt: skip
    evl.add_argument(
        "--trigger", type=_positive(int), default=None,
        help="summarise/last-n trigger and retention's token limit (default: the model's cost-optimal "
        "trigger; retention at the model's truncation point)",
    )  # fmt: skip
    evl.add_argument(
        "--target", type=int, default=None, help="window tokens to prune down to (summarise/last-n)"
    )
    evl.add_argument("--ratios", type=_ratio, nargs="+", default=None, metavar="R",
                     help="retention ratios for --compare (default: --retention-ratio)")  # fmt: skip
    evl.add_argument("--keep-last", type=int, default=4, help="turns always kept verbatim (default 4)")
    evl.add_argument("--retention-ratio", type=_ratio, default=0.5, help="for --policy retention")
    evl.add_argument("--model", default=DEFAULT_REALTIME_MODEL,
                     help=f"realtime model whose window and prices count (default {DEFAULT_REALTIME_MODEL})",
                     )  # fmt: skip
    evl.add_argument("--minutes", type=float, default=0, help="loop turns up to this many minutes")
    evl.add_argument("--fill", default="loop", choices=["loop", "chatter"],
                     help="how --minutes pads: loop every turn (facts restated) or the fact-free small talk "
                     "after one pass (survival then measures the early facts)")  # fmt: skip
    evl.add_argument("--wpm", type=_positive(int), default=150, help="speaking rate for estimated audio")
    evl.add_argument("--speech", action="store_true", help="user turns as synthesised speech (offline extra)")
    evl.add_argument("--compare", action="store_true", help="run every policy; print a table and plot a PNG")
    evl.add_argument("--plot", default=None, help="PNG path for --compare (default compare-NAME.png)")
    evl.add_argument("--probe", action="store_true", help="at the end, ask the bot each fact's question")
    evl.add_argument("--recall", action="store_true",
                     help="offer the bot the recall tool (BM25 over the full log)")  # fmt: skip
    evl.add_argument("--recall-always", action="store_true",
                     help="each probe's first response must call recall")  # fmt: skip
    evl.add_argument("--first-turns", type=_positive(int), default=None, metavar="N",
                     help="only each conversation's first N turns, with the facts stated there")  # fmt: skip
    evl.add_argument("--json", action="store_true", help="end with one JSON line of results")
    evl.set_defaults(func=_eval)

    soak = sub.add_parser(
        "soak", help="a long simulated conversation with forced handoffs; checks no turn is lost"
    )
    soak.add_argument("--minutes", type=_positive(float), default=120, help="simulated minutes (default 120)")
    soak.add_argument("--handoff-every", type=_positive(float), default=20,
                      help="simulated minutes between handoffs")  # fmt: skip
    soak.add_argument("--defaults", action="store_true",
                      help="VoiceSession.offline()'s own settings (model, trigger, summariser, "
                           "spoken replies), no forced handoffs: checks no reply fails silently")  # fmt: skip
    soak.add_argument("--realtime", action="store_true",
                      help="pace turns as a caller would (speak, then listen to the whole reply) instead "
                           "of back to back: a 30-minute run takes 30 minutes")  # fmt: skip
    soak.add_argument("--local-model", action="store_true",
                      help="reply and summarise with the engine's default local model (seconds a turn) "
                           "instead of scripted replies and the extractive summariser")  # fmt: skip
    soak.add_argument("--max-wall-minutes", type=_positive(float), default=None, metavar="M",
                      help="stop after M wall-clock minutes and report the figures so far")  # fmt: skip
    soak.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    soak.set_defaults(func=_soak)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except (UsageError, ValueError) as exc:  # ValueError: e.g. an unknown model, named with the known ones
        if args.debug:
            raise
        print(f"voicenb {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
