"""PROC COMPARE: compare two data sets (or variables within one) value by value.

Observations are matched by position or by ID variables; numeric values are judged equal by
METHOD=EXACT | ABSOLUTE | RELATIVE(delta) | PERCENT against CRITERION=, as SAS documents.  The report
(Data Set, Variables, Observation and Values Comparison summaries, the value comparison listings and
the NOTE lines) is printed as SAS prints it, one text table per section (ODS CompareDatasets,
CompareVariables, CompareSummary, CompareDifferences, with SAS's 'batch' column of lines); OUT= writes
BASE/COMPARE/DIF/PERCENT observations; the automatic macro variable SYSINFO receives SAS's return code.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from .. import ast as A
from ..data.dataset import Dataset, VarMeta, normalise_frame
from ..datastep.formats import best, format_value
from ..errors import SasError
from ..ods.table import Column, Table
from .common import Options, dsref_from_value, statements, var_names, warn_ignored

KNOWN = {"base", "data", "compare", "comp", "c", "criterion", "criteria", "method", "out", "outall", "outbase",
         "outcomp", "outcompare", "outdif", "outdiff", "outnoequal", "outpercent", "noprint", "novalues",
         "nosummary", "briefsummary", "brief", "listall", "listvar", "listobs", "listbasevar", "listcompvar",
         "listbaseobs", "listcompobs", "listequalvar", "printall", "allvars", "allobs", "maxprint", "nodate",
         "nomissing", "nomiss", "nomissbase", "nomisscomp", "note", "warning", "error", "fuzz", "outstats",
         "allstats", "stats", "transpose"}
UNSUPPORTED = ("outstats", "allstats", "stats", "transpose", "allvars", "allobs", "listequalvar")
EPS = float(np.finfo(float).eps)

# SYSINFO return-code bits (SAS documentation, "Macro Return Codes")
DSLABEL, DSTYPE, INFORMAT, FORMAT, LENGTH, LABEL = 1, 2, 4, 8, 16, 32
BASEOBS, COMPOBS, BASEVAR, COMPVAR, VALUE, TYPE = 64, 128, 1024, 2048, 4096, 8192


class _C(str):
    """A line printed centred on its own (headings), not as part of its block."""


def _text_table(name: str, lines: list[str]) -> Table:
    """A report section: SAS's ODS tables of PROC COMPARE are lines of text (column 'batch')."""
    return Table("COMPARE", name, "", [Column("batch", "")],
                 [{"batch": str(s), "_center": isinstance(s, _C)} for s in lines], kind="text")


def _load(session, node, where) -> tuple[Dataset, str]:
    if isinstance(node, str):
        from ..session import parse_dsname
        ref = parse_dsname(node)
    else:
        ref = dsref_from_value(node, *where)
    ds = session.get_dataset(ref, where=(ref.line, ref.col))
    ds, _, _ = session.apply_input_options(ds, ref)
    lib = session.library(ref.libref, (ref.line, ref.col)) if ref.path is None else None
    name = f"{lib.name}.{ref.name.upper()}" if lib is not None else ref.display
    return ds, name


def _method(opts: Options, proc) -> tuple[str, float, float]:
    """(method, delta, criterion) with SAS's defaults: EXACT, or RELATIVE(phi) when only CRITERION= is given."""
    crit_given = opts.has("criterion") or opts.has("criteria")
    crit = opts.get("criterion", opts.get("criteria", 0.00001))
    if not isinstance(crit, float):
        raise SasError("CRITERION= needs a number.", proc.line, proc.col)
    if crit < 0:
        crit = abs(crit) * EPS
    m = opts.get("method")
    delta = 0.0
    if isinstance(m, A.Group):
        name = (m.name or "").lower()
        inner = [it for it in (m.items or []) if isinstance(it, A.Word)]
        if name != "relative" or len(inner) != 1 or inner[0].kind != "number":
            raise SasError("METHOD= must be EXACT, ABSOLUTE, PERCENT, RELATIVE or RELATIVE(delta).",
                           proc.line, proc.col)
        delta = float(inner[0].value)
        return "relative", delta, crit
    if m is None:
        if crit_given:
            return "relative", EPS / crit if crit > 0 else 0.0, crit
        return "exact", 0.0, crit
    name = str(m).lower()
    if name not in ("exact", "absolute", "relative", "percent"):
        raise SasError(f"METHOD={str(m).upper()} is not valid (EXACT, ABSOLUTE, RELATIVE, PERCENT).",
                       proc.line, proc.col)
    return name, 0.0, crit


