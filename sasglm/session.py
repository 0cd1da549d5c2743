"""A SAS session: libraries, titles, options, ODS state and the loop that runs steps in order.

Both drivers (``sasglm run`` and the REPL) feed source text to :meth:`Session.submit`.  A step
that fails reports ERROR lines and is skipped; the session goes on with the next step, and a
failed step never replaces an existing data set.
"""
from __future__ import annotations

import atexit
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import ast as A
from .data.dataset import Dataset
from .data.library import Library, LibraryError
from .errors import SasError
from .log import Log
from .ods.render import ListingRenderer
from .ods.table import Table
from .parser import (RawStep, SasSyntaxError, parse_data_statement, parse_proc_statement,
                     parse_statement_text)

INPUT_DS_OPTIONS = {"firstobs", "obs", "keep", "drop", "rename", "where", "in"}
OUTPUT_DS_OPTIONS = {"keep", "drop", "rename", "where", "label"}

# OPTIONS statement.  Honoured: the macro trace switches (and their NO forms) and LINESIZE=.  Page
# layout options have nothing to act on (sasglm does not paginate or stamp pages) and are accepted
# quietly.  Every other system option is ignored with a WARNING that names it.
HONOURED_OPTIONS = {"ls", "linesize", "mprint", "mlogic", "symbolgen", "errors"}
BY_GROUP_PROCS = {"genmod", "gee", "glimmix", "mixed"}


_PROGRAM_WORDS = {"if", "else", "do", "end", "select", "when", "otherwise", "array"}


def _is_programming_statement(st) -> bool:
    """A DATA-step statement inside a PROC step that allows programming statements (IF/ELSE, DO/END,
    SELECT, ARRAY, assignments)."""
    from .parser import _followed_by_assign
    return st.first_word in _PROGRAM_WORDS or _followed_by_assign(st.text)


class ByGroup(NamedTuple):
    """One BY group of a modelling step: its rows (start, stop) of the input data set after WHERE."""
    data: str                  # the input data set's name, as input_data displays it
    rows: tuple[int, int]
    byline: str
    values: dict
LAYOUT_OPTIONS = {
    "ps", "pagesize", "nodate", "date", "nonumber", "number", "nocenter", "center", "formdlim",
    "orientation", "papersize", "pageno", "formchar", "noxwait", "xwait", "threads", "nothreads",
    "cpucount", "spool", "nospool", "helpbrowser", "msglevel",
}


def _remove_files(paths: list) -> None:
    for p in paths:
        try:
            os.remove(p)
        except OSError:
            pass


