"""Run a compiled DATA step: prepare SET/MERGE sources (BY interleave, match-merge, IN=, FIRST./
LAST.), assemble the generated function, run it, build the output data sets and write SAS's notes."""
from __future__ import annotations

import collections
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ast as A
from ..data.dataset import Dataset, VarMeta
from ..errors import SasError
from . import formats as F
from . import runtime as R
from .blocks import build_blocks
from .compiler import Compiler, OutputSpec, StepContext, _Delete, _Return
from .reader import Reader


def _source_lists(df: pd.DataFrame, cols: list[str], comp) -> dict[str, list]:
    """Columns as Python lists for the row backend (floats with NaN; str with '' for missing)."""
    out = {}
    for c in cols:
        col = df[c]
        if comp.pdv[c].type == "N":
            out[c] = np.asarray(col.to_numpy(), dtype=float).tolist()
        else:
            out[c] = ["" if (x is None or (isinstance(x, float) and x != x)) else x for x in col.tolist()]
    return out


def _by_first_last(df: pd.DataFrame, by: list[str]) -> tuple[dict, dict]:
    first, last = {}, {}
    n = len(df)
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for b in by:
        col = df[b].to_numpy()
        if col.dtype == object:
            diff = np.empty(n, dtype=bool)
            if n:
                diff[0] = True
                diff[1:] = col[1:] != col[:-1]
        else:
            c = np.where(np.isnan(col), -np.inf, col)
            diff = np.empty(n, dtype=bool)
            if n:
                diff[0] = True
                diff[1:] = c[1:] != c[:-1]
        change = change | diff
        f = change.copy()
        la = np.empty(n, dtype=bool)
        if n:
            la[:-1] = f[1:]
            la[-1] = True
        first[b.lower()] = f.astype(float).tolist()
        last[b.lower()] = la.astype(float).tolist()
    return first, last


def sort_keys(df: pd.DataFrame, by: list[tuple[str, bool]]) -> list:
    """Arrays usable by np.lexsort / pandas for SAS ordering (missing lowest)."""
    keys = []
    for name, desc in by:
        col = df[name].to_numpy()
        if col.dtype == object:
            codes, uniq = pd.factorize(pd.Series(col, dtype=object), sort=True)
            k = codes.astype(float)
        else:
            k = np.where(np.isnan(col), -np.inf, col.astype(float))
        keys.append(-k if desc else k)
    return keys


def check_sorted(df: pd.DataFrame, by: list[tuple[str, bool]]) -> int | None:
    """Return the 0-based row where BY order first breaks, or None."""
    if len(df) < 2:
        return None
    keys = sort_keys(df, by)
    n = len(df)
    undecided = np.ones(n - 1, dtype=bool)
    for k in keys:
        a, b = k[:-1], k[1:]
        bad = undecided & (b < a)
        if bad.any():
            return int(np.argmax(bad)) + 1
        undecided &= (a == b)
    return None


