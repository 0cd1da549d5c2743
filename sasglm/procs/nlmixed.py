"""PROC NLMIXED (a subset): PARMS, BOUNDS, programming statements, MODEL with the built-in conditional
distributions (BINARY, BINOMIAL, POISSON, NORMAL, NEGBIN, GENERAL), one RANDOM statement with normal
random effects and SUBJECT=, REPLICATE, ESTIMATE and PREDICT; the marginal likelihood by adaptive
Gauss-Hermite quadrature (stats/nlmixed.py).  Tables as SAS prints them: Specifications, Dimensions,
Parameters, Iteration History, Fit Statistics, Parameter Estimates, Additional Estimates."""
from __future__ import annotations

import math
import operator
import re

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import ast as A
from ..data.dataset import Dataset, normalise_frame
from ..datastep.blocks import build_blocks
from ..errors import SasError
from ..ods.table import Column, Table
from ..parser import SasSyntaxError, parse_statement_text
from ..stats import nlmixed as NL
from ..stats.glm import wald_quadratic
from ..stats.numdiff import central_gradient, hessian_of_function, jacobian_of_function
from .common import Options, dsref_from_value, input_data, warn_ignored

PROC = "NLMIXED"
KNOWN = {"data", "qpoints", "tech", "technique", "df", "alpha", "qtol", "maxiter", "gconv", "absgconv", "maxfunc",
         "noad", "method", "cov", "corr", "ecov", "hess", "start", "empirical", "itdetails", "noitprint",
         "nosortsub", "maxfu", "fconv", "xconv", "absfconv", "absxconv", "zeronomiss", "qmax", "outq", "subgradient"}
UNSUPPORTED = ["noad", "cov", "corr", "ecov", "hess", "start", "outq", "subgradient", "qmax"]
IGNORED = ["itdetails", "maxfunc", "maxfu", "fconv", "xconv", "absfconv", "absxconv", "zeronomiss"]
DISTS = {"binary": 1, "binomial": 2, "poisson": 1, "normal": 2, "general": 1, "negbin": 2}
DIST_LABEL = {"binary": "Binary", "binomial": "Binomial", "poisson": "Poisson", "normal": "Normal",
              "general": "General", "negbin": "Negative Binomial"}
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_FUNCS = {"exp": NL.exp, "log": NL.log, "log10": NL.log10, "sqrt": NL.sqrt, "abs": NL.absf, "probnorm": NL.probnorm,
          "lgamma": NL.lgamma, "logistic": NL.logistic}


def _split_top(text: str, sep=","):
    """Split at separators outside brackets and quotes."""
    out, depth, cur, quote = [], 0, "", None
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [c.strip() for c in out]


