"""Command line: convert, play, sample, selftest. Errors: one line on stderr, exit 2."""

import argparse
import signal
import sys

from asciivideo import __version__
from asciivideo.charmap import DEFAULT_CHARSET, DEFAULT_WIDTH
from asciivideo.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, AsciiVideoError

PROG = "asciivideo"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # type: (str) -> None
        sys.stderr.write("%s: error: %s\n" % (PROG, message))
        sys.exit(EXIT_USAGE)


def _height(text):
    # type: (str) -> object
    if text == "auto":
        return None
    return int(text)


def build_parser():
    # type: () -> argparse.ArgumentParser
    parser = _Parser(prog=PROG, description="Convert videos to ASCII art and play them.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    conv = sub.add_parser("convert", help="convert VIDEO to a text file")
    conv.add_argument("video")
    conv.add_argument("-o", "--output", required=True, metavar="OUT")
    conv.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="columns (default 80)")
    conv.add_argument("--height", type=_height, default=None, help="rows, or auto (default)")
    conv.add_argument("--charset", default=DEFAULT_CHARSET, help="characters, darkest first")
    conv.add_argument("--invert", action="store_true", help="darkest pixels get the last char")
    conv.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")

    play = sub.add_parser("play", help="play a converted file in the terminal")
    play.add_argument("file")
    play.add_argument("--fps", type=float, default=None, help="override the recorded rate")

    sample = sub.add_parser("sample", help="write a synthetic Bad-Apple-like clip")
    sample.add_argument("clip")
    sample.add_argument("--frames", type=int, default=300)
    sample.add_argument("--size", default="480x360", help="WxH (default 480x360)")
    sample.add_argument("--fps", type=float, default=30.0)

    selftest = sub.add_parser("selftest", help="convert a sample with 1 and N workers, compare")
    selftest.add_argument("--workers", type=int, default=None, help="N (default: CPUs)")
    return parser


def _raise_interrupt(signum, frame):
    # type: (int, object) -> None
    raise KeyboardInterrupt()


def run(args):
    # type: (argparse.Namespace) -> int
    if args.command == "convert":
        from asciivideo.convert import convert

        result = convert(
            args.video,
            args.output,
            width=args.width,
            height=args.height,
            charset=args.charset,
            invert=args.invert,
            workers=args.workers,
        )
        if result.note:
            sys.stderr.write("%s: note: decoded sequentially: %s\n" % (PROG, result.note))
        return EXIT_OK
    if args.command == "play":
        from asciivideo.play import play

        play(args.file, fps=args.fps)
        return EXIT_OK
    if args.command == "sample":
        from asciivideo.sample import parse_size, write_sample

        size = parse_size(args.size)
        write_sample(args.clip, frames=args.frames, size=size, fps=args.fps)
        return EXIT_OK
    if args.command == "selftest":
        from asciivideo.convert import default_workers
        from asciivideo.selftest import selftest

        workers = args.workers if args.workers is not None else default_workers()
        if workers < 1:
            raise AsciiVideoError("--workers must be at least 1, got %d" % workers)
        ok, message = selftest(workers)
        (sys.stdout if ok else sys.stderr).write(message + "\n")
        return EXIT_OK if ok else EXIT_FAILED
    build_parser().print_help(sys.stderr)
    return EXIT_USAGE


def main(argv=None):
    # type: (object) -> int
    args = build_parser().parse_args(argv)  # type: ignore
    signal.signal(signal.SIGTERM, _raise_interrupt)  # same cleanup as Ctrl-C
    try:
        return run(args)
    except AsciiVideoError as exc:
        sys.stderr.write("%s: error: %s\n" % (PROG, exc))
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return EXIT_INTERRUPTED