class Session:
    def __init__(self, *, log: Log | None = None, out=None, libname_overrides: dict | None = None,
                 allow_shell: bool = False, outdir: str | None = None, rich: bool = False,
                 linesize: int = 100, step_timeout: float | None = None):
        self.log = log or Log()
        self.out = out if out is not None else sys.stdout
        self.libraries: dict[str, Library] = {"work": Library("WORK")}
        self.libname_overrides = {k.lower(): v for k, v in (libname_overrides or {}).items()}
        self.allow_shell = allow_shell
        self.outdir = Path(outdir or ".")
        self.titles: dict[int, str] = {}
        self.footnotes: dict[int, str] = {}
        self.options: dict[str, object] = {}
        self.user_formats: dict = {}
        self.filerefs: dict[str, str] = {}
        self._temp_files: list[str] = []
        atexit.register(_remove_files, self._temp_files)
        self.macro_vars: dict[str, str] = {}
        self.item_stores: dict[str, object] = {}
        self.tables: list[Table] = []
        self.last_dataset: str | None = None
        self.ods_listing = True
        self.ods_select: list[str] | None = None
        self.ods_exclude: list[str] = []
        self.ods_trace = False
        self.ods_outputs: dict[str, A.DsRef] = {}
        self.ods_graphics = True
        self.ods_proctitle = True
        self.open_destinations: dict[str, dict] = {}
        self.renderer = self._make_renderer(rich, linesize)
        self._source_lines: list[str] = []
        self._echoed = 0
        self.syscc = 0
        self.graph_counter = 0
        self.graph_names: dict[str, int] = {}     # ODS graph name -> images written (EFFECTPLOT)
        self.effectplot_data: list[dict] = []     # what each EFFECTPLOT drew
        self.images: list[str] = []
        self.current_proc: str | None = None
        self.by_filter: ByGroup | None = None     # the BY group being analysed
        self.by_written: dict | None = None       # OUT= data sets written during BY-group processing
        self.step_timeout = step_timeout

    def _make_renderer(self, rich: bool, linesize: int):
        if rich:
            from .ods.render import RichRenderer
            return RichRenderer(self.out, linesize)
        return ListingRenderer(self.out, linesize)

    # ------------------------------------------------------------------ running source
    def submit(self, source: str, first_line: int | None = None) -> None:
        """Run a chunk of SAS source (a whole program, or what the REPL collected)."""
        start = len(self._source_lines) + 1 if first_line is None else first_line
        self._source_lines.extend(source.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        from .macro import Feeder
        feeder = Feeder(self, start)
        self.macro.run_open_code(source.replace("\r\n", "\n").replace("\r", "\n"), feeder, start)
        feeder.finish()
        self._echo_to(len(self._source_lines))

    def run_step(self, raw: RawStep) -> None:
        """Run one step (or global statement) handed over by the macro stage."""
        last_line = max(st.end_line + (len(st.datalines) + 1 if st.datalines is not None else 0)
                        for st in raw.statements)
        self._echo_to(last_line)
        try:
            with _time_limit(self.step_timeout):
                self._run_raw(raw)
        except KeyboardInterrupt:
            self.log.error("The step was interrupted by the user; WORK data sets are unchanged.")
        except StepTimeout:
            self.log.error(f"The step starting at line {raw.line} was stopped after {self.step_timeout:g} "
                           "seconds (time limit).")
        except SasError as e:
            self._report(e)
        except RecursionError:
            self.log.error("The step is nested too deeply to run.")
        except (np.linalg.LinAlgError, FloatingPointError, OverflowError, ZeroDivisionError) as e:
            # numerical failure of a fit: SAS stops such a step with an ERROR too
            self.log.error(f"Line {raw.line}: The model could not be fitted: a matrix is singular or a value "
                           f"overflowed ({type(e).__name__}: {e}). The model may be overparameterized, or the "
                           "data may be separated.")
            if os.environ.get("SASGLM_DEBUG"):
                traceback.print_exc()
            self._stopped()
        except Exception as e:   # never a traceback: an internal error is an ERROR line
            self.log.error(f"Internal error while running the step at line {raw.line}: "
                           f"{type(e).__name__}: {e}")
            if os.environ.get("SASGLM_DEBUG"):
                traceback.print_exc()

    def _echo_to(self, line: int) -> None:
        while self._echoed < min(line, len(self._source_lines)):
            self._echoed += 1
            self.log.source(self._echoed, self._source_lines[self._echoed - 1])

    def _report(self, e: SasError) -> None:
        where = ""
        if e.line is not None:
            where = f"Line {e.line}, column {e.col}: " if e.col is not None else f"Line {e.line}: "
        self.log.error(where + e.message, e.code)

    def _syntax_error(self, e: SasSyntaxError) -> None:
        exp = ""
        if e.expected:
            exp = ", expecting one of the following: " + ", ".join(e.expected[:25])
        self.log.error(f"Line {e.line}, column {e.col}: {e.message}{exp}.", "22-322")

    def _stopped(self) -> None:
        self.log.note("The SAS System stopped processing this step because of errors.")
        self.syscc = max(self.syscc, 8)

    @property
    def macro(self):
        if not hasattr(self, "_macro"):
            from .macro import MacroProcessor
            self._macro = MacroProcessor(self)
        return self._macro

    def _run_raw(self, raw: RawStep) -> None:
        if raw.kind == "global":
            self.run_global(raw.statements[0])
        elif raw.kind == "stray":
            st = raw.statements[0]
            self.log.error(f"Line {st.line}, column {st.col}: Statement is not valid or it is used out of proper "
                           "order.", "180-322")
        elif raw.kind == "data":
            self._run_data(raw)
        elif raw.kind == "proc":
            self._run_proc(raw)

    # ------------------------------------------------------------------ DATA step
    def _run_data(self, raw: RawStep) -> None:
        from .datastep.execute import DataStepRunner
        stmts = []
        failed = False
        head = raw.statements[0]
        outputs = []
        datalines, datalines_line = None, None
        for st in raw.statements:
            if st.first_word in ("run",) and st is raw.statements[-1] and raw.ended:
                continue
            try:
                if st is head:
                    node = parse_statement_text(st.text, "data_stmt", st.line, st.col)
                    outputs = node[1]
                    continue
                node = parse_data_statement(st)
            except SasSyntaxError as e:
                self._syntax_error(e)
                failed = True
                continue
            except SasError as e:
                self._report(e)
                failed = True
                continue
            if isinstance(node, tuple):
                if node[0] == "datalines":
                    datalines = st.datalines or []
                    datalines_line = st.end_line + 1
                continue
            if isinstance(node, A.Where) and False:
                pass
            stmts.append(node)
        if not outputs:
            outputs = [A.DsRef(None, self._next_dataN(), line=head.line, col=head.col)]
        outputs = [o for o in outputs if o.name.lower() != "_null_"] if any(
            o.name.lower() == "_null_" for o in outputs) else outputs
        step = A.DataStep(outputs, stmts, datalines, datalines_line=datalines_line, line=head.line, col=head.col)
        if failed:
            self._stopped()
            self._not_replaced(outputs)
            return
        try:
            results = DataStepRunner(step, self).run()
        except SasError as e:
            self._report(e)
            self._stopped()
            self._not_replaced(outputs)
            return
        for ref, ds in results:
            self.put_dataset(ref, ds, options_applied=True)

    def _next_dataN(self) -> str:
        n = 1
        while self.libraries["work"].exists(f"DATA{n}"):
            n += 1
        return f"DATA{n}"

    def _not_replaced(self, outputs) -> None:
        for ref in outputs:
            lib = self.libraries.get((ref.libref or "work").lower())
            if lib is not None and lib.exists(ref.name):
                self.log.warning(f"Data set {ref.display} was not replaced because this step was stopped.")

    # ------------------------------------------------------------------ PROC steps
    def _run_proc(self, raw: RawStep) -> None:
        from .procs import get_proc
        head = raw.statements[0]
        try:
            proc_stmt = parse_statement_text(head.text, "proc_stmt", head.line, head.col)
        except SasSyntaxError as e:
            self._syntax_error(e)
            self._stopped()
            return
        name = proc_stmt.keyword.upper()
        if name == "SQL":
            # SQL statements are not SAS statement syntax: the SQL runner parses each one (grammar/sql.lark)
            from .procs.sql import run_sql_step
            handler = lambda session, proc: run_sql_step(session, raw)    # noqa: E731
        else:
            handler = get_proc(name)
        if handler is None:
            self.log.error(f"Procedure {name} not found.")
            self.syscc = max(self.syscc, 8)
            return
        stmts = []
        program, program_text = [], []
        failed = False
        for st in raw.statements[1:] if name != "SQL" else []:
            if st.first_word in ("run", "quit"):
                continue
            try:
                if name in ("GLIMMIX", "NLMIXED") and _is_programming_statement(st):
                    # GLIMMIX programming statements: DATA-step statements run over the input data
                    # (NLMIXED's are evaluated by the procedure at every parameter value)
                    program.append(parse_data_statement(st))
                    program_text.append(st.text)
                    continue
                if name == "NLMIXED":
                    # NLMIXED's statements (MODEL y ~ dist(...), RANDOM u ~ normal(...), PARMS a=1 ...)
                    # have a syntax of their own: the procedure parses their text
                    stmts.append(A.GenStmt(st.first_word, [], None, st.text, line=st.line, col=st.col))
                    continue
                node = parse_proc_statement(st)
            except SasSyntaxError as e:
                self._syntax_error(e)
                failed = True
                continue
            if isinstance(node, tuple):
                continue
            if st.datalines is not None:
                node.datalines = st.datalines  # type: ignore[attr-defined]
            stmts.append(node)
        if failed:
            self._stopped()
            return
        if name == "NLMIXED":
            proc = A.ProcStep(name, proc_stmt.items, stmts, line=head.line, col=head.col)
            proc.nl_program = program        # type: ignore[attr-defined]
        else:
            proc = A.ProcStep(name, proc_stmt.items, stmts, line=head.line, col=head.col, program=program,
                              program_text=";".join(program_text))
        self.current_proc = name
        n_tables = len(self.tables)
        try:
            by_stmts = [st for st in stmts if isinstance(st, A.GenStmt) and st.keyword == "by"]
            if by_stmts and name.lower() in BY_GROUP_PROCS:
                self._run_by_groups(handler, proc, by_stmts)
            else:
                handler(self, proc)
        except SasError as e:
            self._report(e)
            self._stopped()
        finally:
            self.current_proc = None
            self.by_filter = None
            self.by_written = None
            self.log.said = None
        self._ods_output_flush(n_tables)

    def _run_by_groups(self, handler, proc, by_stmts) -> None:
        """BY-group processing for the modelling procedures: the step runs once per BY group (formed
        after WHERE, in the data's order, which must be sorted), each group's tables under its byline;
        OUT= data sets collect every group's rows, ODS OUTPUT data sets get the BY variables first."""
        from .procs.common import Options, by_groups, by_items, input_data, where_statements
        if len(by_stmts) > 1:
            raise SasError("Only one BY statement is allowed.", by_stmts[1].line, by_stmts[1].col)
        by_st = by_stmts[0]
        rest = [st for st in proc.statements if st is not by_st]
        if any(isinstance(st, A.GenStmt) and st.keyword == "store" for st in rest):
            raise SasError("STORE with BY-group processing is not supported yet.", by_st.line, by_st.col)
        popts = Options([o for o in proc.options if isinstance(o, A.Opt) and o.key.lower() == "data"], {"data"},
                        "PROC")
        ds, ref = input_data(self, popts, proc, where_statements(proc))
        by = by_items(by_st.items, ds)
        groups = list(by_groups(ds, by, self, proc.name))
        sub_proc = A.ProcStep(proc.name, proc.options, rest, line=proc.line, col=proc.col)
        cols = [b for b, _ in by]
        self.by_written = {}
        self.log.said = set()
        start = 0
        for byline, sub in groups:
            rng = (start, start + sub.nobs)
            start += sub.nobs
            self.by_filter = ByGroup(ref.display, rng, byline, {c: sub.df[c].iloc[0] for c in cols})
            try:
                handler(self, sub_proc)
            except SasError as e:
                self._report(e)
                self.log.note(f"The above message was for the following BY group:\n      {byline}")

    # ------------------------------------------------------------------ data sets
    def library(self, libref: str | None, where=None) -> Library:
        key = (libref or "work").lower()
        lib = self.libraries.get(key)
        if lib is None:
            line, col = where if where else (None, None)
            raise SasError(f"Libref {key.upper()} is not assigned.", line, col)
        return lib

    def get_dataset(self, ref: A.DsRef | str, where=None) -> Dataset:
        if isinstance(ref, str):
            ref = parse_dsname(ref)
        if ref.path is not None:
            from .data.library import read_file
            p = Path(self.resolve_path(ref.path))
            if p.suffix == "":
                for ext in (".sas7bdat", ".parquet", ".csv", ".xpt"):
                    if p.with_suffix(ext).exists():
                        p = p.with_suffix(ext)
                        break
            if not p.exists():
                line, col = where if where else (ref.line, ref.col)
                raise SasError(f"File {ref.path} does not exist.", line, col)
            return read_file(p)
        if ref.name.lower() == "_last_":
            if self.last_dataset is None:
                raise SasError("There is no default input data set (_LAST_ is _NULL_).", ref.line, ref.col)
            ref = parse_dsname(self.last_dataset)
        lib = self.library(ref.libref, where or (ref.line, ref.col))
        try:
            ds = lib.get(ref.name)
        except LibraryError as e:
            line, col = where if where else (ref.line, ref.col)
            raise SasError(str(e), line, col)
        except Exception as e:
            line, col = where if where else (ref.line, ref.col)
            raise SasError(f"File {ref.display}.DATA could not be read: {e}", line, col)
        return ds

    def check_ds_options(self, ref: A.DsRef, honoured) -> None:
        """Data set options sasglm does not act on (BUFSIZE=, COMPRESS=, INDEX=, ...) are named in a
        WARNING rather than dropped silently."""
        for key in ref.options:
            if key not in honoured:
                self.log.warning(f"The data set option {key.upper()}= on {ref.display} is not supported "
                                 "and was ignored.")

    def apply_output_options(self, ds: Dataset, ref: A.DsRef) -> Dataset:
        """KEEP= DROP= RENAME= WHERE= LABEL= on a data set a PROC or ODS OUTPUT writes."""
        import dataclasses
        self.check_ds_options(ref, OUTPUT_DS_OPTIONS)
        opts = ref.options
        shaping = {k: v for k, v in opts.items() if k in ("keep", "drop", "rename", "where")}
        out = self.apply_input_options(ds, dataclasses.replace(ref, options=shaping), check=False)[0] \
            if shaping else ds
        if "label" in opts:
            out.label = str(opts["label"])
        return out

    def apply_input_options(self, ds: Dataset, ref: A.DsRef, where_stmts=(),
                            structure_only: bool = False, check: bool = True) -> tuple[Dataset, int, str | None]:
        """Apply FIRSTOBS= OBS= KEEP= DROP= RENAME= WHERE= (and WHERE statements; IN= is the DATA
        step's); returns (data set, rows read, WHERE text for the log)."""
        from .datastep.vector import where_mask, where_text
        opts = ref.options
        if check and not structure_only:
            self.check_ds_options(ref, INPUT_DS_OPTIONS)
        df = ds.df
        meta = ds.meta
        first = int(opts.get("firstobs", 1)) if "firstobs" in opts else 1
        if "obs" in opts:
            df = df.iloc[first - 1:int(opts["obs"])]
        elif first > 1:
            df = df.iloc[first - 1:]
        work = Dataset(df.reset_index(drop=True), dict(meta), ds.label, ds.sorted_by)
        if "drop" in opts or "keep" in opts:
            cols = list(work.df.columns)
            if "keep" in opts:
                keep = self._expand_names(opts["keep"], cols, ref)
                cols = [c for c in cols if c.lower() in keep]
            if "drop" in opts:
                drop = self._expand_names(opts["drop"], cols, ref)
                cols = [c for c in cols if c.lower() not in drop]
            work = Dataset(work.df[cols], {c.upper(): meta[c.upper()] for c in cols}, ds.label)
        if "rename" in opts:
            ren = {a.lower(): b for a, b in opts["rename"]}
            newcols = []
            newmeta = {}
            for c in work.df.columns:
                nc = ren.get(c.lower(), c)
                m = meta[c.upper()]
                from .data.dataset import VarMeta
                newmeta[nc.upper()] = VarMeta(nc, m.type, m.length, m.label, m.format, m.informat)
                newcols.append(nc)
            df2 = work.df.copy()
            df2.columns = newcols
            work = Dataset(df2, newmeta, ds.label)
        clauses = []
        if structure_only:
            return work, work.nobs, None
        if "where" in opts:
            clauses.append(opts["where"])
        clauses.extend(w.cond for w in where_stmts)
        where_txt = None
        if clauses:
            mask = np.ones(work.nobs, dtype=bool)
            work.display_name = ref.display  # type: ignore[attr-defined]
            for c in clauses:
                mask &= where_mask(c, work)
            where_txt = " and ".join(where_text(c) for c in clauses)
            work = Dataset(work.df[mask].reset_index(drop=True), work.meta, ds.label)
        return work, work.nobs, where_txt

    def _expand_names(self, items, cols, ref) -> set[str]:
        from .datastep.compiler import numbered_range
        out = set()
        for it in items:
            if it[0] == "name":
                out.add(it[1].lower())
            elif it[0] == "range":
                out |= {n.lower() for n in numbered_range(it[1], it[2], ref)}
            elif it[0] == "prefix":
                out |= {c.lower() for c in cols if c.lower().startswith(it[1].lower())}
        return out

    def put_dataset(self, ref: A.DsRef | str, ds: Dataset, note: bool = True, options_applied: bool = False) -> None:
        """Write a data set; its data set options (KEEP= ... LABEL=) are applied here unless the
        DATA step already did (options_applied)."""
        if isinstance(ref, str):
            ref = parse_dsname(ref)
        if ref.options and not options_applied:
            ds = self.apply_output_options(ds, ref)
        lib = self.library(ref.libref, (ref.line, ref.col))
        if self.by_written is not None:
            # under BY-group processing an OUT= data set collects the rows of every group
            key = f"{lib.name}.{ref.name.upper()}"
            prev = self.by_written.get(key)
            if prev is not None:
                from .data.dataset import normalise_frame
                ds = Dataset(normalise_frame(pd.concat([prev.df, ds.df], ignore_index=True)), prev.meta)
            self.by_written[key] = ds
        ds.stamp = time.time()       # type: ignore[attr-defined]  (PROC COMPARE's Created/Modified)
        try:
            lib.put(ref.name, ds)
        except Exception as e:
            raise SasError(f"Data set {ref.display} could not be written: {e}", ref.line, ref.col)
        self.last_dataset = f"{lib.name}.{ref.name.upper()}"
        if note:
            self.log.note(f"The data set {lib.name}.{ref.name.upper()} has {ds.nobs} observations and "
                          f"{len(ds.columns)} variables.")

    def resolve_path(self, path: str) -> str:
        return os.path.expanduser(path)

    def fileref_path(self, ref: str, line=None, col=None) -> str:
        """The physical file a FILENAME fileref names (SAS's ERROR for an unassigned one)."""
        path = self.filerefs.get(ref.lower())
        if path is None:
            raise SasError(f"No logical assign for filename {ref.upper()}.", line, col)
        return path

    def file_path(self, node) -> str:
        """A DATAFILE=/OUTFILE= value: a quoted physical name, or an unquoted fileref from FILENAME."""
        if isinstance(node, A.Word) and node.kind != "string":
            return self.resolve_path(self.fileref_path(str(node.value), node.line, node.col))
        return self.resolve_path(str(getattr(node, "value", node)))

    # ------------------------------------------------------------------ item stores (STORE / PROC PLM)
    def save_store(self, name: str, store) -> None:
        ref = parse_dsname(name)
        lib = self.library(ref.libref)
        key = f"{lib.name}.{ref.name.upper()}"
        self.item_stores[key] = store
        if lib.path is not None:
            store.save(lib.path / f"{ref.name.lower()}.sasglm-store")

    def get_store(self, name: str, where=None):
        ref = parse_dsname(name)
        lib = self.library(ref.libref, where)
        key = f"{lib.name}.{ref.name.upper()}"
        if key in self.item_stores:
            return self.item_stores[key]
        if lib.path is not None:
            p = lib.path / f"{ref.name.lower()}.sasglm-store"
            if p.exists():
                from .stats.store import ItemStore
                return ItemStore.load(p)
        line, col = where if where else (None, None)
        raise SasError(f"The item store {key} does not exist.", line, col)

    # ------------------------------------------------------------------ macro variables (minimal)
    def set_macro_var(self, name: str, value: str) -> None:
        self.macro_vars[name.lower()] = value

    def get_macro_var(self, name: str) -> str | None:
        return self.macro_vars.get(name.lower())

    # ------------------------------------------------------------------ output
    def emit_table(self, table: Table) -> None:
        table.titles = [self.titles[k] for k in sorted(self.titles)]
        if self.by_filter is not None:
            table.byline = table.byline or self.by_filter.byline
            table.by_values = dict(self.by_filter.values)
        table.proc = table.proc or (self.current_proc or "")
        if self.ods_trace:
            self.log.write(f"\nOutput Added:\n-------------\nName:       {table.name}\nLabel:      {table.title}\n"
                           f"Path:       {table.proc.title()}.{table.name}\n-------------")
        selected = self._selected(table)
        if not selected:
            return
        self.tables.append(table)
        proc_title = f"The {table.proc.upper()} Procedure" if (
            self.ods_proctitle and table.proc and getattr(table, "show_proc_title", True)) else None
        if self.ods_listing:
            self.renderer.page_header(table.titles, proc_title)
            self.renderer.table(table)
        for d in self.open_destinations.values():
            if hasattr(d, "table"):
                d.header(table.titles, proc_title)
                d.table(table)

    def _selected(self, table: Table) -> bool:
        names = {table.name.lower(), table.title.lower()}
        if self.ods_select is not None and not (set(s.lower() for s in self.ods_select) & names):
            return False
        if set(s.lower() for s in self.ods_exclude) & names:
            return False
        return True

    def _ods_output_flush(self, start: int) -> None:
        if not self.ods_outputs:
            return
        new = self.tables[start:]
        for name, ref in list(self.ods_outputs.items()):
            hits = [t for t in new if t.name.lower() == name]
            if not hits:
                self.log.warning(f"Output '{name}' was not created.  Make sure that the output object name, label, "
                                 "or path is spelled correctly.  Also, verify that the appropriate procedure options "
                                 "are used to produce the requested output object.  For example, verify that the "
                                 "NOPRINT option is not used.")
                del self.ods_outputs[name]
                continue
            frames = [table_to_frame(t) for t in hits]
            df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            from .data.dataset import normalise_frame
            self.put_dataset(ref, Dataset(normalise_frame(df)))
            del self.ods_outputs[name]

    def text(self, text: str) -> None:
        if self.ods_listing:
            self.renderer.text(text)

    def add_image(self, path: str) -> None:
        self.images.append(path)
        titles = [self.titles[k] for k in sorted(self.titles)]
        for d in self.open_destinations.values():
            if hasattr(d, "image"):
                d.header(titles, f"The {self.current_proc} Procedure" if self.current_proc else None)
                d.image(path)

    def close_destinations(self) -> None:
        """At the end of the program SAS closes the open destinations (writing their files)."""
        for key in list(self.open_destinations):
            d = self.open_destinations.pop(key)
            if hasattr(d, "close"):
                try:
                    d.close()
                except OSError as e:
                    self.log.error(f"The {key.upper()} file {d.path} could not be written: {e.strerror}.")

    # ------------------------------------------------------------------ global statements
    def run_global(self, st) -> None:
        word = st.first_word
        if word.startswith("%"):
            self.log.error(f"Line {st.line}, column {st.col}: Statement {word.upper()} is not valid (an unresolved "
                           "macro invocation or an unsupported macro statement).", "180-322")
            return
        try:
            node = parse_statement_text(st.text, "gen_stmt", st.line, st.col)
        except SasSyntaxError as e:
            self._syntax_error(e)
            return
        handler = getattr(self, "_g_" + re.sub(r"\d+$", "", word), None)
        if handler is None:
            self.log.warning(f"Statement {word.upper()} is not supported and was ignored.")
            return
        handler(node, st)

    def _g_title(self, node: A.GenStmt, st) -> None:
        self._title_like(node, st, self.titles)

    def _g_footnote(self, node: A.GenStmt, st) -> None:
        self._title_like(node, st, self.footnotes)

    def _title_like(self, node, st, store: dict) -> None:
        m = re.match(r"^[a-z]+(\d*)$", st.first_word)
        n = int(m.group(1)) if m and m.group(1) else 1
        if not 1 <= n <= 10:
            self.log.error(f"Line {st.line}, column {st.col}: {st.first_word.upper()} is not valid.")
            return
        for k in list(store):
            if k >= n:
                del store[k]
        parts = []
        for it in node.items:
            if isinstance(it, A.Word) and it.kind == "string":
                parts.append(it.value)
            elif isinstance(it, A.Opt):
                continue   # j=, h=, f=, color= options: layout only
            elif isinstance(it, A.Word):
                parts.append(str(it.value))
        text = " ".join(parts)
        if parts:
            store[n] = text

    def _g_libname(self, node: A.GenStmt, st) -> None:
        items = node.items
        if not items or not isinstance(items[0], A.Word):
            self.log.error(f"Line {st.line}, column {st.col}: LIBNAME statement requires a libref.")
            return
        ref = str(items[0].value).lower()
        rest = items[1:]
        if rest and isinstance(rest[0], A.Word) and rest[0].kind == "name" and str(rest[0].value).lower() == "clear":
            if ref in self.libraries and ref != "work":
                del self.libraries[ref]
                self.log.note(f"Libref {ref.upper()} has been deassigned.")
            return
        path = None
        for it in rest:
            if isinstance(it, A.Word) and it.kind == "string":
                path = it.value
                break
        if path is None:
            self.log.error(f"Line {st.line}, column {st.col}: LIBNAME statement for {ref.upper()} requires a "
                           "quoted physical path.")
            return
        if ref == "work":
            self.log.error("The WORK library cannot be reassigned.")
            return
        override = self.libname_overrides.get(ref)
        if override is not None:
            self.log.note(f"Libref {ref.upper()} path '{path}' is overridden by --libname: {override}")
            path = override
        self.libraries[ref] = Library(ref, self.resolve_path(path))
        if not Path(self.resolve_path(path)).is_dir():
            self.log.note(f"Library {ref.upper()} does not exist.")
        else:
            self.log.note(f"Libref {ref.upper()} was successfully assigned as follows: \n      Engine:        V9 \n"
                          f"      Physical Name: {os.path.abspath(self.resolve_path(path))}")

    def assign_override_libs(self) -> None:
        """--libname overrides also assign the libref up front (for programs without LIBNAME)."""
        for ref, path in self.libname_overrides.items():
            self.libraries[ref] = Library(ref, path)

    def _g_filename(self, node: A.GenStmt, st) -> None:
        items = node.items
        if not items:
            return
        ref = str(items[0].value).lower()
        words = [str(i.value).lower() for i in items[1:] if isinstance(i, A.Word) and i.kind == "name"]
        if "pipe" in words:
            if not self.allow_shell:
                self.log.error(f"Line {st.line}, column {st.col}: FILENAME PIPE is refused: shell commands are "
                               "disabled (run with --allow-shell to enable them).")
                return
        path = next((i.value for i in items[1:] if isinstance(i, A.Word) and i.kind == "string"), None)
        if path is None:
            if "clear" in words:
                self.filerefs.pop(ref, None)
            elif "temp" in words:
                # FILENAME fileref TEMP: an empty scratch file that lives as long as the session
                fd, path = tempfile.mkstemp(prefix=f"sasglm_{ref}_", suffix=".tmp")
                os.close(fd)
                self._temp_files.append(path)
                self.filerefs[ref] = path
            return
        self.filerefs[ref] = path

    def _g_x(self, node: A.GenStmt, st) -> None:
        if not self.allow_shell:
            self.log.error(f"Line {st.line}, column {st.col}: The X statement is refused: shell commands are "
                           "disabled (run with --allow-shell to enable them).")
            return
        cmd = " ".join(str(i.value) for i in node.items)
        subprocess.run(cmd, shell=True, check=False)

    def _g_systask(self, node, st) -> None:
        self._g_x(node, st)

    def _g_options(self, node: A.GenStmt, st) -> None:
        for it in node.items:
            if isinstance(it, A.Opt):
                key = it.key
                val = it.value.value if isinstance(it.value, A.Word) else it.value
            elif isinstance(it, A.Word) and it.kind == "name":
                key, val = str(it.value).lower(), True
            else:
                continue
            key = key.lower()
            if key.startswith("no") and key[2:] in HONOURED_OPTIONS:
                key, val = key[2:], False
            if key in LAYOUT_OPTIONS:
                continue
            if key not in HONOURED_OPTIONS:
                self.log.warning(f"SAS option {key.upper()} is not supported and was ignored.")
                continue
            self.options[key] = val
            if key in ("ls", "linesize") and isinstance(val, (int, float)):
                self.renderer.linesize = int(val)

    def _g_ods(self, node: A.GenStmt, st) -> None:
        items = node.items
        if not items:
            return
        first = str(items[0].value).lower() if isinstance(items[0], A.Word) else ""
        rest = items[1:]
        words = [str(i.value).lower() for i in rest if isinstance(i, A.Word) and i.kind == "name"]
        if first == "graphics":
            self.ods_graphics = "off" not in words
        elif first == "listing":
            if "close" in words:
                self.ods_listing = False
            else:
                self.ods_listing = True
        elif first in ("html", "html5", "rtf", "pdf", "tagsets", "excel", "powerpoint", "epub", "markup"):
            dest = first.upper()
            key = "html" if first == "html5" else first
            if "close" in words:
                d = self.open_destinations.pop(key, None)
                if d is None:
                    self.log.warning(f"No {dest} destinations active.")
                elif hasattr(d, "close"):
                    d.close()
                return
            opts = {it.key: (it.value.value if isinstance(it.value, A.Word) else it.value)
                    for it in rest if isinstance(it, A.Opt)}
            if key not in ("html", "rtf"):
                self.open_destinations[key] = opts
                self.log.warning(f"ODS {dest} is accepted but not produced by sasglm (HTML and RTF are); its "
                                 "output goes to the listing only (see docs/limitations.md).")
                return
            from .ods.destinations import HtmlDestination, RtfDestination
            old = self.open_destinations.pop(key, None)
            if old is not None and hasattr(old, "close"):
                old.close()
            fname = opts.get("file", opts.get("body"))
            path = opts.get("path")
            default = "sashtml.htm" if key == "html" else "sasrtf.rtf"
            base = Path(self.resolve_path(str(path))) if path else self.outdir
            target = Path(self.resolve_path(str(fname))) if fname else base / default
            if fname and path and not Path(str(fname)).is_absolute():
                target = base / str(fname)
            cls = HtmlDestination if key == "html" else RtfDestination
            self.open_destinations[key] = cls(target, opts.get("style"))
            self.log.note(f"Writing {'HTML' if key == 'html' else 'RTF'} Body file: {target}")
        elif first == "select" or first == "exclude":
            names = []
            for it in rest:
                if isinstance(it, A.Word):
                    names.append(str(it.value))
            lw = [n.lower() for n in names]
            if first == "select":
                self.ods_select = None if lw in (["all"], []) else names
                if lw == ["none"]:
                    self.ods_select = ["__none__"]
            else:
                self.ods_exclude = [] if lw in (["none"], []) else names
        elif first == "trace":
            self.ods_trace = "off" not in words
        elif first == "output":
            for it in rest:
                if isinstance(it, A.Opt):
                    from .procs.common import dsref_from_value
                    self.ods_outputs[it.key.lower()] = dsref_from_value(it.value, it.line, it.col)
                elif isinstance(it, A.Word) and str(it.value).lower() == "close":
                    self.ods_outputs.clear()
        elif first == "noproctitle":
            self.ods_proctitle = False
        elif first == "proctitle":
            self.ods_proctitle = True
        elif first in ("escapechar", "path", "results", "noresults", "_all_"):
            if first == "_all_" and "close" in words:
                self.open_destinations.clear()
        else:
            self.log.warning(f"ODS {first.upper()} is not supported and was ignored.")

    def _g_goptions(self, node, st) -> None:
        self.log.note("GOPTIONS statement accepted; device-based graphics options have no effect in sasglm.")

    def _g_endsas(self, node, st) -> None:
        raise SasError("ENDSAS statement: the session ends here.", st.line, st.col)

    def _g_dm(self, node, st) -> None:
        self.log.note("DM (display manager) statement ignored: there is no display manager in sasglm.")

    def _g_missing(self, node, st) -> None:
        self.log.note("MISSING statement accepted: special missing values read as ordinary missing.")


class StepTimeout(BaseException):
    """Raised by the step time limit (BaseException so that no step code swallows it)."""


class _time_limit:
    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds:
            import signal

            def handler(signum, frame):
                raise StepTimeout()
            self.old = signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.seconds:
            import signal
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
        return False


def parse_dsname(text: str) -> A.DsRef:
    text = text.strip()
    if "." in text:
        lib, name = text.split(".", 1)
        return A.DsRef(lib, name)
    return A.DsRef(None, text)


def table_to_frame(t: Table) -> pd.DataFrame:
    cols = [c.name for c in t.columns]
    byv = t.by_values or {}
    # SAS puts the BY variables first in ODS OUTPUT data sets made under BY-group processing
    bycols = [b for b in byv if b not in cols]
    return pd.DataFrame([{**{b: byv[b] for b in bycols}, **{c: r.get(c) for c in cols}} for r in t.rows],
                        columns=bycols + cols)