def _unequal_num(x: np.ndarray, y: np.ndarray, method: str, delta: float, crit: float,
                 nomiss_base: bool, nomiss_comp: bool) -> np.ndarray:
    mx, my = np.isnan(x), np.isnan(y)
    both = ~mx & ~my
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.abs(y - x)
        if method == "exact":
            bad = d != 0
        elif method == "absolute":
            bad = d > crit
        elif method == "relative":
            den = (np.abs(x) + np.abs(y)) / 2 + delta
            bad = np.where((x == 0) & (y == 0), False, d / den > crit)
        else:                           # percent
            bad = np.where(x == 0, y != 0, 100 * d / np.abs(x) > crit)
    out = np.where(both, bad, mx != my)
    if nomiss_base:
        out &= ~mx
    if nomiss_comp:
        out &= ~my
    return out


def _num_text(v: float, fmt: str | None, session) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "."
    if fmt:
        try:
            return format_value(v, fmt, session.user_formats, False, strip=True)
        except Exception:
            pass
    # an unformatted value is listed with four decimals when that fits nine columns (SAS: 87 -> 87.0000)
    text = f"{float(v):.4f}"
    return text if len(text) <= 9 else best(float(v), 9).strip()


def _diff_text(v: float) -> str:
    if v is None or math.isnan(v):
        return "."
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-4 <= a < 1e5:
        return f"{v:.4f}" if a >= 0.001 else f"{v:.6f}"
    return f"{v:.2E}".replace("E-0", "E-").replace("E+0", "E+")