def _paren_end(text: str, i: int) -> int:
    """Index just after the parenthesis that closes the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


def _expr(text: str, stm):
    try:
        return parse_statement_text(text, "expr", stm.line, stm.col)
    except SasSyntaxError as e:
        raise SasError(f"{e.message} in the {stm.keyword.upper()} statement.", stm.line, stm.col)


class Program:
    """The programming statements, evaluated for all observations at once (numpy arrays; Jets when the
    derivatives in the random effects are wanted)."""

    def __init__(self, stmts, data: dict, params: list[str], randoms: list[str]):
        self.stmts = build_blocks(list(stmts))
        self.data = data                 # lower-case name -> n x 1 float array
        self.params = [p.lower() for p in params]
        self.randoms = [r.lower() for r in randoms]
        for s_ in self.stmts:
            self._check(s_)

    def _check(self, s_):
        if isinstance(s_, A.Assign):
            if s_.index is not None:
                raise SasError("Array references in NLMIXED programming statements are not supported yet.",
                               s_.line, s_.col)
        elif isinstance(s_, A.If):
            for t in s_.then + (s_.orelse or []):
                self._check(t)
        elif isinstance(s_, A.DoBlock) and s_.kind == "simple":
            for t in s_.body:
                self._check(t)
        else:
            raise SasError("Only assignments, IF-THEN/ELSE and DO-END groups are supported in NLMIXED "
                           "programming statements.", s_.line, s_.col)

    def run(self, pvals, us):
        env = {}
        for name, v in zip(self.params, pvals):
            env[name] = float(v)
        for name, u in zip(self.randoms, us):
            env[name] = u
        self._exec(self.stmts, env, None)
        return env

    def _exec(self, stmts, env, mask):
        for s_ in stmts:
            if isinstance(s_, A.Assign):
                v = self.eval(s_.value, env)
                name = s_.target.lower()
                if mask is None:
                    env[name] = v
                else:
                    old = env.get(name, np.nan)
                    env[name] = NL.where(mask, v, old)
            elif isinstance(s_, A.If):
                c = self._truth(self.eval(s_.cond, env))
                m1 = c if mask is None else (mask & c)
                self._exec(s_.then, env, m1)
                if s_.orelse:
                    m2 = ~c if mask is None else (mask & ~c)
                    self._exec(s_.orelse, env, m2)
            elif isinstance(s_, A.DoBlock):
                self._exec(s_.body, env, mask)

    @staticmethod
    def _truth(v):
        v = NL.value(v)
        with np.errstate(invalid="ignore"):
            return (np.asarray(v) != 0) & ~np.isnan(v)

    def lookup(self, name, env, e):
        n = name.lower()
        if n in env:
            return env[n]
        if n in self.data:
            return self.data[n]
        raise SasError(f"Variable {name} is not a parameter, a random effect, a data set variable or computed "
                       "before it is used.", e.line, e.col)

    def eval(self, e, env):
        if isinstance(e, A.Num):
            return float(e.value)
        if isinstance(e, A.Missing):
            return math.nan
        if isinstance(e, A.Var):
            return self.lookup(e.name, env, e)
        if isinstance(e, A.Unary):
            v = self.eval(e.operand, env)
            if e.op == "-":
                return -v
            if e.op == "+":
                return v
            return (~self._truth(v)).astype(float)
        if isinstance(e, A.BinOp):
            a, b = self.eval(e.left, env), self.eval(e.right, env)
            op = e.op
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if op in _OPS:               # on floats, arrays and Jets alike
                    return _OPS[op](a, b)
                if op == "**":
                    return a ** b if isinstance(a, NL.Jet) or isinstance(b, NL.Jet) else np.power(a, b)
                if op in ("min", "max"):
                    av, bv = NL.value(a), NL.value(b)
                    return NL.where((av <= bv) if op == "min" else (av >= bv), a, b)
                av, bv = NL.value(a), NL.value(b)
                cmp = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "gt": np.greater, "le": np.less_equal,
                       "ge": np.greater_equal}
                if op in cmp:
                    return cmp[op](av, bv).astype(float)
                if op == "and":
                    return (self._truth(a) & self._truth(b)).astype(float)
                if op == "or":
                    return (self._truth(a) | self._truth(b)).astype(float)
        if isinstance(e, A.Call):
            fn = e.name.lower()
            args = [self.eval(a, env) for a in e.args]
            if fn in _FUNCS and len(args) == 1:
                return _FUNCS[fn](args[0])
            if fn in ("min", "max") and len(args) >= 2:
                out = args[0]
                for b in args[1:]:
                    ov, bv = NL.value(out), NL.value(b)
                    out = NL.where((ov <= bv) if fn == "min" else (ov >= bv), out, b)
                return out
            raise SasError(f"The function {e.name.upper()} is not supported in NLMIXED programming statements.",
                           e.line, e.col)
        raise SasError("This expression is not supported in NLMIXED programming statements.",
                       getattr(e, "line", None), getattr(e, "col", None))


def _loglik(dist, y, args):
    """The built-in conditional log likelihoods (with their constants, as SAS documents them)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if dist == "binary":
            p = args[0]
            return NL.where(y > 0.5, NL.log(p), NL.log(1 - p))
        if dist == "binomial":
            n, p = args
            nv = NL.value(n)
            c = NL.lgamma(nv + 1) - NL.lgamma(y + 1) - NL.lgamma(nv - y + 1)
            return NL.where(y > 0, y * NL.log(p), 0.0) + NL.where(nv - y > 0, (n - y) * NL.log(1 - p), 0.0) + c
        if dist == "poisson":
            m = args[0]
            return NL.where(y > 0, y * NL.log(m), 0.0) - m - NL.lgamma(y + 1)
        if dist == "normal":
            m, v = args
            return -0.5 * ((y - m) * (y - m) / v + NL.log(v) + math.log(2 * math.pi))
        if dist == "negbin":
            n, p = args
            return NL.lgamma(n + y) - NL.lgamma(n) - NL.lgamma(y + 1) + n * NL.log(p) + \
                NL.where(y > 0, y * NL.log(1 - p), 0.0)
        return args[0]


def run_nlmixed(session, proc):
    NLMixedRun(session, proc).run()