class DataStepRunner:
    def __init__(self, step: A.DataStep, session):
        self.step = step
        self.session = session
        self.log = session.log

    def run(self):
        session, step = self.session, self.step
        stmts = build_blocks(step.statements)
        comp = Compiler(step, session)
        comp.outputs = [OutputSpec(ref) for ref in step.outputs]
        for ref in step.outputs:
            if ref.libref and ref.libref.lower() not in session.libraries:
                raise SasError(f"Libref {ref.libref.upper()} is not assigned.", ref.line, ref.col)
        comp.analyse(stmts)
        # output variable lists
        for o in comp.outputs:
            o.vars = self._output_vars(comp, o.ref)
        # BY statement: the sources get FIRST./LAST. columns
        by_items = comp.by.items if comp.by else []
        if comp.by is not None:
            for b, _ in by_items:
                if b.lower() not in comp.pdv:
                    raise SasError(f"BY variable {b} is not on input data set.", comp.by.line, comp.by.col)
        # code generation
        self._prepare_sources(comp, by_items)
        from . import vectorize
        if os.environ.get("SASGLM_ROW_BACKEND") != "1" and vectorize.eligible(comp, stmts):
            try:
                return self._run_vector(comp, stmts)
            except vectorize.NotVectorisable:
                pass            # something the vector generator does not handle: run row by row instead
        for s in comp.sources:
            s["lists"] = _source_lists(s["frame"], s["vars"], comp)
        code = self._generate(comp, stmts)
        ctx = StepContext()
        ctx.session = session
        ctx.log = self.log
        ns = self._namespace(comp)
        if os.environ.get("SASGLM_SHOW_CODE"):
            print(code, file=sys.stderr)
        try:
            exec(compile(code, f"<DATA step line {step.line}>", "exec"), ns)
        except SyntaxError as e:   # a bug in the generator, reported as an internal error
            raise SasError(f"Internal error compiling the DATA step: {e}", step.line, step.col)
        out_lists = [[] for _ in comp.outputs]
        ctx.outputs = out_lists
        ctx.cols = [s["lists"] for s in comp.sources]
        ctx.nrows = [s["n"] for s in comp.sources]
        ctx.inflags = [s["inlists"] for s in comp.sources]
        ctx.first = [s["first"] for s in comp.sources]
        ctx.last = [s["last"] for s in comp.sources]
        if comp.has_reader:
            ctx.reader = self._make_reader(comp)
            ctx.reader.notes = ctx.notes
        P = [self._initial(comp.pdv[k]) for k in self._slot_order(comp)]
        stopped_by_error = None
        try:
            ns["_step"](ctx, P)
        except SasError as e:
            stopped_by_error = e
        except RecursionError:
            stopped_by_error = SasError("The DATA step is too deeply nested.", step.line, step.col)
        # notes after the step
        self._runtime_notes(comp, ctx)
        if stopped_by_error is not None:
            raise stopped_by_error
        self._read_notes(comp)
        if ctx.reader is not None:
            rd = ctx.reader
            if rd.went_new_line:
                self.log.note("SAS went to a new line when INPUT statement reached past the end of a line.")
            if rd.lost_card:
                self.log.note("LOST CARD.")
            if comp.infile is not None:
                self.log.note(f"{rd.records_read} records were read from the infile {rd.source_name}.")
        results = []
        for o, rows in zip(comp.outputs, out_lists):
            ds = self._build_output(comp, o, rows)
            results.append((o.ref, ds))
        return results

    def _run_vector(self, comp: Compiler, stmts):
        from . import vectorize
        gen = vectorize.VectorGen(comp)
        code = gen.generate(stmts)
        if os.environ.get("SASGLM_SHOW_CODE"):
            print(code, file=sys.stderr)
        ns = vectorize.namespace()
        exec(compile(code, f"<DATA step line {self.step.line} (vector)>", "exec"), ns)
        src = comp.sources[0]
        df = src["frame"]
        ctx = StepContext()
        ctx.session, ctx.log = self.session, self.log
        ctx.nrows = [src["n"]]
        ctx.vcols = {}
        for c in src["vars"]:
            col = df[c].to_numpy()
            if comp.pdv[c].type == "N":
                col = np.asarray(col, dtype=float)
            else:
                col = np.asarray(col, dtype=object)
            ctx.vcols[c] = col
        ctx.vfirst = {k: np.asarray(v) for k, v in src["first"].items()}
        ctx.vlast = {k: np.asarray(v) for k, v in src["last"].items()}
        snaps = [[] for _ in comp.outputs]

        def vout(k, seq, mask, arrays):
            n = src["n"]
            idx = np.arange(n) if mask is None else np.nonzero(mask)[0]
            snaps[k].append((seq, idx, [a[idx] if isinstance(a, np.ndarray) else np.full(len(idx), a)
                                        for a in arrays]))
        ctx.vout = vout
        ns["_vstep"](ctx)
        nt = ctx.notes
        if nt.error_flag or nt.div_zero or nt.invalid_math:
            # a data error: SAS reports it row by row (NOTE, PDV, _ERROR_), which the row backend does
            raise vectorize.NotVectorisable
        self._runtime_notes(comp, ctx)
        self._read_notes(comp)
        results = []
        for o, parts in zip(comp.outputs, snaps):
            if len(parts) == 1:
                cols = parts[0][2]
            elif parts:
                rows = np.concatenate([p[1] for p in parts])
                seqs = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
                order = np.lexsort((seqs, rows))
                cols = [np.concatenate([p[2][j] for p in parts])[order] for j in range(len(o.vars))]
            else:
                cols = [np.empty(0) for _ in o.vars]
            results.append((o.ref, self._frame_output(comp, o, cols)))
        return results

    # ------------------------------------------------------------------ helpers
    def _read_notes(self, comp: Compiler) -> None:
        for s in comp.sources:
            for label, count, where in s["read_notes"]:
                msg = f"There were {count} observations read from the data set {label}."
                if where:
                    msg += f"\n      WHERE {where};"
                self.log.note(msg)

    def _output_vars(self, comp: Compiler, ref: A.DsRef) -> list[str]:
        names = [k for k, v in comp.pdv.items() if not v.automatic]
        if comp.keep is not None:
            keep = set(comp.keep)
            names = [n for n in names if n in keep]
        names = [n for n in names if n not in comp.drop]
        opts = ref.options
        if "keep" in opts:
            keep = {n.lower() for n in comp.expand_varlist(opts["keep"])}
            names = [n for n in names if n in keep]
        if "drop" in opts:
            drop = {n.lower() for n in comp.expand_varlist(opts["drop"])}
            names = [n for n in names if n not in drop]
        return names

    def _prepare_sources(self, comp: Compiler, by_items):
        session = self.session
        for k, src in enumerate(comp.sources):
            st: A.SetStmt = src["stmt"]
            frames = []
            src["read_notes"] = []
            for ref in st.datasets:
                ds = session.get_dataset(ref, where=(ref.line, ref.col))
                ds, nread, where_txt = session.apply_input_options(ds, ref, comp.where)
                frames.append((ref, ds))
                src["read_notes"].append((ref.display if not ref.path else ref.path, nread, where_txt))
            # column union in PDV order
            names = []
            for ref, ds in frames:
                for c in ds.columns:
                    if c.lower() not in [n.lower() for n in names]:
                        names.append(c)
            if st.kind == "update":
                # UPDATE keeps master values where the transaction is missing and applies several
                # transactions in turn: MERGE would give other numbers, so refuse rather than guess
                raise SasError("The UPDATE statement is not supported yet; use MERGE with BY where its "
                               "rules give the same result.", st.line, st.col)
            is_merge = st.kind == "merge"
            by = by_items if comp.by is not None and k == 0 else []
            for b, desc in by:
                for ref, ds in frames:
                    if ds.var(b) is None:
                        raise SasError(f"BY variable {b} is not on input data set {ref.display}.",
                                       comp.by.line, comp.by.col)
            for ref, ds in frames:
                if by and not comp.by.notsorted:
                    bad = check_sorted(ds.df, [(ds.colname(b), d) for b, d in by])
                    if bad is not None:
                        raise SasError(f"BY variables are not properly sorted on data set {ref.display}.",
                                       comp.by.line, comp.by.col)
            if is_merge:
                df, inflags = self._merge(frames, by, comp)
            else:
                parts = []
                inflags = {}
                total = sum(ds.nobs for _, ds in frames)
                start = 0
                for ref, ds in frames:
                    d = ds.df.copy()
                    d.columns = [c.lower() for c in d.columns]
                    parts.append(d)
                    inname = ref.options.get("in")
                    if inname:
                        arr = np.zeros(total)
                        arr[start:start + ds.nobs] = 1.0
                        inflags[str(inname).lower()] = arr
                    start += ds.nobs
                df = pd.concat(parts, ignore_index=True, sort=False) if parts else pd.DataFrame()
                for name in list(df.columns):
                    v = comp.pdv.get(name)
                    if v is not None and v.type == "C":
                        df[name] = df[name].astype(object).where(df[name].notna(), "")
                if by and len(frames) > 1:
                    keys = sort_keys(df, [(b.lower(), d) for b, d in by])
                    order = np.lexsort(list(reversed(keys)) + [np.arange(len(df))][:0]) if keys else None
                    order = np.lexsort(tuple(reversed(keys))) if keys else np.arange(len(df))
                    df = df.iloc[order].reset_index(drop=True)
                    inflags = {kk: vv[order] for kk, vv in inflags.items()}
            src["n"] = len(df)
            src["vars"] = [c for c in df.columns if c in comp.pdv]
            src["frame"] = df
            src["in_vars"] = [str(ref.options["in"]) for ref, _ in frames if ref.options.get("in")]
            src["inlists"] = {kk: list(vv) for kk, vv in inflags.items()}
            if by:
                f, la = _by_first_last(df, [b.lower() for b, _ in by])
                src["first"], src["last"] = f, la
                src["by"] = [b.lower() for b, _ in by]
            else:
                src["first"], src["last"], src["by"] = {}, {}, []

    def _merge(self, frames, by, comp):
        """Match-merge (or one-to-one merge without BY) into one source frame."""
        dfs = []
        for ref, ds in frames:
            d = ds.df.copy()
            d.columns = [c.lower() for c in d.columns]
            dfs.append((ref, d))
        allcols = []
        for _, d in dfs:
            for c in d.columns:
                if c not in allcols:
                    allcols.append(c)
        inflags = {str(ref.options["in"]).lower(): [] for ref, _ in dfs if ref.options.get("in")}
        if not by:
            group_lists = [[list(range(len(d))) for _, d in dfs]]
        else:
            bycols = [b.lower() for b, _ in by]
            keyed = []
            for _, d in dfs:
                keys = [tuple(r) for r in d[bycols].itertuples(index=False, name=None)]
                keyed.append(keys)
            # walk the groups in BY order
            all_keys = []
            seen = set()
            for keys in keyed:
                for kk in keys:
                    nk = tuple(("\x00" if (isinstance(x, float) and x != x) else x) for x in kk)
                    if nk not in seen:
                        seen.add(nk)
                        all_keys.append((nk, kk))
            desc = [d for _, d in by]

            def sort_key(item):
                nk = item[0]
                out = []
                for x, dsc in zip(nk, desc):
                    if x == "\x00":
                        v = (0, 0.0)
                    elif isinstance(x, str):
                        v = (1, x)
                    else:
                        v = (1, x)
                    out.append(_Desc(v) if dsc else v)
                return out
            all_keys.sort(key=sort_key)
            index = []
            for keys in keyed:
                m = collections.defaultdict(list)
                for i, kk in enumerate(keys):
                    nk = tuple(("\x00" if (isinstance(x, float) and x != x) else x) for x in kk)
                    m[nk].append(i)
                index.append(m)
            group_lists = [[index[j].get(nk, []) for j in range(len(dfs))] for nk, _ in all_keys]
        values = {c: [] for c in allcols}
        many = False
        for lists in group_lists:
            size = max((len(l) for l in lists), default=0)
            if by and sum(1 for l in lists if len(l) > 1) > 1:
                many = True         # (a one-to-one merge without BY has no BY values to repeat)
            cur = {c: (math.nan if comp.pdv.get(c) is None or comp.pdv[c].type == "N" else "") for c in allcols}
            for j in range(size):
                for (ref, d), l in zip(dfs, lists):
                    if j < len(l):
                        row = d.iloc[l[j]]
                        for c in d.columns:
                            cur[c] = row[c]
                for c in allcols:
                    values[c].append(cur[c])
                for (ref, d), l in zip(dfs, lists):
                    if ref.options.get("in"):
                        inflags[str(ref.options["in"]).lower()].append(1.0 if l else 0.0)
        if many:
            self.log.note("MERGE statement has more than one data set with repeats of BY values.")
        df = pd.DataFrame(values, columns=allcols)
        return df, {k: np.array(v) for k, v in inflags.items()}

    def _slot_order(self, comp: Compiler) -> list[str]:
        slots = sorted(((v.slot, k) for k, v in comp.pdv.items() if v.slot is not None))
        return [k for _, k in slots]

    @staticmethod
    def _initial(v):
        if v.init is not None:
            if v.type == "C" and not isinstance(v.init, str):
                return R.n2c(v.init)
            if v.type == "N" and isinstance(v.init, str):
                return R.c2n(v.init)
            return v.init
        return "" if v.type == "C" else math.nan

    def _generate(self, comp: Compiler, stmts: list) -> str:
        body_comp = comp
        body_comp.lines = []
        # body first, so that lag sites and constants are known
        for st in stmts:
            body_comp.gen_stmt(st, 4)
        body = body_comp.lines
        out = ["def _step(R, P):"]
        e = out.append
        e("    NT = R.notes")
        e("    RD = R.reader")
        e("    UF = R.session.user_formats")
        for i in range(len(comp.outputs)):
            e(f"    O{i} = R.outputs[{i}].append")
        for k, src in enumerate(comp.sources):
            e(f"    N{k} = R.nrows[{k}]")
            e(f"    I{k} = -1")
            for c in src["vars"]:
                e(f"    C{k}_{c} = R.cols[{k}][{c!r}]")
            for inname in src["in_vars"]:
                e(f"    IN{k}_{inname.lower()} = R.inflags[{k}][{inname.lower()!r}]")
            for b in src["by"]:
                e(f"    F{k}_{b} = R.first[{k}][{b!r}]; LA{k}_{b} = R.last[{k}][{b!r}]")
                e(f"    first_{b} = 1.0; last_{b} = 1.0")
        for name, (n, init) in comp.consts.get("_lagsizes", {}).items():
            e(f"    {name} = _deque([{init!r}] * {n})")
        for arr in comp.arrays.values():
            if arr.temporary:
                init = list(arr.init or [])
                fill = "''" if arr.is_char else "NAN"
                e(f"    T_{arr.name.lower()} = [{', '.join(repr(x) for x in init)}] + [{fill}] * {max(arr.n - len(init), 0)}")
        # initial PDV values
        for k, v in comp.pdv.items():
            if v.slot is not None:
                continue
            e(f"    v_{k} = {self._initial(v)!r}".replace("nan", "NAN"))
        for key in ("end", "nobs"):
            for k, src in enumerate(comp.sources):
                st = src["stmt"]
                if key in st.options:
                    nm = comp.lname(st.options[key])
                    e(f"    {nm} = {'float(N%d)' % k if key == 'nobs' else '0.0'}")
        e("    v__n_ = 0.0")
        e("    v__error_ = 0.0")
        e("    _t = _u = _w = NAN")
        has_source = bool(comp.sources) or comp.has_reader
        reset = [k for k, v in comp.pdv.items()
                 if not v.retained and not v.from_input_ds and not v.automatic]
        dump_vars = [v for k, v in comp.pdv.items() if not v.automatic]
        meta = comp.const(tuple((v.name, F.parse_format(v.format) if v.format else None) for v in dump_vars))
        dump = (f"_errdump(R, {meta}, "
                f"({', '.join(comp.lname(v.name) for v in dump_vars)}{',' if dump_vars else ''}), v__n_)")
        e("    try:")
        e("        while True:")
        e("            if v__error_ or NT.error_flag:")
        e(f"                {dump}")
        e("            v__n_ += 1.0")
        e("            v__error_ = 0.0")
        if not has_source:
            e("            if v__n_ > 1.0: break")
        elif comp.sources and not comp.has_reader:
            e(f"            _prev = {' + '.join(f'I{k}' for k in range(len(comp.sources)))}")
        for k in reset:
            v = comp.pdv[k]
            e(f"            {comp.lname(v.name)} = {'NAN' if v.type == 'N' else repr('')}")
        e("            try:")
        out.extend(body if body else ["                pass"])
        e("            except _Delete:")
        e("                continue")
        e("            except _Return:")
        e("                pass")
        if not comp.has_explicit_output:
            save = comp.lines
            comp.lines = []
            comp.gen_output([], 3, None)
            out.extend(comp.lines)
            comp.lines = save
        if comp.sources and not comp.has_reader:
            e(f"            if {' + '.join(f'I{k}' for k in range(len(comp.sources)))} == _prev:")
            e("                R.looping = True")
            e("                break")
        e("    except StopStep:")
        e("        if v__error_ or NT.error_flag:")
        e(f"            {dump}")
        return "\n".join(out) + "\n"

    def _namespace(self, comp: Compiler) -> dict:
        ns = {
            "NAN": math.nan, "nan": math.nan, "StopStep": R.StopStep, "_Delete": _Delete, "_Return": _Return,
            "_deque": collections.deque, "_miss": R.miss_note, "_div": R.div, "_pow": R.power,
            "_lt": R.lt, "_le": R.le, "_gt": R.gt, "_ge": R.ge, "_eq": R.eq, "_ne": R.ne,
            "_vmin": R.vmin, "_vmax": R.vmax, "_key": R.key,
            "_c2n": _c2n, "_n2cp": R.n2c_padded, "_eqc": _eqc, "_putf": _putf, "_inputn": _inputn,
            "_inputc": _inputc, "_aix": _aix, "_put": _put, "_symput": _symput, "_symget": _symget,
            "_streaminit": R.call_streaminit, "_nowhen": _nowhen, "_badby": _badby, "_drange": _drange,
            "_point": _point, "_abort": _abort, "_errdump": _errdump, "_errclear": _errclear,
        }
        for k, v in comp.consts.items():
            if k != "_lagsizes":
                ns[k] = v
        return ns

    def _inline_reader(self, rd: Reader) -> Reader:
        # in-stream records are numbered by their line in the program, as SAS's NOTEs do
        if self.step.datalines_line is not None:
            rd.line_base = self.step.datalines_line - 1
        return rd

    def _make_reader(self, comp: Compiler) -> Reader:
        types = {k: v.type for k, v in comp.pdv.items()}
        if comp.infile is None:
            lines = self.step.datalines
            if lines is None:
                raise SasError("No DATALINES or INFILE statement.", self.step.line, self.step.col)
            return self._inline_reader(Reader(lines, comp.input_specs, types, None, self.log, "DATALINES"))
        inf = comp.infile
        if inf.is_fileref:
            if inf.source.lower() in ("datalines", "cards"):
                return self._inline_reader(Reader(self.step.datalines or [], comp.input_specs, types,
                                                  inf.options, self.log, "DATALINES"))
            path = self.session.fileref_path(inf.source, inf.line, inf.col)
        else:
            path = inf.source
        p = self.session.resolve_path(path)
        try:
            text = Path(p).read_text(encoding=inf.options.get("encoding", "utf-8") if isinstance(
                inf.options.get("encoding"), str) else "utf-8", errors="replace")
        except OSError:
            raise SasError(f"Physical file does not exist, {p}.", inf.line, inf.col)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.log.note(f"The infile '{path}' is:\n      Filename={p}")
        return Reader(lines, comp.input_specs, types, inf.options, self.log, f"'{path}'")

    def _runtime_notes(self, comp: Compiler, ctx: StepContext):
        log = self.log
        for k, (line, col) in comp.uninit.items():
            v = comp.pdv.get(k)
            if v is not None and not v.assigned and not v.from_input_ds:
                log.note(f"Variable {v.name} is uninitialized.")
        if comp.c2n_places:
            places = " ".join(f"{l}:{c}" for l, c in sorted(set(comp.c2n_places)))
            log.note("Character values have been converted to numeric values at the places given by: "
                     f"(Line):(Column).\n      {places}")
        if comp.n2c_places:
            places = " ".join(f"{l}:{c}" for l, c in sorted(set(comp.n2c_places)))
            log.note("Numeric values have been converted to character values at the places given by: "
                     f"(Line):(Column).\n      {places}")
        nt = ctx.notes
        if nt.div_zero or nt.invalid_math:
            places = dict(nt.div_zero)
            for k, n in nt.invalid_math.items():
                places[k] = places.get(k, 0) + n
            log.note("Mathematical operations could not be performed at the following places. The results of "
                     "the operations have been set to missing values.\n      Each place is given by: "
                     "(Number of times) at (Line):(Column).\n      " +
                     " ".join(f"{n} at {l}:{c}" for (l, c), n in sorted(places.items())))
        if nt.invalid_args:
            log.note("Invalid argument to function " + ", ".join(sorted(set(a.upper() for a in nt.invalid_args)))
                     + ". Missing values may be generated.")
        if nt.missing_ops:
            log.note("Missing values were generated as a result of performing an operation on missing values.\n"
                     "      Each place is given by: (Number of times) at (Line):(Column).\n      " +
                     " ".join(f"{n} at {l}:{c}" for (l, c), n in sorted(nt.missing_ops.items())))
        if getattr(ctx, "looping", False):
            log.note("DATA STEP stopped due to looping.")
        for line in ctx.put_lines:
            pass

    def _build_output(self, comp: Compiler, o: OutputSpec, rows: list) -> Dataset:
        cols = o.vars
        types = [comp.pdv[c].type for c in cols]
        if rows and all(t == "N" for t in types):
            mat = np.array(rows, dtype=float).reshape(len(rows), len(cols))
            arrs = [mat[:, j] for j in range(len(cols))]
        elif rows:
            arrs = list(zip(*rows))
        else:
            arrs = [[] for _ in cols]
        return self._frame_output(comp, o, arrs)

    def _frame_output(self, comp: Compiler, o: OutputSpec, arrs) -> Dataset:
        cols = o.vars
        data = {}
        meta = {}
        for name, values in zip(cols, arrs):
            v = comp.pdv[name]
            outname = comp.rename.get(name, v.name)
            if v.type == "N":
                data[outname] = np.asarray(values, dtype=float)
            else:
                arr = np.empty(len(values), dtype=object)
                arr[:] = values
                data[outname] = arr
            meta[outname.upper()] = VarMeta(outname, v.type, (v.length or 8) if v.type == "C" else 8,
                                            v.label, v.format, v.informat)
        df = pd.DataFrame(data, columns=list(data.keys()))
        ds = Dataset(df, meta)
        # output data set options: RENAME= then WHERE= (KEEP=/DROP= chose the variables above)
        opts = o.ref.options
        from ..session import OUTPUT_DS_OPTIONS
        self.session.check_ds_options(o.ref, OUTPUT_DS_OPTIONS)
        if "rename" in opts:
            ren = {a.lower(): b for a, b in opts["rename"]}
            newcols = []
            newmeta = {}
            for c in df.columns:
                nc = ren.get(c.lower(), c)
                newcols.append(nc)
                m = meta[c.upper()]
                m.name = nc
                newmeta[nc.upper()] = m
            df.columns = newcols
            ds = Dataset(df, newmeta)
        if "where" in opts:
            from .vector import where_mask
            mask = where_mask(opts["where"], ds)
            ds = Dataset(ds.df[mask].reset_index(drop=True), ds.meta)
        if "label" in opts:
            ds.label = str(opts["label"])
        return ds