def run_compare(session, proc):
    opts = Options(proc.options, KNOWN, "PROC COMPARE")
    for o in UNSUPPORTED:
        if opts.has(o):
            raise SasError(f"The PROC COMPARE option {o.upper()} is not supported yet.", proc.line, proc.col)
    warn_ignored(session, opts, ["listall", "listvar", "listobs", "listbasevar", "listcompvar", "listbaseobs",
                                 "listcompobs", "printall", "nodate", "fuzz"], "PROC COMPARE")
    where = (proc.line, proc.col)
    bnode = opts.nodes.get("base", opts.nodes.get("data"))
    if bnode is None:
        if session.last_dataset is None:
            raise SasError("There is not a default input data set (_LAST_ is _NULL_).", *where)
        bnode = session.last_dataset
    cnode = opts.nodes.get("compare", opts.nodes.get("comp", opts.nodes.get("c")))
    base, bname = _load(session, bnode, where)
    comp, cname = (_load(session, cnode, where) if cnode is not None else (base, bname))
    same = cnode is None
    method, delta, crit = _method(opts, proc)
    var_l = with_l = id_l = None
    for kw, st in statements(proc, {"var", "with", "id", "by"}):
        if kw == "var":
            var_l = var_names(st.items, base)
        elif kw == "with":
            with_l = var_names(st.items, comp, "WITH")
        elif kw == "id":
            id_l = [str(it.value) for it in st.items if isinstance(it, A.Word) and it.kind == "name"
                    and str(it.value).lower() != "notsorted"]
        elif kw == "by":
            raise SasError("The BY statement of PROC COMPARE is not supported yet.", st.line, st.col)
    if same and not (var_l and with_l):
        raise SasError("If you omit COMPARE=, then you must use the WITH and VAR statements.", *where)
    if with_l is not None and var_l is None:
        raise SasError("The WITH statement requires a VAR statement.", *where)
    nomiss = opts.has("nomissing") or opts.has("nomiss")
    nomiss_base = nomiss or opts.has("nomissbase")
    nomiss_comp = nomiss or opts.has("nomisscomp")
    code = 0
    # ---------------------------------------------------------------- variables
    bmeta = {m.name.upper(): m for m in base.ordered_meta()}
    cmeta = {m.name.upper(): m for m in comp.ordered_meta()}
    ids = []
    for v in id_l or []:
        if v.upper() not in bmeta or v.upper() not in cmeta:
            raise SasError(f"ID variable {v.upper()} not found in both data sets.", *where)
        ids.append(v.upper())
    common = [k for k in bmeta if k in cmeta]
    only_base = [bmeta[k].name for k in bmeta if k not in cmeta]
    only_comp = [cmeta[k].name for k in cmeta if k not in bmeta]
    conflict = [k for k in common if bmeta[k].type != cmeta[k].type]
    if var_l is not None:
        wl = with_l if with_l is not None else var_l
        if with_l is not None and len(with_l) < len(var_l):
            wl = list(with_l) + list(var_l[len(with_l):])
        for w in wl:
            if w.upper() not in cmeta:
                raise SasError(f"Variable {w.upper()} not found in {cname}.", *where)
        pairs = [(v.upper(), w.upper()) for v, w in zip(var_l, wl)]
    else:
        pairs = [(k, k) for k in common if k not in ids]
    type_bad = [(a, b) for a, b in pairs if bmeta[a].type != cmeta[b].type]
    pairs = [(a, b) for a, b in pairs if bmeta[a].type == cmeta[b].type]
    diff_attr = []
    for k in common:
        mb, mc = bmeta[k], cmeta[k]
        if mb.type != mc.type:
            continue
        flags = 0
        if (mb.length != mc.length):
            flags |= LENGTH
        if (mb.label or "") != (mc.label or ""):
            flags |= LABEL
        if (mb.format or "").upper() != (mc.format or "").upper():
            flags |= FORMAT
        if (mb.informat or "").upper() != (mc.informat or "").upper():
            flags |= INFORMAT
        if flags:
            diff_attr.append(k)
            code |= flags
    if not same:
        if only_base:
            code |= BASEVAR
        if only_comp:
            code |= COMPVAR
        if conflict:
            code |= TYPE
        if (base.label or "") != (comp.label or ""):
            code |= DSLABEL
    # ---------------------------------------------------------------- observations
    nb, nc = base.nobs, comp.nobs
    if ids:
        bkeys = list(zip(*[base.column(bmeta[k].name).tolist() for k in ids])) if nb else []
        ckeys = list(zip(*[comp.column(cmeta[k].name).tolist() for k in ids])) if nc else []
        for keys, nm in ((bkeys, bname), (ckeys, cname)):
            norm = [tuple(_sortable(x) for x in k) for k in keys]
            if any(norm[i] > norm[i + 1] for i in range(len(norm) - 1)):
                raise SasError(f"Data set {nm} is not sorted in ascending sequence by the ID variables.", *where)
        cpos: dict = {}
        for j, k in enumerate(ckeys):
            cpos.setdefault(tuple(_sortable(x) for x in k), []).append(j)
        match_b, match_c, used_c = [], [], set()
        seen: dict = {}
        for i, k in enumerate(bkeys):
            nk = tuple(_sortable(x) for x in k)
            r = seen.get(nk, 0)
            lst = cpos.get(nk, [])
            if r < len(lst):
                match_b.append(i)
                match_c.append(lst[r])
                used_c.add(lst[r])
            seen[nk] = r + 1
        base_only = [i for i in range(nb) if i not in set(match_b)]
        comp_only = [j for j in range(nc) if j not in used_c]
    else:
        m = min(nb, nc)
        match_b, match_c = list(range(m)), list(range(m))
        base_only, comp_only = list(range(m, nb)), list(range(m, nc))
    if base_only:
        code |= BASEOBS
    if comp_only:
        code |= COMPOBS
    mb_idx, mc_idx = np.array(match_b, dtype=int), np.array(match_c, dtype=int)
    # ---------------------------------------------------------------- values
    results = []          # (base var, comp var, unequal mask, diffs or None, not-exactly-equal count)
    unequal_any = np.zeros(len(mb_idx), dtype=bool)
    n_inexact = 0
    for a, b in pairs:
        xa = base.column(bmeta[a].name).to_numpy()[mb_idx] if len(mb_idx) else np.array([])
        yb = comp.column(cmeta[b].name).to_numpy()[mc_idx] if len(mc_idx) else np.array([])
        if bmeta[a].type == "N":
            x = np.asarray(xa, dtype=float)
            y = np.asarray(yb, dtype=float)
            bad = _unequal_num(x, y, method, delta, crit, nomiss_base, nomiss_comp)
            exact_bad = _unequal_num(x, y, "exact", 0.0, 0.0, nomiss_base, nomiss_comp)
            n_inexact += int(np.sum(exact_bad & ~bad))
            with np.errstate(invalid="ignore"):
                dif = y - x
            results.append((a, b, bad, dif))
        else:
            xs = np.array(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).rstrip()
                           for v in xa], dtype=object)
            ys = np.array(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).rstrip()
                           for v in yb], dtype=object)
            bad = xs != ys
            if nomiss_base:
                bad &= xs != ""
            if nomiss_comp:
                bad &= ys != ""
            results.append((a, b, np.asarray(bad, dtype=bool), None))
        unequal_any |= results[-1][2]
    n_unequal_vals = int(sum(int(r[2].sum()) for r in results))
    if n_unequal_vals:
        code |= VALUE
    unequal_vars = [r for r in results if r[2].any()]
    # ---------------------------------------------------------------- log and SYSINFO
    session.set_macro_var("sysinfo", str(code))
    notes = []
    if not same:
        if base_only:
            notes.append(f"Data set {bname} contains {len(base_only)} observations not in {cname}.")
        if comp_only:
            notes.append(f"Data set {cname} contains {len(comp_only)} observations not in {bname}.")
    if unequal_vars:
        names = " ".join(_pair_name(bmeta, cmeta, a, b, with_l is not None) for a, b, _, _ in unequal_vars)
        notes.append(f"Values of the following {len(unequal_vars)} variables compare unequal: {names}")
    elif n_inexact:
        notes.append(f"All values compared are within the equality criterion used.  However, {n_inexact} of the "
                     "values compared are not exactly equal.")
    else:
        notes.append("No unequal values were found. All values compared are exactly equal.")
    differ = bool(unequal_vars or base_only or comp_only)
    for text in notes:
        if opts.has("error") and differ and not text.startswith(("No unequal", "All values")):
            session.log.error(text)
        elif opts.has("warning") and differ and not text.startswith(("No unequal", "All values")):
            session.log.warning(text)
        elif opts.has("note") or opts.has("error") or opts.has("warning"):
            session.log.note(text)
    # ---------------------------------------------------------------- OUT=
    if opts.has("out"):
        _write_out(session, opts, base, comp, bmeta, cmeta, ids, pairs, results, mb_idx, mc_idx, unequal_any,
                   base_only, comp_only)
    if opts.has("noprint"):
        return
    # ---------------------------------------------------------------- report
    mline = "(Method=EXACT)" if method == "exact" else \
        f"(Method={method.upper()}{'(' + best(delta, 8).strip() + ')' if method == 'relative' and delta else ''}, " \
        f"Criterion={best(crit, 10).strip()})"
    head = [_C(f"Comparison of {bname} with {cname}" if not same else f"Comparisons of variables in {bname}"),
            _C(mline), ""]
    brief = opts.has("briefsummary") or opts.has("brief")
    nosum = opts.has("nosummary") or brief
    if brief:
        session.emit_table(_text_table("CompareSummary", head + [f"NOTE: {t}" for t in notes]))
        return
    if not nosum:
        stamp = getattr(base, "stamp", None) or session_start(session)
        cstamp = getattr(comp, "stamp", None) or session_start(session)
        has_label = bool(base.label or comp.label)
        rows = [("Dataset", "Created", "Modified", "NVar", "NObs") + (("Label",) if has_label else ())]
        rows.append((bname, _dt(stamp), _dt(stamp), str(len(base.columns)), str(nb))
                    + ((base.label or "",) if has_label else ()))
        if not same:
            rows.append((cname, _dt(cstamp), _dt(cstamp), str(len(comp.columns)), str(nc))
                        + ((comp.label or "",) if has_label else ()))
        ds_lines = head + [_C("Data Set Summary"), ""] + _grid(rows, right={1, 2, 3, 4}) + ["", ""]
        session.emit_table(_text_table("CompareDatasets", ds_lines))
        vl = [_C("Variables Summary"), ""]
        if var_l is None:
            vl.append(f"Number of Variables in Common: {len(common)}.")
            if only_base:
                vl.append(f"Number of Variables in {bname} but not in {cname}: {len(only_base)}.")
            if only_comp:
                vl.append(f"Number of Variables in {cname} but not in {bname}: {len(only_comp)}.")
            if conflict:
                vl.append(f"Number of Variables with Conflicting Types: {len(conflict)}.")
            if diff_attr:
                vl.append(f"Number of Variables with Differing Attributes: {len(diff_attr)}.")
        else:
            vl.append(f"Number of Variables Compared: {len(pairs) + len(type_bad)}.")
        if ids:
            vl.append(f"Number of ID Variables: {len(ids)}.")
        if var_l is not None:
            vl.append(f"Number of VAR Statement Variables: {len(var_l)}.")
            if with_l is not None:
                vl.append(f"Number of WITH Statement Variables: {len(with_l)}.")
        vl += ["", ""]
        if diff_attr and not same:
            rows = [("Variable", "Dataset", "Type", "Length", "Format", "Label")]
            for k in diff_attr:
                for j, (nm, meta) in enumerate(((bname, bmeta[k]), (cname, cmeta[k]))):
                    rows.append((meta.name if j == 0 else "", nm, "Num" if meta.type == "N" else "Char",
                                 str(meta.length), meta.format or "", meta.label or ""))
            vl += [_C("Listing of Common Variables with Differing Attributes"), ""] + _grid(rows, right={3}) + ["", ""]
        session.emit_table(_text_table("CompareVariables", vl))
        ol = [_C("Observation Summary"), ""]
        orows = [("Observation", "Base", "Compare")]
        orows.append(("First Obs", _o(1 if nb else None), _o(1 if nc else None)))
        bad_pos = np.nonzero(unequal_any)[0]
        if len(bad_pos):
            orows.append(("First Unequal", _o(mb_idx[bad_pos[0]] + 1), _o(mc_idx[bad_pos[0]] + 1)))
            orows.append(("Last  Unequal", _o(mb_idx[bad_pos[-1]] + 1), _o(mc_idx[bad_pos[-1]] + 1)))
        if (base_only or comp_only) and len(mb_idx):
            orows.append(("Last  Match", _o(mb_idx[-1] + 1), _o(mc_idx[-1] + 1)))
        # the last observation read: "." for the data set that has no observation there
        orows.append(("Last  Obs", _o(nb if nb and nb >= nc else None), _o(nc if nc and nc >= nb else None)))
        ol += _grid(orows, right={1, 2}) + [""]
        ol.append(f"Number of Observations in Common: {len(mb_idx)}.")
        if not same:
            if base_only:
                ol.append(f"Number of Observations in {bname} but not in {cname}: {len(base_only)}.")
            if comp_only:
                ol.append(f"Number of Observations in {cname} but not in {bname}: {len(comp_only)}.")
            ol.append(f"Total Number of Observations Read from {bname}: {nb}.")
            ol.append(f"Total Number of Observations Read from {cname}: {nc}.")
        else:
            ol.append(f"Total Number of Observations Read from {bname}: {nb}.")
        ol += ["", f"Number of Observations with Some Compared Variables Unequal: {int(unequal_any.sum())}.",
               f"Number of Observations with All Compared Variables Equal: {int((~unequal_any).sum())}.", ""]
        if not unequal_vars:
            ol += [f"NOTE: {notes[-1]}", ""]
        else:
            ol += ["", _C("Values Comparison Summary"), "",
                   f"Number of Variables Compared with All Observations Equal: {len(results) - len(unequal_vars)}.",
                   f"Number of Variables Compared with Some Observations Unequal: {len(unequal_vars)}."]
            if n_inexact:
                ol.append(f"Total Number of Values not EXACTLY Equal: {n_unequal_vals + n_inexact}.")
            ol.append(f"Total Number of Values which Compare Unequal: {n_unequal_vals}.")
            maxd = [float(np.nanmax(np.abs(r[3][r[2]]))) for r in unequal_vars
                    if r[3] is not None and np.any(~np.isnan(r[3][r[2]]))]
            if maxd:
                ol.append(f"Maximum Difference: {best(max(maxd), 12).strip()}.")
            ol += ["", ""]
            rows = [("Variable", "Type", "Len", "Compare", "Label", "Ndif", "MaxDif")]
            for a, b, bad, dif in unequal_vars:
                mb_ = bmeta[a]
                md = ""
                if dif is not None and np.any(~np.isnan(dif[bad])):
                    md = _diff_text(float(np.nanmax(np.abs(dif[bad]))))
                rows.append((mb_.name, "NUM" if mb_.type == "N" else "CHAR", str(mb_.length),
                             cmeta[b].name if a != b else "", mb_.label or "", str(int(bad.sum())), md))
            if all(r[3] == "" for r in rows[1:]):
                rows = [r[:3] + r[4:] for r in rows]
                right = {2, 4, 5}
            else:
                right = {2, 5, 6}
            ol += [_C("Variables with Unequal Values"), ""] + _grid(rows, right=right) + ["", ""]
        session.emit_table(_text_table("CompareSummary", ol))
    else:
        session.emit_table(_text_table("CompareSummary", head + [f"NOTE: {t}" for t in notes] + ["", ""]))
    if unequal_vars and not opts.has("novalues"):
        per_var, total = _maxprint(opts, proc)
        lines = [_C("Value Comparison Results for Variables"), ""]
        for a, b, bad, dif in unequal_vars:
            n = min(per_var, total)
            if n <= 0:
                break
            lines += _value_block(session, base, comp, bmeta[a], cmeta[b], ids, bmeta, mb_idx, mc_idx, bad, dif, n)
            total -= min(n, int(bad.sum()))
        session.emit_table(_text_table("CompareDifferences", lines))