class NLMixedRun:
    def __init__(self, session, proc):
        self.s, self.proc = session, proc

    def emit(self, t):
        self.s.emit_table(t)

    # ------------------------------------------------------------------ statements
    def _statements(self):
        parms, bounds = [], []
        model = random = replicate = None
        estimates, predicts, contrasts = [], [], []
        for stm in self.proc.statements:
            kw = stm.keyword
            text = stm.text.strip()
            body = text[len(kw):].strip() if text.lower().startswith(kw) else text
            if kw in ("parms", "parameters"):
                if "/" in body:
                    raise SasError("PARMS statement options (DATA=, BEST=, ...) are not supported yet in PROC "
                                   "NLMIXED.", stm.line, stm.col)
                if re.search(r"[-+.\d]\s+to\s+[-+.\d]", body, re.I):
                    raise SasError("PARMS value lists (a = 1 to 5 by 1, a grid search) are not supported yet in PROC "
                                   "NLMIXED.", stm.line, stm.col)
                # name=value or name value (SAS accepts both), separated by blanks or commas
                pair = r"([A-Za-z_][A-Za-z0-9_]*)(?:\s*=\s*|\s+)([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                for m in re.finditer(pair, body):
                    parms.append((m.group(1), float(m.group(2))))
                rest = re.sub(pair, "", body).replace(",", " ").strip()
                if rest:
                    raise SasError(f"PARMS statement: '{rest}' is not supported (name=value pairs are).",
                                   stm.line, stm.col)
            elif kw == "bounds":
                for part in _split_top(body):
                    bounds.append((part, stm))
            elif kw == "model":
                m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*~\s*([A-Za-z_]+)\s*\(", body)
                if not m:
                    raise SasError("The MODEL statement must have the form: MODEL response ~ distribution(...).",
                                   stm.line, stm.col)
                dist = m.group(2).lower()
                if dist not in DISTS:
                    raise SasError(f"The {dist.upper()} distribution is not supported yet in PROC NLMIXED "
                                   f"(supported: {', '.join(d.upper() for d in DISTS)}).", stm.line, stm.col)
                end = _paren_end(body, m.end() - 1)
                args = _split_top(body[m.end():end - 1])
                if len(args) != DISTS[dist]:
                    raise SasError(f"The {dist.upper()} distribution takes {DISTS[dist]} argument(s).",
                                   stm.line, stm.col)
                if body[end:].strip():
                    raise SasError(f"MODEL statement options ('{body[end:].strip()}') are not supported yet.",
                                   stm.line, stm.col)
                model = (m.group(1), dist, [_expr(a, stm) for a in args], stm)
            elif kw == "random":
                if random is not None:
                    raise SasError("Only one RANDOM statement is allowed in PROC NLMIXED.", stm.line, stm.col)
                m = re.match(r"((?:[A-Za-z_][A-Za-z0-9_]*\s*)+)~\s*normal\s*\(", body, re.I)
                if not m:
                    raise SasError("The RANDOM statement must have the form: RANDOM effects ~ NORMAL(means, "
                                   "covariances) SUBJECT=variable.", stm.line, stm.col)
                names = m.group(1).split()
                end = _paren_end(body, m.end() - 1)
                parts = _split_top(body[m.end():end - 1])
                if len(parts) != 2:
                    raise SasError("NORMAL(means, covariances) takes two arguments.", stm.line, stm.col)
                q = len(names)
                means = self._bracket(parts[0], q, stm)
                covs = self._bracket(parts[1], q * (q + 1) // 2, stm)
                opts = body[end:].strip()
                sm = re.fullmatch(r"(?:subject|sub)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)", opts, re.I)
                if not sm:
                    raise SasError(f"RANDOM statement options: '{opts}' is not supported (SUBJECT= is required; "
                                   "OUT= is not supported yet).", stm.line, stm.col)
                random = (names, means, covs, sm.group(1), stm)
            elif kw == "replicate":
                replicate = (body.strip(), stm)
            elif kw == "estimate":
                m = re.match(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")\s*(.*)", body, re.S)
                if not m:
                    raise SasError("The ESTIMATE statement needs a quoted label.", stm.line, stm.col)
                # options follow the expression without a slash (ESTIMATE 'label' expression ALPHA= DF=)
                expr_text, o = m.group(2), {}
                while True:
                    om = re.search(r"\s(alpha|df)\s*=\s*([0-9.eE+-]+)\s*$", " " + expr_text, re.I)
                    if not om:
                        break
                    o[om.group(1).lower()] = float(om.group(2))
                    expr_text = (" " + expr_text)[:om.start()].strip()
                estimates.append((m.group(1)[1:-1].replace("''", "'"), _expr(expr_text, stm), o, stm))
            elif kw == "predict":
                m = re.match(r"(.*?)\s+out\s*=\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(.*)$", body, re.I | re.S)
                if not m:
                    raise SasError("The PREDICT statement needs OUT=.", stm.line, stm.col)
                rest = m.group(3).strip().lstrip("/").strip()
                alpha = 0.05
                if rest:
                    am = re.fullmatch(r"alpha\s*=\s*([0-9.]+)", rest, re.I)
                    if not am:
                        raise SasError(f"PREDICT statement options ('{rest}') are not supported yet (ALPHA= is).",
                                       stm.line, stm.col)
                    alpha = float(am.group(1))
                predicts.append((_expr(m.group(1), stm), m.group(2), alpha, stm))
            elif kw == "contrast":
                m = re.match(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")\s*(.*)", body, re.S)
                if not m:
                    raise SasError("The CONTRAST statement needs a quoted label.", stm.line, stm.col)
                # CONTRAST 'label' expression <, expression> <DF=d> (no slash, as in SAS's syntax)
                expr_text, o = m.group(2).strip(), {}
                om = re.search(r"(?:^|\s|/)df\s*=\s*([0-9.eE+-]+)\s*$", expr_text, re.I)
                if om:
                    o["df"] = float(om.group(1))
                    expr_text = expr_text[:om.start()].strip().rstrip("/").strip()
                parts = [p_ for p_ in _split_top(expr_text) if p_.strip()]
                if not parts:
                    raise SasError("The CONTRAST statement needs at least one expression.", stm.line, stm.col)
                contrasts.append((m.group(1)[1:-1].replace("''", "'"), [_expr(p_, stm) for p_ in parts], o, stm))
            elif kw in ("id", "array", "by", "hold", "freq", "weight", "where"):
                raise SasError(f"The {kw.upper()} statement is not supported yet in PROC NLMIXED.", stm.line, stm.col)
            else:
                raise SasError(f"Statement {kw.upper()} is not valid in PROC NLMIXED.", stm.line, stm.col)
        if model is None:
            raise SasError("PROC NLMIXED requires a MODEL statement.", self.proc.line, self.proc.col)
        return parms, bounds, model, random, replicate, estimates, predicts, contrasts

    @staticmethod
    def _bracket(text, k, stm):
        t = text.strip()
        if t.startswith("["):
            if not t.endswith("]"):
                raise SasError("Unbalanced brackets in the RANDOM statement.", stm.line, stm.col)
            items = [i for i in _split_top(t[1:-1]) if i]
            if len(items) == 1 and k > 1:
                items = t[1:-1].split()
        else:
            items = [t]
        if len(items) != k:
            raise SasError(f"The RANDOM statement needs {k} value(s) here ({len(items)} given).", stm.line, stm.col)
        return [_expr(i, stm) for i in items]

    # ------------------------------------------------------------------ run
    def run(self):
        s, proc = self.s, self.proc
        opts = Options(proc.options, KNOWN, "PROC NLMIXED")
        for o in UNSUPPORTED:
            if opts.has(o):
                raise SasError(f"The PROC NLMIXED option {o.upper()} is not supported yet.", proc.line, proc.col)
        warn_ignored(s, opts, IGNORED, "PROC NLMIXED")
        tech = str(opts.get("tech", opts.get("technique", "quanew"))).lower()
        if tech != "quanew":
            s.log.warning(f"TECH={tech.upper()} is not supported; the dual quasi-Newton technique (QUANEW) is used.")
        method = str(opts.get("method", "gauss")).lower()
        if method != "gauss":
            raise SasError(f"METHOD={method.upper()} is not supported yet (METHOD=GAUSS, adaptive Gauss-Hermite "
                           "quadrature, is).", proc.line, proc.col)
        ds, ref = input_data(s, opts, proc)
        parms, bounds, model, random, replicate, estimates, predicts, contrasts = self._statements()
        if not parms:
            raise SasError("Parameters without a PARMS statement are not supported yet: give starting values in "
                           "a PARMS statement.", proc.line, proc.col)
        names = [p for p, _ in parms]
        if len({n.lower() for n in names}) != len(names):
            raise SasError("A parameter is listed twice in the PARMS statement.", proc.line, proc.col)
        x0 = np.array([v for _, v in parms])
        lower, upper = self._bounds(bounds, names)
        yname, dist, margs, mstm = model
        df = ds.df
        if ds.var(yname) is None:
            raise SasError(f"Variable {yname} not found.", mstm.line, mstm.col)
        data = {}
        for m_ in ds.ordered_meta():
            if m_.type == "N":
                data[m_.name.lower()] = df[m_.name].to_numpy(dtype=float)[:, None]
        prog_stmts = getattr(proc, "nl_program", [])
        rnames = random[0] if random else []
        q = len(rnames)
        # which observations are used: response and model arguments not missing at the starting values
        prog_all = Program(prog_stmts, data, names, rnames)
        y_all = data[yname.lower()][:, 0]
        with np.errstate(all="ignore"):
            env0 = prog_all.run(x0, [np.zeros((len(df), 1))] * q)
            vals = [np.broadcast_to(np.asarray(NL.value(prog_all.eval(a, env0)), dtype=float).reshape(-1, 1),
                                    (len(df), 1))[:, 0] for a in margs]
        used = ~np.isnan(y_all)
        for v in vals:
            used &= ~np.isnan(v)
        subj_var = None
        if random:
            subj_var = random[3]
            if ds.var(subj_var) is None:
                raise SasError(f"Variable {subj_var} not found.", random[4].line, random[4].col)
            sv = df[ds.var(subj_var).name]
            used &= ~(sv.isna().to_numpy() | (sv.astype(str).str.strip() == "").to_numpy())
        if dist == "binary" and np.any((y_all[used] != 0) & (y_all[used] != 1)):
            raise SasError("The response of a BINARY model must be 0 or 1.", mstm.line, mstm.col)
        n = int(used.sum())
        if n == 0:
            raise SasError("No valid observations are found.", proc.line, proc.col)
        rows_used = np.nonzero(used)[0]          # input rows of the used observations, in processing order
        if random:
            # SAS/STAT 13.1 and later: a subject is a unique value of the SUBJECT= variable, the data need not
            # be sorted (subjects in order of first appearance); NOSORTSUB: a new subject starts whenever the
            # value changes from the previous observation
            codes = df[ds.var(subj_var).name].to_numpy()[used]
            if not opts.has("nosortsub"):
                first = pd.Series(codes).groupby(codes, sort=False).ngroup().to_numpy()
                order = np.argsort(first, kind="stable")
                rows_used, codes = rows_used[order], codes[order]
            change = np.ones(n, dtype=bool)
            change[1:] = codes[1:] != codes[:-1]
            starts = np.nonzero(change)[0]
        else:
            starts = np.arange(n)
        data_u = {k: v[rows_used] for k, v in data.items()}
        prog = Program(prog_stmts, data_u, names, rnames)
        yv = data_u[yname.lower()]
        rep = None
        if replicate:
            rv, rstm = replicate
            if rv.lower() not in data_u:
                raise SasError(f"Variable {rv} not found.", rstm.line, rstm.col)
            rep = data_u[rv.lower()][np.append(starts[1:], n) - 1, 0]     # each subject's last observation
            if np.any(np.isnan(rep)) or np.any(rep < 0):
                raise SasError("The REPLICATE variable must be nonnegative and not missing.", rstm.line, rstm.col)

        def loglik(pv, us):
            env = prog.run(pv, us)
            args = [prog.eval(a, env) for a in margs]
            return _loglik(dist, yv, args)

        re_mean = re_cov = None
        if random:
            means, covs = random[1], random[2]
            first = {k: v[starts] for k, v in data_u.items()}
            # the RANDOM statement's mean and variance expressions may use programming-statement variables
            # (log_sigma2 = gamma0 + gamma1*ms): the program is run on each subject's first observation
            prog_s = Program(prog_stmts, first, names, rnames)
            K_ = len(starts)

            def subject_values(pv, exprs):
                with np.errstate(all="ignore"):
                    env = prog_s.run(pv, [np.zeros((K_, 1))] * q)
                    return [np.broadcast_to(np.asarray(NL.value(prog_s.eval(e_, env)), dtype=float).reshape(-1),
                                            (K_,)) for e_ in exprs]

            def mean_fn(pv):
                return np.column_stack(subject_values(pv, means))

            def cov_fn(pv):
                S = np.zeros((K_, q, q))
                il = np.tril_indices(q)
                S[:, il[0], il[1]] = np.column_stack(subject_values(pv, covs))
                return S + np.swapaxes(np.tril(S, -1), 1, 2)
            re_mean, re_cov = mean_fn, cov_fn
        model_ = NL.NLModel(loglik, starts, q, re_mean, re_cov, rep, n)
        qpoints = opts.get("qpoints")
        marg = NL.Marginal(model_, int(qpoints) if qpoints else 1)
        if random and not qpoints:
            npts = NL.choose_qpoints(marg, x0, float(opts.get("qtol", 1e-4)))
        else:
            npts = int(qpoints) if qpoints else 1
            if random:
                marg.set_points(npts)
        K = len(starts)
        # ---------------- header tables
        spec = [("Data Set", getattr(ds, "display_name", ref.display)), ("Dependent Variable", ds.var(yname).name),
                ("Distribution for Dependent Variable", DIST_LABEL[dist])]
        if random:
            spec += [("Random Effects", " ".join(rnames)), ("Distribution for Random Effects", "Normal"),
                     ("Subject Variable", ds.var(subj_var).name)]
        if replicate:
            spec.append(("Replicate Variable", ds.var(replicate[0]).name))
        spec.append(("Optimization Technique", "Dual Quasi-Newton"))
        spec.append(("Integration Method", "Adaptive Gaussian Quadrature" if random else "None"))
        self.emit(Table(PROC, "Specifications", "Specifications", [Column("Descr", ""), Column("Value", "")],
                        [{"Descr": a, "Value": b} for a, b in spec], kind="kv"))
        dims = [("Observations Used", n), ("Observations Not Used", len(df) - n), ("Total Observations", len(df))]
        if random:
            sizes = np.diff(np.append(starts, n))
            dims += [("Subjects", K), ("Max Obs per Subject", int(sizes.max()))]
        dims.append(("Parameters", len(names)))
        if random:
            dims.append(("Quadrature Points", npts))
        self.emit(Table(PROC, "Dimensions", "Dimensions", [Column("Descr", ""), Column("Value", "", "INT")],
                        [{"Descr": a, "Value": b} for a, b in dims], kind="kv"))
        f = marg.negloglik
        f0 = f(x0)
        prow = {nm: float(v) for nm, v in zip(names, x0)}
        prow["NegLogLike"] = f0
        self.emit(Table(PROC, "Parameters", "Parameters", [Column(nm, nm, "D") for nm in names] +
                        [Column("NegLogLike", "NegLogLike", "D")], [prow]))
        if not np.isfinite(f0):
            raise SasError("The objective function cannot be computed at the starting values.", proc.line, proc.col)
        gconv = float(opts.get("gconv", 1e-8))
        res = NL.minimize(f, x0, lower, upper, maxiter=int(opts.get("maxiter", 200)), gconv=gconv,
                          absgconv=float(opts.get("absgconv", 1e-6)))
        if not opts.has("noitprint"):
            self.emit(Table(PROC, "IterHistory", "Iteration History",
                            [Column("Iter", None, "INT"), Column("Calls", None, "INT"),
                             Column("NegLogLike", None, "12.7"), Column("Diff", None, "BEST8."),
                             Column("MaxGrad", None, "BEST8."), Column("Slope", None, "BEST8.")],
                            [{"Iter": a, "Calls": b, "NegLogLike": c, "Diff": d, "MaxGrad": e, "Slope": g}
                             for a, b, c, d, e, g in res.history]))
        if res.converged:
            self.emit(Table(PROC, "ConvergenceStatus", "", [Column("Reason", "")],
                            [{"Reason": "NOTE: GCONV convergence criterion satisfied."}], kind="kv"))
        else:
            s.log.warning(f"The NLMIXED procedure did not converge: {res.message}")
        x = res.x
        fx = f(x)
        m2ll = 2 * fx
        k = len(names)
        nsub = K if random else n
        rows = [("-2 Log Likelihood", m2ll), ("AIC (smaller is better)", m2ll + 2 * k),
                ("AICC (smaller is better)", m2ll + 2 * k * n / (n - k - 1) if n - k - 1 > 0 else math.nan),
                ("BIC (smaller is better)", m2ll + k * math.log(nsub))]
        self.emit(Table(PROC, "FitStatistics", "Fit Statistics", [Column("Descr", ""), Column("Value", "", "12.1")],
                        [{"Descr": a, "Value": b} for a, b in rows], kind="kv"))
        free = ~res.active
        H = hessian_of_function(f, x)
        C = np.full((k, k), np.nan)
        try:
            C[np.ix_(free, free)] = np.linalg.inv(H[np.ix_(free, free)])
        except np.linalg.LinAlgError:
            s.log.warning("The final Hessian matrix is singular; standard errors are not available.")
        if np.any(np.diag(C)[free] <= 0):
            s.log.warning("The final Hessian matrix is not positive definite; standard errors may be unreliable.")
        if opts.has("empirical"):
            # the likelihood sandwich H^-1 (sum over subjects of g_k g_k') H^-1, g_k the gradient of subject k's
            # log likelihood. With REPLICATE r_k, SAS takes the subject's contribution r_k l_k as one cluster,
            # r_k^2 g_k g_k' (BIOS 667 6city11.sas records SAS 9.4's output: SE(int) 1.7642 with REPLICATE,
            # 0.2166 on the expanded data), not the r_k g_k g_k' of r_k independent subjects.
            with np.errstate(all="ignore"):
                Jk = jacobian_of_function(marg.subject_loglik, x)
                marg.negloglik(x)
            meat = (Jk * marg.rep[:, None] ** 2).T @ Jk
            if replicate is not None and np.any(marg.rep != 1):
                s.log.note("With REPLICATE, the empirical covariance matrix treats each subject record as one "
                           "cluster whose log likelihood is multiplied by its replicate count, as SAS does; it is "
                           "not the sandwich estimator of the expanded data.")
            Cf = np.nan_to_num(C)
            C = np.where(np.isnan(C), np.nan, Cf @ meat @ Cf)
        self.C = C
        dfe = float(opts.get("df")) if opts.has("df") else float((K - q) if random else n)
        alpha = float(opts.get("alpha", 0.05))
        g = central_gradient(f, x, fx)
        prows = []
        for j, nm in enumerate(names):
            prows.append(dict({"Parameter": nm}, **self._stats(float(x[j]), C[j, j], dfe, alpha),
                              Gradient=float(g[j])))
        self.emit(Table(PROC, "ParameterEstimates", "Parameter Estimates", self._stat_cols("Parameter", alpha) +
                        [Column("Gradient", None, "BEST12.")], prows))
        if estimates:
            erows = []
            for label, e, o, stm in estimates:
                fn = lambda pv, e=e: self._param_expr(e, names, pv, prog_all, stm)   # noqa: E731
                est = fn(x)
                gr = central_gradient(fn, x, rel=1e-6)
                var = float(gr @ np.nan_to_num(C) @ gr)
                a_ = float(o.get("alpha", alpha))
                d_ = float(o.get("df", dfe))
                erows.append(dict({"Label": label}, **self._stats(est, var, d_, a_)))
            self.emit(Table(PROC, "AdditionalEstimates", "Additional Estimates",
                            self._stat_cols("Label", alpha), erows))
        if contrasts:
            crows = []
            for label, exprs, o, stm in contrasts:
                def fn(pv, exprs=exprs, stm=stm):
                    return np.array([self._param_expr(e_, names, pv, prog_all, stm) for e_ in exprs])
                val = fn(x)
                J = jacobian_of_function(fn, x, rel=1e-6)
                # the F statistic of the delta-method Wald test; the rank of the covariance is the numerator DF
                w, r_ = wald_quadratic(val, J @ np.nan_to_num(C) @ J.T)
                fval = w / r_ if r_ else math.nan
                d_ = float(o.get("df", dfe))
                crows.append({"Label": label, "NumDF": r_, "DenDF": d_, "FValue": fval,
                              "ProbF": float(st.f.sf(fval, r_, d_)) if r_ else math.nan})
            self.emit(Table(PROC, "Contrasts", "Contrasts",
                            [Column("Label"), Column("NumDF", "Num\nDF", "INT"), Column("DenDF", "Den\nDF", "DFMT"),
                             Column("FValue", "F Value", "7.2"), Column("ProbF", "Pr > F", "PVALUE6.4")], crows))
        for e, outname, a_, stm in predicts:
            self._predict(e, outname, a_, stm, ds, rows_used, prog, marg, x, C, dfe, names)

    # ------------------------------------------------------------------ helpers
    def _bounds(self, bounds, names):
        k = len(names)
        lower, upper = np.full(k, -np.inf), np.full(k, np.inf)
        idx = {nm.lower(): j for j, nm in enumerate(names)}
        num = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
        for part, stm in bounds:
            toks = re.findall(rf"{num}|[A-Za-z_][A-Za-z0-9_]*|<=|>=|<|>|=", part)
            if "".join(toks) != re.sub(r"\s+", "", part) or len(toks) not in (3, 5):
                raise SasError(f"BOUNDS: '{part}' is not supported (name op value, value op name, or value op name "
                               "op value).", stm.line, stm.col)

            def setb(name, op, val):
                j = idx.get(name.lower())
                if j is None:
                    raise SasError(f"BOUNDS: {name} is not a parameter.", stm.line, stm.col)
                if op in ("<", "<="):
                    upper[j] = min(upper[j], val)
                elif op in (">", ">="):
                    lower[j] = max(lower[j], val)
                else:
                    lower[j] = upper[j] = val
            flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
            if len(toks) == 3:
                a, op, b = toks
                if re.fullmatch(num, b):
                    setb(a, op, float(b))
                else:
                    setb(b, flip[op], float(a))
            else:
                a, op1, nm, op2, b = toks
                setb(nm, flip[op1], float(a))
                setb(nm, op2, float(b))
        return lower, upper

    def _param_expr(self, e, names, pv, prog, stm):
        env = {nm.lower(): float(v) for nm, v in zip(names, pv)}
        try:
            v = prog.eval(e, env)
        except SasError:
            raise SasError("ESTIMATE and CONTRAST expressions may use only the parameters.", stm.line, stm.col)
        return float(np.asarray(NL.value(v)).reshape(-1)[0])

    @staticmethod
    def _stats(est, var, dfe, alpha):
        se = math.sqrt(var) if var is not None and np.isfinite(var) and var >= 0 else math.nan
        t = est / se if se and np.isfinite(se) else math.nan
        p = 2 * st.t.sf(abs(t), dfe) if np.isfinite(t) else math.nan
        tq = st.t.ppf(1 - alpha / 2, dfe)
        nan = lambda v: None if not np.isfinite(v) else v          # noqa: E731
        return {"Estimate": est, "StandardError": nan(se), "DF": dfe, "tValue": nan(t), "Probt": nan(p),
                "Alpha": alpha, "Lower": nan(est - tq * se), "Upper": nan(est + tq * se)}

    @staticmethod
    def _stat_cols(lead, alpha):
        pct = f"{100 * (1 - alpha):g}%"
        return [Column(lead), Column("Estimate", None, "BEST10."), Column("StandardError", "Standard\nError", "BEST10."),
                Column("DF", None, "DFMT"), Column("tValue", "t Value", "7.2"), Column("Probt", "Pr > |t|", "PVALUE6.4"),
                Column("Alpha", None, "5.2", hidden=True),
                Column("Lower", f"{pct} Confidence\nLower", "BEST10."),
                Column("Upper", "Limits\nUpper", "BEST10.")]

    def _predict(self, e, outname, alpha, stm, ds, used, prog, marg, x, C, dfe, names):
        """PREDICT expression OUT=: the expression at the estimates (random effects at their empirical Bayes
        modes) for every used observation, standard errors by the delta method (the modes moving with the
        parameters)."""
        q = marg.m.q

        def pred(pv):
            if q:
                marg.negloglik(pv)                      # the subjects' modes at these parameters
                us = [marg.modes[marg.sid, j][:, None] for j in range(q)]
            else:
                us = []
            env = prog.run(pv, us)
            v = np.asarray(NL.value(prog.eval(e, env)), dtype=float)
            return np.broadcast_to(v.reshape(-1, 1) if v.ndim else np.full((marg.m.n, 1), float(v)),
                                   (marg.m.n, 1))[:, 0].copy()
        with np.errstate(all="ignore"):
            p0 = pred(x)
            J = np.zeros((len(p0), len(x)))
            for j in range(len(x)):
                h = 1e-5 * max(1.0, abs(x[j]))
                ej = np.zeros(len(x))
                ej[j] = h
                J[:, j] = (pred(x + ej) - pred(x - ej)) / (2 * h)
            pred(x)
        var = np.einsum("ij,jk,ik->i", J, np.nan_to_num(C), J)
        se = np.sqrt(np.maximum(var, 0))
        tq = st.t.ppf(1 - alpha / 2, dfe)
        out = ds.df.copy()
        cols = {c: np.full(len(out), np.nan) for c in ("Pred", "StdErrPred", "DF", "tValue", "Probt", "Alpha",
                                                        "Lower", "Upper")}
        with np.errstate(divide="ignore", invalid="ignore"):
            t = p0 / se
            cols["Pred"][used] = p0
            cols["StdErrPred"][used] = se
            cols["DF"][used] = dfe
            cols["tValue"][used] = t
            cols["Probt"][used] = 2 * st.t.sf(np.abs(t), dfe)
            cols["Alpha"][used] = alpha
            cols["Lower"][used] = p0 - tq * se
            cols["Upper"][used] = p0 + tq * se
        for c, v in cols.items():
            out[c] = v
        self.s.put_dataset(dsref_from_value(outname, stm.line, stm.col) if "." not in outname else
                           A.DsRef(*outname.split(".", 1), line=stm.line, col=stm.col),
                           Dataset(normalise_frame(out.reset_index(drop=True))))