class _Desc:
    """Sort key wrapper for descending BY variables."""
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return other.v < self.v

    def __eq__(self, other):
        return self.v == other.v


# ---------------------------------------------------------------------- runtime helpers
def _c2n(s, R_, line, col):
    if s.strip() == "" or s.strip() == ".":
        return math.nan
    try:
        return F.read_numeric(s)
    except F.InvalidData:
        R_.notes.data_error(f"Invalid numeric data, '{s}' , at line {line} column {col}.")
        return math.nan


ERRORS_LIMIT_WARNING = "Limit set by ERRORS= option reached.  Further errors of this type will not be printed."


def _take_errors(R_):
    """This iteration's data-error NOTEs and input records, clearing them (and the error flag)."""
    NT, RD = R_.notes, R_.reader
    notes, NT.pending, NT.error_flag = NT.pending, [], False
    lines = {}
    if RD is not None:
        lines, RD.err_lines = RD.err_lines, {}
    return notes, lines


def _errclear(R_):
    """The program set _ERROR_ to 0: the iteration's NOTEs stand, but no records or PDV are dumped."""
    notes, _ = _take_errors(R_)
    if not R_.notes.quiet:
        for msg in notes:
            R_.log.note(msg)


def dump_pdv(log, meta, values, n, linesize=100, user_formats=None):
    """SAS's PDV dump after a data error: name=value (formatted values) ... _ERROR_=1 _N_=n."""
    parts = []
    for (name, spec), v in zip(meta, values):
        if spec is not None:
            text = F.format_value(v, spec, user_formats, is_char=isinstance(v, str)).strip()
        elif isinstance(v, str):
            text = v.rstrip()
        else:
            text = F.best(v).strip() if v == v else "."
        parts.append(f"{name}={text}")
    parts += ["_ERROR_=1", f"_N_={int(n)}"]
    cur = ""
    for p in parts:
        if cur and len(cur) + 1 + len(p) > linesize:
            log.write(cur)
            cur = p
        else:
            cur = f"{cur} {p}" if cur else p
    log.write(cur)