def _maxprint(opts: Options, proc) -> tuple[int, int]:
    """MAXPRINT=n or MAXPRINT=(n, total): differences listed per variable and in all (SAS: 50 and 500)."""
    v = opts.get("maxprint")
    if v is None:
        return 50, 500
    nums = [float(w.value) for w in (v.items or []) if isinstance(w, A.Word) and w.kind == "number"] \
        if isinstance(v, A.Group) else ([v] if isinstance(v, float) else [])
    if not nums or len(nums) > 2 or any(x < 1 or x != int(x) for x in nums):
        raise SasError("MAXPRINT= needs a positive integer or (per-variable, total) integers.", proc.line, proc.col)
    return int(nums[0]), int(nums[1]) if len(nums) == 2 else max(500, int(nums[0]))


def session_start(session) -> float:
    t = getattr(session, "_compare_start", None)
    if t is None:
        t = time.time()
        session._compare_start = t
    return t


def _dt(t: float) -> str:
    return time.strftime("%d%b%y:%H:%M:%S", time.localtime(t)).upper()


def _o(v) -> str:
    return "." if v is None else str(int(v))


def _sortable(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return (0, -math.inf)
    if isinstance(x, str):
        return (1, x.rstrip())
    return (0, float(x))


def _pair_name(bmeta, cmeta, a, b, paired: bool) -> str:
    """A variable compared with itself is named once; a VAR/WITH pair as base^=compare (SAS: gr1^=gr1)."""
    return bmeta[a].name if a == b and not paired else f"{bmeta[a].name}^={cmeta[b].name}"


def _grid(rows, right=frozenset()) -> list[str]:
    """Rows of text cells as aligned columns (two blanks apart); ``right`` holds right-aligned columns."""
    n = max(len(r) for r in rows)
    rows = [tuple(r) + ("",) * (n - len(r)) for r in rows]
    widths = [max(len(r[j]) for r in rows) for j in range(n)]
    out = []
    for i, r in enumerate(rows):
        cells = [r[j].rjust(widths[j]) if j in right else r[j].ljust(widths[j]) for j in range(n)]
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("")
    return out


def _value_block(session, base, comp, mb: VarMeta, mc: VarMeta, ids, bmeta, mb_idx, mc_idx, bad, dif,
                 per_var) -> list[str]:
    pos = np.nonzero(bad)[0][:per_var]
    if ids:
        id_names = [bmeta[k].name for k in ids]
        id_cols = [[_id_cell(session, base.column(n).to_numpy()[mb_idx[p]], bmeta[n.upper()]) for p in pos]
                   for n in id_names]
    else:
        id_names = ["Obs"]
        id_cols = [[str(int(mb_idx[p]) + 1) for p in pos]]
    xs = base.column(mb.name).to_numpy()
    ys = comp.column(mc.name).to_numpy()
    left_w = [max([len(n) for n in [nm]] + [len(v) for v in col] + [8]) for nm, col in zip(id_names, id_cols)]
    if mb.type == "N":
        bv = [_cell(session, xs[mb_idx[p]], mb) for p in pos]
        cv = [_cell(session, ys[mc_idx[p]], mc) for p in pos]
        dv = [_diff_text(float(dif[p])) for p in pos]
        pv = []
        for p in pos:
            x = float(xs[mb_idx[p]])
            pv.append(_diff_text(100 * float(dif[p]) / x) if x != 0 and not math.isnan(x) and
                      not math.isnan(float(dif[p])) else ".")
        heads = [("Base", mb.name), ("Compare", mc.name), ("", "Diff."), ("", "% Diff")]
        cols = [bv, cv, dv, pv]
        w = [max([9, len(h[0]), len(h[1])] + [len(v) for v in c]) for h, c in zip(heads, cols)]
        right = True
    else:
        bv = [_cell(session, xs[mb_idx[p]], mb)[:20] for p in pos]
        cv = [_cell(session, ys[mc_idx[p]], mc)[:20] for p in pos]
        heads = [("Base Value", mb.name), ("Compare Value", mc.name)]
        cols = [bv, cv]
        w = [max([20, len(h[0]), len(h[1])] + [len(v) for v in c]) for h, c in zip(heads, cols)]
        right = False

    def line(left, cells, head=False):
        # SAS's layout: row labels end two columns before "||", the label heading one column before it
        lt = "  ".join(s.rjust(left_w[k] + (1 if head and k == len(left) - 1 else 0)) for k, s in enumerate(left))
        rt = "  ".join((s.rjust(w[k]) if right else s.ljust(w[k])) for k, s in enumerate(cells))
        return (" " + lt + (" ||  " if head else "  ||  ") + rt).rstrip()
    under = ["_" * w[k] for k in range(len(w))] if right else ["_" * len(h[1]) for h in heads]
    body = [line([""] * len(left_w), [h[0] for h in heads]), line(id_names, [h[1] for h in heads], head=True),
            line(["_" * n for n in left_w], under), line([""] * len(left_w), [""] * len(w))]
    for i in range(len(pos)):
        body.append(line([col[i] for col in id_cols], [c[i] for c in cols]))
    rule = "_" * (max(len(s) for s in body) + 1)
    return [rule] + body + [rule, "", ""]


def _id_cell(session, v, meta: VarMeta) -> str:
    if meta.type == "N" and not meta.format:
        return "." if v is None or (isinstance(v, float) and math.isnan(v)) else best(float(v), 12).strip()
    return _cell(session, v, meta)


def _cell(session, v, meta: VarMeta) -> str:
    if meta.type == "N":
        try:
            fv = float(v)
        except (TypeError, ValueError):
            fv = math.nan
        return _num_text(fv, meta.format, session)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).rstrip()


