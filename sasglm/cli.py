"""Command line: ``sasglm run PROGRAM.sas [options]`` (and ``sasglm repl`` / no arguments)."""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__


def _libname(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise argparse.ArgumentTypeError("expected REF=DIR")
    ref, path = value.split("=", 1)
    return ref.strip(), path.strip()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sasglm", description="Run SAS programs (DATA step, PROC GENMOD/GLIMMIX/"
                                "MIXED, ...) without SAS, printing what SAS prints.")
    p.add_argument("--version", action="version", version=f"sasglm {__version__}")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run a SAS program")
    r.add_argument("program", help="the .sas file ('-' for standard input)")
    r.add_argument("--libname", action="append", type=_libname, default=[], metavar="REF=DIR",
                   help="map a libref to a folder, overriding the program's LIBNAME statement")
    r.add_argument("--json", metavar="FILE", help="write every table the program produced as JSON")
    r.add_argument("--log", metavar="FILE", help="write the log here instead of standard error")
    r.add_argument("--print", dest="print_file", metavar="FILE", help="write the output here instead of stdout")
    r.add_argument("--outdir", metavar="DIR", default=".", help="folder for ODS graphics files")
    r.add_argument("--allow-shell", action="store_true", help="allow X, CALL SYSTEM, FILENAME PIPE")
    r.add_argument("--plain", action="store_true", help="plain listing output even on a terminal")
    r.add_argument("--html", metavar="FILE", help="also write every table and graph to this HTML file")
    r.add_argument("--linesize", type=int, default=100)
    rp = sub.add_parser("repl", help="interactive session (also: sasglm with no arguments)")
    rp.add_argument("--libname", action="append", type=_libname, default=[], metavar="REF=DIR")
    return p


def run_program(args) -> int:
    from .log import Log
    from .session import Session
    log_stream = open(args.log, "w") if args.log else sys.stderr
    out_stream = open(args.print_file, "w") if args.print_file else sys.stdout
    try:
        if args.program == "-":
            source = sys.stdin.read()
        else:
            try:
                with open(args.program, encoding="utf-8", errors="replace") as f:
                    source = f.read()
            except OSError as e:
                print(f"ERROR: Cannot open program file {args.program}: {e.strerror}.", file=log_stream)
                return 2
        rich = (not args.plain and not args.print_file and out_stream.isatty())
        session = Session(log=Log(log_stream), out=out_stream, libname_overrides=dict(args.libname),
                          allow_shell=args.allow_shell, outdir=args.outdir, rich=rich, linesize=args.linesize)
        session.assign_override_libs()
        session.program_dir = os.path.dirname(os.path.abspath(args.program)) if args.program != "-" else os.getcwd()
        if args.html:
            from .ods.destinations import HtmlDestination
            session.open_destinations["__cli_html"] = HtmlDestination(__import__("pathlib").Path(args.html), "default")
        session.submit(source)
        session.close_destinations()
        if args.json:
            from .ods.render import write_json
            write_json(session.tables, args.json)
        return session.log.exit_status
    finally:
        if args.log:
            log_stream.close()
        if args.print_file:
            out_stream.close()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # numpy/scipy RuntimeWarnings (an overflow inside a line search, a log of 0 at a trial point) are internal:
    # the log reports their consequences (non-convergence, a failed fit) as SAS NOTEs, WARNINGs and ERRORs
    import warnings
    warnings.simplefilter("ignore", RuntimeWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_program(args)
    if args.command in (None, "repl"):
        from .repl import Repl
        from .log import Log
        from .session import Session
        session = Session(log=Log(sys.stdout, echo_source=False), out=sys.stdout, rich=sys.stdout.isatty(),
                          libname_overrides=dict(getattr(args, "libname", []) or []))
        return Repl(session).run()
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