def rule_and_record(log, line_no, text):
    width = max(10, -(-len(text) // 10) * 10)
    log.write("RULE:      " + ("----+----" + "".join(str(i % 10) + "----+----" for i in range(1, 40)))[:width])
    log.write(f"{line_no:<10} {text}")


def errors_limit(session) -> int:
    try:
        return int(session.options.get("errors", 20))
    except (TypeError, ValueError):
        return 20


def _errdump(R_, meta, values, n):
    """End of an iteration with _ERROR_=1: SAS's NOTEs for it, the input records in error and the PDV,
    up to ERRORS= (default 20) iterations; then one WARNING and silence."""
    NT = R_.notes
    notes, lines = _take_errors(R_)
    if NT.quiet:
        return
    NT.error_obs += 1
    log = R_.log
    if NT.error_obs > errors_limit(R_.session):
        NT.quiet = True
        log.warning(ERRORS_LIMIT_WARNING)
        return
    for msg in notes:
        log.note(msg)
    for ln in sorted(lines):
        rule_and_record(log, ln, lines[ln])
    ls = getattr(getattr(R_.session, "renderer", None), "linesize", 100) or 100
    dump_pdv(log, meta, values, n, ls, R_.session.user_formats)


def _eqc(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _putf(value, spec, uf):
    return F.format_value(value, spec, uf, is_char=isinstance(value, str), strip=False).rstrip() \
        if isinstance(value, str) else F.format_value(value, spec, uf, is_char=False)


def _inputn(text, spec, R_, line, col):
    try:
        return F.read_numeric(text[:spec.width] if spec.width else text, spec)
    except F.InvalidData:
        R_.notes.data_error(f"Invalid argument to function INPUT at line {line} column {col}.")
        return math.nan


def _inputc(text, spec):
    return text[:spec.width] if spec.width else text


def _aix(i, lo, n, where):
    if i != i:
        raise SasError("Array subscript out of range at line %d column %d." % where, where[0], where[1])
    k = int(i) - lo
    if k < 0 or k >= n or int(i) != i and abs(i - int(i)) > 1e-9:
        raise SasError("Array subscript out of range at line %d column %d." % where, where[0], where[1])
    return k


def _point(p, n, line, col):
    if p != p or int(p) < 1 or int(p) > n:
        raise SasError(f"POINT= value {p} is out of range (1 to {n}).", line, col)
    return int(p) - 1


def _drange(a, b, by):
    out = []
    if by == 0 or by != by:
        return out
    x = a
    while (x <= b if by > 0 else x >= b):
        out.append(x)
        x += by
        if len(out) > 10_000_000:
            break
    return out


def _put(R_, parts, uf):
    buf = []
    for p in parts:
        kind = p[0]
        if kind == "s":
            buf.append(p[1])
        elif kind == "v":
            val, fmt = p[1], p[2]
            if isinstance(val, str):
                buf.append((F.format_value(val, fmt, uf, is_char=True) if fmt else val) + " ")
            else:
                buf.append((F.format_value(val, fmt, uf, is_char=False).strip() if fmt else R.n2c(val)) + " ")
        elif kind == "e":
            val = p[2]
            txt = val if isinstance(val, str) else R.n2c(val)
            buf.append(f"{p[1]}={txt} ")
        elif kind == "n":
            R_.log.write("".join(buf).rstrip())
            buf = []
        elif kind == "col":
            cur = "".join(buf)
            buf = [cur.ljust(p[1] - 1)]
        elif kind == "skip":
            buf.append(" " * p[1])
    R_.log.write("".join(buf).rstrip())


def _symput(R_, name, value, x):
    if not isinstance(value, str):
        value = R.n2c(value) if x else R.n2c_padded(value)
    elif x:
        value = value.strip()
    R_.session.set_macro_var(name.strip(), value)


def _symget(R_, name):
    v = R_.session.get_macro_var(name.strip())
    return "" if v is None else v


def _nowhen(line, col):
    raise SasError(f"Unsatisfied WHEN clause and no OTHERWISE statement at line {line} column {col}.", line, col)


def _badby(line, col):
    raise SasError(f"Invalid DO loop control information, BY value is zero or missing at line {line} column {col}.",
                   line, col)


def _abort(line):
    raise SasError(f"Execution terminated by an ABORT statement at line {line}.", line, None)