def _write_out(session, opts, base, comp, bmeta, cmeta, ids, pairs, results, mb_idx, mc_idx, unequal_any,
               base_only, comp_only):
    outall = opts.has("outall")
    want_base = outall or opts.has("outbase")
    want_comp = outall or opts.has("outcomp") or opts.has("outcompare")
    want_dif = outall or opts.has("outdif") or opts.has("outdiff") or not (want_base or want_comp or
                                                                              opts.has("outpercent"))
    want_pct = outall or opts.has("outpercent")
    noequal = opts.has("outnoequal")
    id_names = [bmeta[k].name for k in ids]
    var_names_ = [bmeta[a].name for a, _ in pairs]
    records = []
    for i in range(len(mb_idx)):
        if noequal and not unequal_any[i]:
            continue
        bi, ci = int(mb_idx[i]), int(mc_idx[i])
        idv = {n: base.column(n).iloc[bi] for n in id_names}
        if want_base:
            records.append({"_TYPE_": "BASE", "_OBS_": bi + 1, **idv,
                            **{bmeta[a].name: base.column(bmeta[a].name).iloc[bi] for a, _ in pairs}})
        if want_comp:
            records.append({"_TYPE_": "COMPARE", "_OBS_": ci + 1, **idv,
                            **{bmeta[a].name: comp.column(cmeta[b].name).iloc[ci] for a, b in pairs}})
        if want_dif or want_pct:
            dif_row = {"_TYPE_": "DIF", "_OBS_": bi + 1, **idv}
            pct_row = {"_TYPE_": "PERCENT", "_OBS_": bi + 1, **idv}
            for (a, b), (_, _, bad, dif) in zip(pairs, results):
                name = bmeta[a].name
                if dif is not None:
                    dif_row[name] = float(dif[i])
                    x = float(base.column(name).iloc[bi])
                    pct_row[name] = 100 * float(dif[i]) / x if x != 0 and not math.isnan(x) else math.nan
                else:
                    xs = str(base.column(name).iloc[bi] or "")
                    ys = str(comp.column(cmeta[b].name).iloc[ci] or "")
                    n = max(len(xs), len(ys))
                    dif_row[name] = "".join("." if i_ < len(xs) and i_ < len(ys) and xs[i_] == ys[i_] else "X"
                                            for i_ in range(n)).rstrip(".") if xs.rstrip() != ys.rstrip() else ""
                    pct_row[name] = ""
            if want_dif:
                records.append(dif_row)
            if want_pct:
                records.append(pct_row)
    cols = ["_TYPE_", "_OBS_"] + id_names + var_names_
    df = pd.DataFrame(records, columns=cols)
    out = Dataset(normalise_frame(df))
    out.meta["_TYPE_"] = VarMeta("_TYPE_", "C", 8)
    for a, _ in pairs:
        m = bmeta[a]
        out.meta[m.name.upper()] = VarMeta(m.name, m.type, m.length, m.label, m.format)
    session.put_dataset(dsref_from_value(opts.nodes["out"]), out)
