"""PROC MIXED on the linear mixed model engine: REML/ML, RANDOM (G-side) and REPEATED (R-side)
structures, DDFM= CONTAIN | BETWITHIN | RESIDUAL | KENWARDROGER (KR), COVTEST, EMPIRICAL, SOLUTION,
Type 3 tests, LSMEANS and ESTIMATE, with SAS's tables."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st
from scipy.linalg import solve_triangular

from .. import ast as A
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import design as D
from ..stats import lmm as LM
from ..stats.store import DDF
from . import hypotheses as H
from .common import (Options, grid_search, positive_option, input_data, parse_parms, statements, type_text, warn_ignored,
                     sp_kind, sp_coords,
                     where_statements)
from .glimmix import _block_rank
from .modeling import (save_mixed_store, class_table_wanted, fixed_matrix_tables, type_level_columns, complete_cases, class_level_table, effect_tokens, make_classvars, parse_class, fmt_value, group_levels,
                       parse_model_effects)

PROC = "MIXED"


def run_mixed(session, proc):
    popts = Options(proc.options, {"data", "method", "covtest", "empirical", "noclprint", "order", "noitprint",
                                   "ic", "cl", "noinfo", "noprofile", "plots", "maxiter", "convh", "convf",
                                   "convg", "namelen", "info", "asycov", "asycorr", "nobound", "alpha", "noprofile"}, "PROC MIXED")
    class_stmt = model = None
    randoms, repeated, hyps, others = [], None, [], []
    for kw, stm in statements(proc, {"class", "model", "random", "repeated", "where", "lsmeans", "estimate",
                                     "contrast", "parms", "by", "id", "weight", "freq", "ods", "lsmestimate",
                                     "store", "slice"}):
        if kw == "class":
            class_stmt = stm
        elif kw == "model":
            model = stm
        elif kw == "random":
            randoms.append(stm)
        elif kw == "repeated":
            repeated = stm
        elif kw in ("lsmeans", "estimate", "contrast", "lsmestimate", "slice"):
            hyps.append((kw, stm))
        elif kw == "parms":
            if any(k == "parms" for k, _ in others):
                raise SasError("Only one PARMS statement is allowed.", stm.line, stm.col)
            others.append((kw, stm))
        elif kw in ("weight", "store"):
            others.append((kw, stm))
        elif kw != "where":
            raise SasError(f"The {kw.upper()} statement of PROC MIXED is not supported yet.", stm.line, stm.col,
                           code="180-322")
    if model is None:
        raise SasError("No MODEL statement was specified.", proc.line, proc.col)
    ds, ref = input_data(session, popts, proc, where_statements(proc))
    warn_ignored(session, popts, ["noinfo", "plots", "convf", "convg", "namelen", "info"], "PROC MIXED")
    MixedFit(session, proc, popts, ds, ref, class_stmt, model, randoms, repeated, hyps, others).run()


def _ic_size(specs, n_subjects, n_obs):
    """The n of BIC, CAIC and HQIC (SAS): the effective number of subjects, unless that is 1, in which case the
    number of levels of the first random effect of the first RANDOM statement (random block; -> the blocks), or
    the number of observations without RANDOM statements."""
    if n_subjects > 1:
        return n_subjects
    if not specs or getattr(specs[0], "Zd", None) is None:
        return n_obs
    Zd = specs[0].Zd
    first = Zd.effect_of_col[0] if Zd.X.shape[1] else None
    return max(sum(1 for k in Zd.effect_of_col if k == first), 1) if first is not None else n_obs


class MixedFit:
    def __init__(self, session, proc, popts, ds, ref, class_stmt, model, randoms, repeated, hyps, others=()):
        self.s, self.proc, self.popts, self.ds, self.ref = session, proc, popts, ds, ref
        self.class_stmt, self.model, self.randoms, self.repeated, self.hyps = class_stmt, model, randoms, repeated, hyps
        self.others = list(others)

    def emit(self, t):
        self.s.emit_table(type_level_columns(t, getattr(self, 'classes', None)))

    def _weight_var(self, ds):
        """The WEIGHT statement's variable (numeric), or None."""
        from .common import numeric_var
        for kw, stm in self.others:
            if kw == "weight":
                return numeric_var(stm, ds)
        return None

    def _subject(self, opts, stmt):
        from .modeling import subject_vars
        node = opts.nodes.get("subject", opts.nodes.get("sub"))
        if node is None:
            return None, None
        return subject_vars(self.ds, node, stmt, allow_intercept=True)

    def run(self):
        s, ds, model, popts = self.s, self.ds, self.model, self.popts
        method = str(popts.get("method", "reml")).lower()
        if method not in ("reml", "ml", "mivque0"):
            raise SasError(f"METHOD={method.upper()} is not supported (REML, ML and MIVQUE0 are).", self.proc.line,
                           self.proc.col)
        mopts = Options(model.options, {"s", "solution", "cl", "ddfm", "noint", "chisq", "outp", "outpm", "covb",
                                        "alpha", "htype", "e", "e3", "corrb", "influence", "residual", "vciry",
                                        "intercept"}, "MODEL")
        warn_ignored(s, mopts, ([] if ("outp" in mopts.values or "outpm" in mopts.values or
                                       mopts.has("cl")) else ["alpha"]) +
                     ["htype", "e", "e3", "influence", "residual", "intercept"] +
                     ([] if "outpm" in mopts.values else ["vciry"]), "MODEL")
        if model.response[0] != "var":
            raise SasError("PROC MIXED needs a single response variable.", model.line, model.col)
        copts, cglob = parse_class(self.class_stmt, ds, {"ref", "order", "descending", "desc", "truncate"}) \
            if self.class_stmt else ([], {})
        class_names = {c.name for c in copts}
        effects = parse_model_effects(model, ds, class_names)
        yname = ds.colname(model.response[1])
        if yname is None:
            raise SasError(f"Variable {model.response[1].upper()} not found.", model.line, model.col)
        # RANDOM and REPEATED
        specs = [self._random_spec(r, ds, class_names) for r in self.randoms]
        rep = self.repeated
        pops = Options(rep.options or [], {"subject", "sub", "type", "r", "rcorr", "group", "local"}, "REPEATED") \
            if rep else None

        subj_p, subj_text_p = self._subject(pops, rep) if pops else (None, None)
        rep_var = None
        if rep is not None and rep.items:
            w = rep.items[0]
            rep_var = ds.colname(str(w.value)) if isinstance(w, A.Word) else None
            if rep_var is None or rep_var not in class_names:
                raise SasError("The REPEATED effect must be a CLASS variable.", rep.line, rep.col)
        rk, sp_vars, group_var = "vc", [], None
        if rep is not None:
            rk = str(pops.get("type", "vc")).lower()
            if isinstance(pops.get("type"), A.Group):
                rk = type_text(pops.get("type"))
            if sp_kind(rk):
                sp_vars = sp_coords(pops, rep, ds, rk)
            if pops.has("group"):
                group_var = ds.colname(str(pops.get("group")))
                if group_var is None:
                    raise SasError(f"Variable {str(pops.get('group')).upper()} not found.", rep.line, rep.col)
        needed = set(class_names) | {yname} | set(sp_vars) | ({group_var} if group_var else set())
        for e in effects:
            needed |= set(e.all_vars())
        for sp in specs:
            needed |= set(sp.subj or []) | ({sp.group} if sp.group else set())
            for e in sp.effects:
                needed |= set(e.all_vars())
        if subj_p:
            needed |= set(subj_p)
        wvar = self._weight_var(ds)
        used = complete_cases(ds, needed | ({wvar} if wvar else set()), model.line, model.col)
        if wvar:
            # WEIGHT: R becomes W^-1/2 R W^-1/2; observations with a nonpositive weight are not used
            used &= ds.column(wvar).to_numpy().astype(float) > 0
            if not used.any():
                raise SasError("No valid observations are found.", model.line, model.col)
        n = int(used.sum())
        classes = make_classvars(ds, used, copts, cglob, s, str(popts.get("order", "formatted")).lower(), "glm")
        self.classes = classes
        data = {v: (ds.column(v).to_numpy()[used] if v in class_names else ds.column(v).to_numpy()[used].astype(float))
                for v in needed}
        design = D.build(data, classes, effects, intercept=not mopts.has("noint"))
        raw = {v: ds.column(v).to_numpy()[used] for v in needed}
        subj, subj_text = self._processing_unit(specs, subj_p, subj_text_p, raw, rep)
        if subj:
            keys = list(zip(*[raw[v] for v in subj]))
            codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=False)
        else:
            codes, uniq = np.zeros(n, dtype=int), None
        K = int(codes.max()) + 1 if n else 0
        Z, zcols = self._z_matrix(specs, data, classes, raw, codes, n)
        if rep_var is not None:
            cv = classes[rep_var]
            pos = cv.codes(data[rep_var])
            T = len(cv.levels)
        else:
            pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
            T = int(pos.max()) + 1
        flat = codes * T + pos
        if len(np.unique(flat)) != len(flat):
            raise SasError("A REPEATED position occurs more than once within a subject.", model.line, model.col)
        keep = ~design.aliased
        Xk = design.X[:, keep]
        p = Xk.shape[1]
        grid = lambda v: _grid(v, codes, pos, K, T)
        mask = np.zeros((K, T), dtype=bool)
        mask[codes, pos] = True
        Zg = grid(Z)
        ldata = LM.LMMData(grid(Xk), Zg, grid(y := data[yname]), mask, n,
                           rw=grid(ds.column(wvar).to_numpy().astype(float)[used]) if wvar else None)
        self._data, self._raw, self._codes_unit = data, raw, codes
        gs = self._g_struct(specs)
        rs = self._r_struct(rep, rk, T, sp_vars, group_var, grid, data, raw, codes, pos, mask, subj_text_p)
        if pops is not None and pops.has("local"):
            if rk in ("vc", "simple") or group_var or isinstance(rs, LM.VCs):
                raise SasError("REPEATED LOCAL is not supported with TYPE=VC, TYPE=UN(1) or GROUP= (it is with the "
                               "correlated structures).", rep.line, rep.col)
            rs = LM.Local(rs)
            self.param_subjects = self.param_subjects[:len(self.param_subjects) - (rs.npar - 1)] + \
                [(subj_text_p or "") if nm not in ("Residual",) else "" for nm in rs.names()]
            self.param_groups += [""]
        self.un_rside_only = rk == "un" and not specs and subj_p is not None
        ols = np.linalg.lstsq(Xk, y, rcond=None)[0]
        var0 = float(np.var(y - Xk @ ols, ddof=p)) if n > p else 1.0
        th0 = np.concatenate([gs.start(var0) if gs is not None else [], rs.start(var0)])
        lmm = LM.LMM(ldata, gs, rs, "reml" if method == "mivque0" else method)
        hold, noiter = None, False
        parms = [stm for kw, stm in self.others if kw == "parms"]
        if method == "mivque0":
            self._check_linear(gs, rs, self.proc)
            th0 = lmm.mivque0()
            noiter = True
        if parms:
            th0, hold, noiter_p = self._parms(parms[0], lmm, th0)
            noiter = noiter or noiter_p
            if noiter_p and self._profiled(rk, group_var, method) and not popts.has("noprofile") and \
                    not self.parms_noprofile:
                # SAS profiles the residual variance unless NOPROFILE: the PARMS values fix the ratios and
                # the scale is re-estimated (documented with the PARMS ... / NOITER example)
                c = lmm.profiled_scale(th0)
                th0 = np.array([t * (1.0 if LM.is_correlation(nm) else math.sqrt(c) if nm.startswith("FA(") else c)
                                for t, nm in zip(th0, (gs.names() if gs else []) + rs.names())])
        self.noiter, self.hold = noiter, hold
        names_all = (gs.names() if gs else []) + rs.names()
        profiled = self._profiled(rk, group_var, method) and not popts.has("noprofile")
        resid = (len(names_all) - 1 - names_all[::-1].index("Residual")) \
            if profiled and "Residual" in names_all else None
        null = LM.LMM(ldata, None, LM.make_struct("vc", 1, ["Residual"]), method)
        self.null_m2ll = null.fit(np.array([var0])).m2ll
        self.nr_rows = None
        res = None
        if not noiter and hold is None:
            res = self._newton(lmm, gs, rs, th0 if parms else None, resid, names_all, var0)
        if res is None:
            res = lmm.fit(th0, hold=hold, noiter=noiter)
        if self.nr_rows is None and not noiter and hold is None and not parms and gs is not None and \
                _on_bound(res.theta, lmm):
            # a variance stopped on its bound 0: a quasi-Newton search from large G starting values can stall
            # there (heterogeneous structures, whose derivative is singular at 0); try small G starting values
            # and keep the better optimum
            th1 = np.concatenate([gs.start(var0 * 0.1), rs.start(var0)])
            res1 = lmm.fit(th1)
            if res1.m2ll < res.m2ll - 1e-9:
                res = res1
        # ---------------- tables
        has_rnd = bool(specs)
        ddfm = self._ddfm(mopts, has_rnd)
        if ddfm == "betwithin" and not has_rnd and not subj_p:
            # SAS: without processing by subjects (no REPEATED SUBJECT=, or SUBJECT=INTERCEPT) BETWITHIN has
            # no effect, and the default is then CONTAIN, which without random effects is the residual DF
            ddfm = "residual"
        labels = []
        for lab in [_struct_label(sp.struct, sp.stmt) for sp in specs] + \
                   ([_struct_label(rs.base if isinstance(rs, LM.Grouped) else rs, rep)] if rep is not None else []):
            if lab not in labels:
                labels.append(lab)
        subj_texts = [sp.subj_text for sp in specs if sp.subj_text] + ([subj_text_p] if subj_text_p else [])
        rows = [("Data Set", getattr(ds, "display_name", self.ref.display)), ("Dependent Variable", yname),
                ("Covariance Structure" + ("s" if len(labels) > 1 or (has_rnd and rep is not None) else ""),
                 ", ".join(labels) or "Diagonal")]
        if subj_texts:
            rows.append(("Subject Effect" + ("s" if len(subj_texts) > 1 else ""), ", ".join(subj_texts)))
        if group_var:
            rows.append(("Group Effect", group_var))
        profiled = self._profiled(rk, group_var, method)
        rows += [("Estimation Method", method.upper()),
                 ("Residual Variance Method", "Parameter" if popts.has("noprofile") else
                  ("Profile" if profiled else "None")),
                 ("Fixed Effects SE Method", "Kenward-Roger" if ddfm == "kr" else
                  ("Empirical" if popts.has("empirical") else "Model-Based")),
                 ("Degrees of Freedom Method", {"contain": "Containment", "betwithin": "Between-Within",
                                                "residual": "Residual", "kr": "Kenward-Roger",
                                                "satterth": "Satterthwaite"}[ddfm])]
        self.emit(Table(PROC, "ModelInfo", "Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in rows], kind="kv"))
        want_cl, cl_max = class_table_wanted(popts)
        if copts and want_cl:
            self.emit(class_level_table(PROC, classes, copts, cl_max))
        dims = [("Covariance Parameters", len(res.theta)), ("Columns in X", design.X.shape[1]),
                # "per Subject" only when RANDOM effects are processed by subject (REPEATED-only: "Columns in Z 0")
                ("Columns in Z" + (" per Subject" if any(sp.subj for sp in specs) else ""), Zg.shape[2]),
                ("Subjects", K), ("Max Obs per Subject", int(mask.sum(axis=1).max()))]
        self.emit(Table(PROC, "Dimensions", "Dimensions", [Column("Descr", ""), Column("Value", "", "INT")],
                        [{"Descr": a, "Value": b} for a, b in dims], kind="kv"))
        self.emit(Table(PROC, "NObs", "Number of Observations", [Column("Label", ""), Column("N", "", "INT")],
                        [{"Label": "Number of Observations Read", "N": ds.nobs},
                         {"Label": "Number of Observations Used", "N": n},
                         {"Label": "Number of Observations Not Used", "N": ds.nobs - n}], kind="kv"))
        only_scale = resid is not None and len(names_all) == 1      # sigma^2 I: closed form, no iterations
        obj_col = Column("Objective", "-2 Res Log Like" if method == "reml" else "-2 Log Like", "14.8")
        if popts.has("noitprint") or self.noiter or only_scale:
            pass
        elif self.nr_rows is not None:
            # SAS's Newton-Raphson history: iteration 0 is the model with R = sigma^2 I
            rows = [{"Iteration": 0, "Evaluations": 1, "Objective": self.null_m2ll, "Criterion": None,
                     "_display": {"Criterion": ""}}] + \
                [{"Iteration": i, "Evaluations": e, "Objective": v, "Criterion": c} for i, e, v, c in self.nr_rows]
            self.emit(Table(PROC, "IterHistory", "Iteration History",
                            [Column("Iteration", None, "INT"), Column("Evaluations", None, "INT"), obj_col,
                             Column("Criterion", None, "11.8")], rows))
        else:
            self.emit(Table(PROC, "IterHistory", "Iteration History",
                            [Column("Iteration", None, "INT"), obj_col],
                            [{"Iteration": i, "Objective": v} for i, v in res.history]))
        if self.noiter or only_scale:
            pass
        elif res.converged:
            reason = "Convergence criteria met."
            if res.hessian is not None and res.hessian_exact and len(res.theta):
                ev = np.linalg.eigvalsh(res.hessian)
                if ev.min() <= 1e-10 * max(float(np.abs(ev).max()), 1e-300):
                    reason = "Convergence criteria met but final hessian is not positive definite."
            self.emit(Table(PROC, "ConvergenceStatus", "", [Column("Reason", "")], [{"Reason": reason}], kind="kv"))
            s.log.note(reason)
        else:
            s.log.warning("Did not converge.")
        if gs is not None and np.linalg.eigvalsh(gs.matrix(lmm.split(res.theta)[0])).min() <= 1e-12:
            s.log.note("Estimated G matrix is not positive definite.")
        self._matrices(lmm, res, specs, pops, mask, subj_text, uniq if subj else None)
        # covariance parameters
        cp_rows = []
        se = list(np.sqrt(np.maximum(np.diag(res.cov_theta), 0))) if res.cov_theta is not None else \
            [None] * len(res.theta)
        held = np.zeros(len(res.theta), dtype=bool) if self.hold is None else self.hold
        for k, (nm, est) in enumerate(zip(res.names, res.theta)):
            row = {"CovParm": nm, "Subject": self.param_subjects[k]}
            if any(self.param_groups):
                row["Group"] = self.param_groups[k]
            row["Estimate"] = est
            if est == 0.0:
                row["_display"] = {"Estimate": "0"}       # SAS prints a parameter fixed on 0 as "0"
            if held[k] or (res.boundary is not None and res.boundary[k]):
                se[k] = None
            if popts.has("covtest"):
                z = est / se[k] if se[k] else None
                row.update({"StdErr": se[k], "ZValue": z,
                            "ProbZ": None if z is None else (st.norm.sf(z) if nm in ("Residual",) or _variance_name(nm)
                                                             else 2 * st.norm.sf(abs(z)))})
            cp_rows.append(row)
        cols = [Column("CovParm", "Cov Parm"), Column("Subject")] + ([Column("Group")] if any(self.param_groups) else []) + \
            [Column("Estimate", None, "10.4")]
        if popts.has("covtest"):
            cols += [Column("StdErr", "Standard\nError", "10.4"), Column("ZValue", "Z\nValue", "8.2"),
                     Column("ProbZ", "Pr > Z" if True else "", "PVALUE6.4")]
        if popts.has("cl"):
            # PROC MIXED CL: Satterthwaite limits nu*est/chi2 (nu = 2 Z^2) for variances, Wald limits otherwise
            a = float(popts.get("alpha", 0.05)) if isinstance(popts.get("alpha"), float) else 0.05
            for k, row in enumerate(cp_rows):
                est, sek = row["Estimate"], se[k]
                row["Alpha"] = a
                if sek is None or not sek > 0:
                    row["Lower"] = row["Upper"] = None
                elif str(popts.get("cl")).lower() != "wald" and (row["CovParm"] == "Residual" or
                                                                 _variance_name(row["CovParm"])):
                    nu = 2 * (est / sek) ** 2
                    row["Lower"] = nu * est / st.chi2.ppf(1 - a / 2, nu)
                    row["Upper"] = nu * est / st.chi2.ppf(a / 2, nu)
                else:
                    q = st.norm.ppf(1 - a / 2)
                    row["Lower"], row["Upper"] = est - q * sek, est + q * sek
            cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
        if not any(r["Subject"] for r in cp_rows):
            cols = [c for c in cols if c.name != "Subject"]
        self.emit(Table(PROC, "CovParms", "Covariance Parameter Estimates", cols, cp_rows))
        if res.cov_theta is not None:
            # ASYCOV: 2 H^-1 over the covariance parameters (held ones: 0), labelled as the estimates table;
            # ASYCORR: the same as correlations
            lead = [c for c in cols if c.name in ("CovParm", "Subject", "Group")]
            C = np.nan_to_num(res.cov_theta)
            d = np.sqrt(np.maximum(np.diag(C), 0.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                R = np.where(np.outer(d, d) > 0, C / np.outer(d, d), 0.0)
            for key, name, title, M in (("asycov", "AsyCov", "Asymptotic Covariance Matrix of Estimates", C),
                                        ("asycorr", "AsyCorr", "Asymptotic Correlation Matrix of Estimates", R)):
                if not popts.has(key):
                    continue
                rows = [{"Row": i + 1, **{c.name: cp_rows[i][c.name] for c in lead},
                         **{f"CovP{j + 1}": float(M[i, j]) for j in range(len(cp_rows))}} for i in range(len(cp_rows))]
                self.emit(Table(PROC, name, title, [Column("Row", None, "INT")] + lead +
                                [Column(f"CovP{j + 1}", None, "D10.4") for j in range(len(cp_rows))], rows))
        # fit statistics (none for MIVQUE0, which has no likelihood to report)
        dcov = len(res.theta)
        npar = dcov - int(held.sum()) + (p if method == "ml" else 0)
        nstar = n - p if method == "reml" else n
        m2 = res.m2ll
        fit = [("-2 Res Log Likelihood" if method == "reml" else "-2 Log Likelihood", m2),
               ("AIC (Smaller is Better)", m2 + 2 * npar),
               ("AICC (Smaller is Better)", m2 + 2 * npar * nstar / (nstar - npar - 1) if nstar - npar - 1 > 0 else math.nan),
               ("BIC (Smaller is Better)", m2 + npar * math.log(_ic_size(specs, K if subj else 1, n)))]
        if method != "mivque0":
            self.emit(Table(PROC, "FitStatistics", "Fit Statistics", [Column("Descr", ""), Column("Value", "", "12.1")],
                            [{"Descr": a, "Value": b} for a, b in fit], kind="kv"))
            if popts.has("ic"):
                # PROC MIXED IC: the criteria with the same parameter count and sizes as Fit Statistics (n* for
                # AICC; the number of subjects, or observations without SUBJECT=, for HQIC, BIC and CAIC)
                nb = _ic_size(specs, K if subj else 1, n)
                self.emit(Table(PROC, "InfoCrit", "Information Criteria",
                                [Column("Neg2LogLike", "Neg2LogLike", "10.1"), Column("Parms", None, "INT"),
                                 Column("AIC", None, "10.1"), Column("AICC", None, "10.1"), Column("HQIC", None, "10.1"),
                                 Column("BIC", None, "10.1"), Column("CAIC", None, "10.1")],
                                [{"Neg2LogLike": m2, "Parms": npar, "AIC": fit[1][1], "AICC": fit[2][1],
                                  "HQIC": m2 + 2 * npar * math.log(math.log(nb)) if nb > 2 else math.nan,
                                  "BIC": fit[3][1], "CAIC": m2 + npar * (math.log(nb) + 1)}]))
        if dcov > 1 and method != "mivque0":
            chi = max(self.null_m2ll - m2, 0.0)
            self.emit(Table(PROC, "LRT", "Null Model Likelihood Ratio Test",
                            [Column("DF", None, "INT"), Column("ChiSq", "Chi-Square", "10.2"),
                             Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")],
                            [{"DF": dcov - 1, "ChiSq": chi, "ProbChiSq": st.chi2.sf(chi, dcov - 1)}]))
        # fixed effects inference
        beta = np.zeros(design.X.shape[1])
        beta[keep] = res.beta
        covk = res.cov_beta
        kr = satt = None
        if ddfm == "kr":
            Phi_A, Phi, P, Q, W = lmm.kenward_roger(res.theta, second_order=not self.kr_first_order)
            covk = Phi_A
            kr = (Phi, Phi_A, P, Q, W)
        if ddfm == "satterth":
            if res.cov_theta is None:
                raise SasError("The covariance of the covariance parameters is singular; DDFM=SATTERTHWAITE is not "
                               "available.", model.line, model.col)
            satt = (*lmm.satterthwaite_pieces(res.theta), res.cov_theta)
        if popts.has("empirical"):
            covk = self._empirical(lmm, res, ldata)
        covb = np.zeros((design.X.shape[1],) * 2)
        covb[np.ix_(keep, keep)] = covk
        self.design, self.classes, self.copts, self.mopts = design, classes, copts, mopts
        dfs = self._dfs(ddfm, design, Z, codes, K, n, effects, zcols, kr, keep)
        # the DF of every test: per effect, or per hypothesis under KR / Satterthwaite (also what STORE keeps)
        self.ddf = DDF(ddfm, dict(dfs), float(n - p), keep, kr, satt)
        if mopts.has("s") or mopts.has("solution"):
            self._solution(beta, covb, dfs)
        for t in fixed_matrix_tables(PROC, mopts, design, copts, covb):
            self.emit(t)
        # the DF of random-effect solutions and predictions: the residual containment DF, N - rank[X Z]
        self.df_pred = n - _block_rank(Z, Xk, codes, K) if ddfm != "residual" else n - p
        blup = None
        want_sol = any(sp.opts.has("solution") or sp.opts.has("s") for sp in specs)
        if gs is not None and (want_sol or "outp" in mopts.values):
            blup = lmm.random_effects(res.theta, res.beta, res.cov_beta)
        if blup is not None and want_sol:
            self._random_solution(blup, specs)
        if "outp" in mopts.values or "outpm" in mopts.values:
            self._outp(mopts, ds, used, design, keep, res, covk, blup, Z, codes, data,
                       (lmm.V(res.theta), pos) if mopts.has("vciry") else None)
        self._type3(beta, covb, dfs)
        rpart = None
        if gs is not None and H.random_coefficient_statement(self.hyps) is not None:
            b_, A_, B_ = lmm.blup_parts(res.theta, res.beta)
            rpart = H.RandomPart(specs, b_, A_, B_, keep)
        ct = H.contrast_table(s, PROC, [stm for kw, stm in self.hyps if kw == "contrast"], design, beta, covb, dfs,
                              self.ddf.adjust(), random=rpart, random_df=self.df_pred)
        if ct is not None:
            self.emit(ct)
        df_of = self.ddf.df_of()
        means = H.covariate_means(design, classes, data)
        for kw, stm in self.others:
            if kw == "store":
                from ..stats import families as FM
                save_mixed_store(s, PROC, stm, self.ds, design, classes, copts, beta, covb, means, data, yname,
                                 FM.Identity(), FM.Normal(), self.ddf, fit if method != "mivque0" else [])
        ident = type("Ident", (), {"inv": staticmethod(lambda x: x), "dmu_deta": staticmethod(np.ones_like)})
        # all ESTIMATE statements share one Estimates table (MIXED's ODS table), placed at the first of them
        est_rows, est_cl = [], False
        for kw, stm in self.hyps:
            if kw == "estimate":
                rows_e, cl = self._estimate_rows(stm, design, beta, covb, dfs, df_of, rpart)
                est_rows += rows_e
                est_cl = est_cl or cl
        est_done = False
        for kw, stm in self.hyps:
            if kw == "contrast":
                continue
            if kw in ("lsmeans", "slice"):
                for t in H.lsmeans_tables(s, PROC, stm, design, classes, data, means, beta, covb, ident,
                                          df_for=lambda k: dfs.get(k, math.inf), df_of=df_of,
                                          slice_adjust=self.ddf.adjust(), slices="mixed", statement=kw,
                                          exact_dunnett=not self.randoms and self.repeated is None):
                    self.emit(t)
            elif kw == "lsmestimate":
                self.emit(H.lsmestimate_table(s, PROC, stm, design, classes, data, means, beta, covb, ident,
                                              df_for=lambda k: dfs.get(k, math.inf), df_of=df_of))
            elif not est_done:
                est_done = True
                self.emit(Table(PROC, "Estimates", "Estimates", [Column("Label")] +
                                H._stat_columns(0, est_cl, False, False, True), est_rows))

    def _estimate_rows(self, stm, design, beta, covb, dfs, df_of, rpart):
        """The rows of one ESTIMATE statement (t tests on the DDFM= DF; with random-effect coefficients after
        '|', L beta + M u with Henderson's prediction variance and the DF of the fixed part, or of the random-
        effect solutions without one) and whether it asked for CL."""
        s = self.s
        subject, stm = H.random_coefficient_options(stm, rpart)
        o = H.hypothesis_options(s, stm, "estimate", {"cl", "alpha", "divisor", "e", "singular", "df"},
                                 ignored=["e", "singular"])
        alpha, cl = float(o.get("alpha", 0.05)), o.has("cl")
        rows_e = []
        for label, L, rc in H.parse_rows(stm.items, design, stm, random=rpart or False):
            if not H.estimable(L, design):
                s.log.note(f"The ESTIMATE row '{label}' is not estimable.")
                rows_e.append({"Label": label, "Estimate": None, "StdErr": None, "_display": {"Estimate": "Non-est"}})
                continue
            est, se_ = H.estimate_row(label, L, rc, rpart, subject, stm, beta, covb)
            if rc and not np.any(L):
                dfe = self.df_pred
            else:
                dfe = df_of(L) if df_of is not None else H.row_ddf(L, design, dfs)
            if o.has("df"):
                dfe = float(o.get("df"))
            r_ = {"Label": label}
            r_.update(H._stat_cols(est, se_, dfe, alpha, cl, False, None, False, True))
            rows_e.append(r_)
        return rows_e, cl

    # ------------------------------------------------------------------ RANDOM / REPEATED set-up
    def _random_spec(self, rnd, ds, class_names):
        opts = Options(rnd.options or [], {"subject", "sub", "type", "g", "gcorr", "solution", "s", "v", "vcorr",
                                           "group", "cl", "alpha"}, "RANDOM")
        subj, subj_text = self._subject(opts, rnd)
        if subj == []:                  # SUBJECT=INTERCEPT: one subject, i.e. RANDOM without SUBJECT=
            subj = None
        is_int = lambda it: isinstance(it, A.Word) and str(it.value).lower() in ("intercept", "int")
        rest = [it for it in rnd.items if not is_int(it)]
        effects = D.parse_effects(effect_tokens(rest), class_names) if rest else []
        for e in effects:
            e.factors = [ds.colname(v) or v for v in e.factors]
        kind = str(opts.get("type", "vc")).lower()
        if isinstance(opts.get("type"), A.Group):
            kind = type_text(opts.get("type"))
        spec = _RandomSpec(rnd, opts, subj, subj_text, any(is_int(it) for it in rnd.items), effects, kind)
        if opts.has("group"):
            spec.group = ds.colname(str(opts.get("group")))
            if spec.group is None:
                raise SasError(f"Variable {str(opts.get('group')).upper()} not found.", rnd.line, rnd.col)
        return spec

    @staticmethod
    def _processing_unit(specs, subj_p, subj_text_p, raw, rep):
        """The blocks V is processed by: the common SUBJECT= when every statement has the same one, else the
        coarsest SUBJECT= in which all the others nest (SAS's processing by subjects), else the whole data."""
        cands = [(sp.subj, sp.subj_text) for sp in specs if sp.subj] + ([(subj_p, subj_text_p)] if subj_p else [])
        if not cands:
            return None, None
        if any(sp.subj is None for sp in specs):
            if subj_p:
                raise SasError("A RANDOM statement without SUBJECT= together with REPEATED / SUBJECT= is not "
                               "supported yet.", rep.line, rep.col)
            return None, None
        lower = lambda c: [v.lower() for v in c]
        if all(lower(c) == lower(cands[0][0]) for c, _ in cands):
            return cands[0]

        def codes_of(vs):
            return pd.factorize(pd.Series(list(zip(*[raw[v] for v in vs])), dtype=object), sort=False)[0]
        for c, text in sorted(cands, key=lambda ct: len(set(codes_of(ct[0])))):
            cc = codes_of(c)
            if all(pd.Series(cc).groupby(codes_of(o)).nunique().max() == 1 for o, _ in cands):
                if subj_p and lower(subj_p) != lower(c):
                    raise SasError("REPEATED / SUBJECT= must be the coarsest SUBJECT= effect when RANDOM statements "
                                   "use different subjects; this layout is not supported yet.", rep.line, rep.col)
                return c, text
        raise SasError("The SUBJECT= effects of the RANDOM statements are not nested; this is not supported yet.",
                       specs[0].stmt.line, specs[0].stmt.col)

    @staticmethod
    def _z_matrix(specs, data, classes, raw, codes, n, constructed=None):
        """Z of all RANDOM statements on the processing unit: statement j contributes m_j copies of its
        columns (one per subject of that statement inside the unit).  Returns Z and, for the containment DF,
        the (variables, columns) of every random effect."""
        blocks, zcols, off = [], [], 0
        for sp in specs:
            Zd = D.build(data, classes, sp.effects, intercept=sp.intercept, keep_empty=True, constructed=constructed)
            q = Zd.X.shape[1]
            if sp.subj is None:
                local, sc, suniq = np.zeros(n, dtype=int), np.zeros(n, dtype=int), None
            else:
                sc, suniq = pd.factorize(pd.Series(list(zip(*[raw[v] for v in sp.subj])), dtype=object), sort=False)
                pair = codes.astype(np.int64) * (len(suniq) + 1) + sc
                _, first, inv = np.unique(pair, return_index=True, return_inverse=True)
                order = np.argsort(first, kind="stable")
                loc_sorted = pd.Series(codes[first[order]]).groupby(codes[first[order]]).cumcount().to_numpy()
                loc_pair = np.empty(len(first), dtype=int)
                loc_pair[order] = loc_sorted
                local = loc_pair[inv.ravel()]
            m = int(local.max()) + 1 if n else 1
            Zexp = np.zeros((n, m * q))
            if q:
                Zexp[np.arange(n)[:, None], local[:, None] * q + np.arange(q)[None, :]] = Zd.X
            K = int(codes.max()) + 1 if n else 0
            keymap = np.full((K, m), -1, dtype=int)
            keymap[codes, local] = sc
            sp.Zd, sp.q, sp.m, sp.col0, sp.keymap, sp.uniq = Zd, q, m, off, keymap, suniq
            subj_vars = set(sp.subj or [])
            for k in sorted(set(Zd.effect_of_col)):
                within = [j for j in range(q) if Zd.effect_of_col[j] == k]
                cols = [off + l * q + j for l in range(m) for j in within]
                vars_ = subj_vars | (set(sp.effects[k].all_vars()) if k >= 0 else set())
                zcols.append((vars_, cols))
            blocks.append(Zexp)
            off += m * q
        Z = np.hstack(blocks) if blocks else np.zeros((n, 0))
        return Z, zcols

    def _g_struct(self, specs):
        self.param_subjects, self.param_groups = [], []
        if not specs:
            return None
        for sp in specs:
            names = [c.effect for c in sp.Zd.columns]
            groups = None
            if sp.kind in ("vc", "simple", "sim"):
                groups = np.array(sp.Zd.effect_of_col)
                groups = pd.factorize(groups, sort=False)[0]
            try:
                sp.struct = LM.make_gside(sp.kind, sp.q, names, groups)
            except ValueError:
                raise SasError(f"RANDOM TYPE={sp.kind.upper()} is not supported yet (VC, UN, CS, AR(1), TOEP, UN(1), "
                               "CSH, ARH(1), ANTE(1), TOEPH, UNR, ARMA(1,1), FA0(n) are).", sp.stmt.line, sp.stmt.col)
            self.param_subjects += [sp.subj_text or ""] * sp.struct.npar
            self.param_groups += [""] * sp.struct.npar
        if any(sp.group for sp in specs):
            sp = specs[0]
            if len(specs) > 1 or sp.m != 1 or sp.subj is None:
                raise SasError("RANDOM ... GROUP= is supported for one RANDOM statement with SUBJECT= only.",
                               sp.stmt.line, sp.stmt.col)
            gk, glabels = self._group_codes(sp.group, self._codes_unit, sp.stmt)
            base = sp.struct
            sp.struct = LM.Grouped(base, gk, glabels)
            self.param_subjects = [sp.subj_text] * sp.struct.npar
            self.param_groups = [g for g in glabels for _ in range(base.npar)]
            return sp.struct
        if len(specs) == 1 and specs[0].m == 1:
            return specs[0].struct
        return LM.BlockDiag([(sp.struct, sp.m) for sp in specs])

    def _group_levels(self, group_var, data, raw):
        """Per-observation codes and labels ("trt 1") of a GROUP= variable (its CLASS levels when it has them)."""
        return group_levels(group_var, self.classes, data, raw)

    def _group_codes(self, group_var, codes, stmt):
        """Per-subject codes and labels of a RANDOM GROUP= variable, which must be constant within a subject."""
        gcodes, glabels = self._group_levels(group_var, self._data, self._raw)
        per = pd.Series(gcodes).groupby(codes)
        if (per.nunique() > 1).any():
            raise SasError(f"GROUP={group_var} varies within a subject; this is not supported on RANDOM.",
                           stmt.line, stmt.col)
        return per.first().to_numpy().astype(int), glabels

    def _r_struct(self, rep, rk, T, sp_vars, group_var, grid, data, raw, codes, pos, mask, subj_text):
        if rep is None:
            rs = LM.make_struct("vc", 1, ["Residual"])
        elif sp_kind(rk):
            coords = grid(np.column_stack([data[v] for v in sp_vars]))
            rs = LM.SPs(T, coords, sp_kind(rk))
        elif rk in ("vc", "simple"):
            rs = LM.ScalarResid(T) if group_var else LM.make_struct("vc", 1, ["Residual"])
        elif rk == "un(1)":     # heterogeneous variances, no correlation
            rs = LM.make_struct("vc", T, [f"Var({i + 1})" for i in range(T)])
        else:
            try:
                rs = LM.make_struct(rk, T)
            except ValueError:
                raise SasError(f"REPEATED TYPE={rk.upper()} is not supported yet (VC, CS, AR(1), TOEP, UN, UN(1), "
                               "CSH, ARH(1), ANTE(1), TOEPH, UNR, ARMA(1,1), SP(POW|EXP|GAU|SPH|LIN) are).",
                               rep.line, rep.col)
        if group_var:
            gcodes, glabels = self._group_levels(group_var, data, raw)
            if isinstance(rs, LM.ScalarResid):
                gk = grid(gcodes).astype(int)
            else:
                per = pd.Series(gcodes).groupby(codes)
                if (per.nunique() > 1).any():
                    raise SasError(f"GROUP={group_var} varies within a subject; this is supported only with TYPE=VC.",
                                   rep.line, rep.col)
                gk = per.first().to_numpy().astype(int)
            base = rs
            rs = LM.Grouped(base, gk, glabels)
            self.param_subjects += [subj_text or ""] * rs.npar
            self.param_groups += [g for g in glabels for _ in range(base.npar)]
        else:
            self.param_subjects += [(subj_text or "") if nm != "Residual" else "" for nm in rs.names()]
            self.param_groups += [""] * rs.npar
        return rs

    def _newton(self, lmm, gs, rs, start, resid, names, var0):
        """Fit by SAS's ridge-stabilised Newton-Raphson (stats.lmm_newton) from PARMS values or SAS's starting
        values: MIVQUE0 for structures linear in their parameters (for METHOD=ML without the projection in the
        traces: the residual cross-products, as SAS's ML iteration histories show), the moment starting values
        of REPEATED-only AR(1)/ARH(1)/CSH, the generic starting values otherwise.  Returns None (the
        caller falls back to the quasi-Newton fit) when the iteration fails to converge."""
        from ..stats.lmm_newton import newton_raphson
        th = start
        sas_start = start is not None           # PARMS values or MIVQUE0: the start SAS's own iteration takes
        if th is None and LM.is_linear(gs) and LM.is_linear(rs):
            try:
                th = lmm.mivque0(project=lmm.method == "reml")
            except (np.linalg.LinAlgError, ValueError):
                th = None
            if th is not None and not lmm.objective(th) < 1e9:
                th = None
            sas_start = th is not None
        if th is None:
            th = lmm.moment_start()
            if th is not None and not lmm.objective(th) < 1e9:
                th = None
        if th is None:
            th = np.concatenate([gs.start(var0) if gs is not None else [], rs.start(var0)])
        expo = [0.0 if LM.is_correlation(nm) else 0.5 if nm.startswith(("FA(", "CHOL(")) else 1.0 for nm in names]
        nr = newton_raphson(lmm, th, resid, expo, maxiter=positive_option(self.popts, "maxiter", 50, self.proc, True),
                            convh=positive_option(self.popts, "convh", 1e-8, self.proc),
                            nobound=self.popts.has("nobound"))
        # a failure falls back to the quasi-Newton fit, except when the user's own MAXITER= ran out: then, as
        # SAS, the last iterate with a "Did not converge." warning
        if not nr.converged and not (nr.message == "maximum iterations" and self.popts.has("maxiter")):
            return None
        self.nr_rows = nr.rows
        theta = nr.theta
        if nr.converged and not sas_start:
            # from starting values of our own the path (and so the stopping point, which can be 1e-4 short
            # of the optimum under CONVH=1E-8) is not SAS's: report the optimum itself
            polish = newton_raphson(lmm, theta, resid, expo, maxiter=20, convh=1e-15, nobound=self.popts.has("nobound"))
            if polish.converged or lmm.objective(polish.theta) < lmm.objective(theta):
                theta = polish.theta
        return lmm.finish(theta, np.ones(len(theta), dtype=bool), nr.converged, nr.iterations, [])

    @staticmethod
    def _profiled(rk, group_var, method):
        """Whether SAS profiles the residual variance out of the optimisation (Model Information's
        Residual Variance Method: Profile)."""
        return (rk in ("vc", "cs", "ar(1)") or sp_kind(rk) or LM.is_toep(rk)) and not group_var and \
            method != "mivque0"

    @staticmethod
    def _check_linear(gs, rs, proc=None):
        linear = (LM.VCs, LM.UNs, LM.CSs, LM.TOEPs, LM.ScalarResid)

        def ok(s):
            if s is None:
                return True
            if isinstance(s, LM.BlockDiag):
                return all(ok(b) for b, _ in s.blocks)
            if isinstance(s, (LM.Grouped, LM.GSide)):
                return ok(s.base)
            return isinstance(s, linear)
        if not (ok(gs) and ok(rs)):
            raise SasError("METHOD=MIVQUE0 needs covariance structures that are linear in their parameters (VC, UN, "
                           "CS, TOEP).", getattr(proc, "line", None), getattr(proc, "col", None))

    def _parms(self, stm, lmm, th0):
        """PARMS (values) ... </ HOLD= NOITER>: starting values, a grid search over several values, or
        parameters held at given values."""
        points, mask, noiter, self.parms_noprofile = parse_parms(stm, len(th0))
        if len(points) == 1:
            return points[0], mask, noiter
        key, lab = ("ResLogLike", "Res Log Like") if lmm.method == "reml" else ("LogLike", "Log Like")
        best, table = grid_search(PROC, points, lmm.objective, "-2 " + lab, "Neg2" + key, (key, lab))
        self.emit(table)
        return best, mask, noiter

    # ------------------------------------------------------------------ helpers
    def _matrices(self, lmm, res, specs, pops, mask, subj_text, uniq):
        """RANDOM G/GCORR (Estimated G Matrix: one block per RANDOM statement, for one subject) and V/VCORR,
        REPEATED R/RCORR: the R and V matrices are those of the first subject, over its observed positions."""
        want = lambda o, k: o is not None and o.has(k)
        want_any = lambda k: any(want(sp.opts, k) for sp in specs)
        corr = lambda M: M / np.sqrt(np.outer(np.diag(M), np.diag(M)))
        first = ""
        if uniq is not None and len(uniq):
            first = " ".join(_fmt_value(v) for v in uniq[0])
        tg, tr = lmm.split(res.theta)
        nsub = mask.shape[0]

        def subjects(opts, key, stmt):
            """The subjects (0-based) whose blocks R=/V= list (1-based, in the order subjects appear); the first
            when the option has no value."""
            vals = opts.get_list(key) if key in opts.values else [1.0]
            out = []
            for v in vals:
                if not isinstance(v, float) or v != int(v) or not 1 <= v <= nsub:
                    raise SasError(f"The {key.upper()}= value {_fmt_value(v)} is not a subject number between 1 and "
                                   f"{nsub}.", stmt.line, stmt.col)
                out.append(int(v) - 1)
            return out

        def for_subj(k):
            if not subj_text:
                return ""
            val = " ".join(_fmt_value(v) for v in uniq[k]) if uniq is not None and len(uniq) > k else ""
            return f" for {subj_text} {val}"

        def emit(name, title, M, labels=None):
            q = M.shape[0]
            rows = []
            for i in range(q):
                row = {"Row": i + 1}
                if labels is not None:
                    row.update({"Effect": labels[i], "Subject": first})
                row.update({f"Col{j + 1}": float(M[i, j]) for j in range(q)})
                rows.append(row)
            cols = [Column("Row", None, "INT")] + ([Column("Effect"), Column("Subject")] if labels is not None else [])
            cols += [Column(f"Col{j + 1}", None, "10.4") for j in range(q)]
            self.emit(Table(PROC, name, title, cols, rows))

        if want(pops, "r") or want(pops, "rcorr"):
            R = lmm.V(np.concatenate([np.zeros(lmm.ng), tr])) if lmm.g is not None else lmm.V(res.theta)
            block = lambda k: R[k][np.ix_(mask[k], mask[k])]
            if want(pops, "r"):
                for k in subjects(pops, "r", self.repeated):
                    emit("R", f"Estimated R Matrix{for_subj(k)}", block(k))
            if want(pops, "rcorr"):
                for k in subjects(pops, "rcorr", self.repeated):
                    emit("RCorr", f"Estimated R Correlation Matrix{for_subj(k)}", corr(block(k)))
        if lmm.g is not None and (want_any("g") or want_any("gcorr")):
            mats, labels, o = [], [], 0
            for sp in specs:
                mats.append(sp.struct.matrix(tg[o:o + sp.struct.npar]))
                o += sp.struct.npar
                labels += [c.effect + ("" if not c.levels else " " + " ".join(str(v) for v in c.levels.values()))
                           for c in sp.Zd.columns]
            from scipy.linalg import block_diag
            G = block_diag(*mats)
            if want_any("g"):
                emit("G", "Estimated G Matrix", G, labels)
            if want_any("gcorr"):
                emit("GCorr", "Estimated G Correlation Matrix", corr(G), labels)
        if want_any("v") or want_any("vcorr"):
            V = lmm.V(res.theta)
            block = lambda k: V[k][np.ix_(mask[k], mask[k])]
            for key, name, title, f in (("v", "V", "Estimated V Matrix", lambda M: M),
                                        ("vcorr", "VCorr", "Estimated V Correlation Matrix", corr)):
                sp = next((sp for sp in specs if want(sp.opts, key)), None)
                if sp is not None:
                    for k in subjects(sp.opts, key, sp.stmt):
                        emit(name, f"{title}{for_subj(k)}", f(block(k)))

    def _random_solution(self, blup, specs):
        """Solution for Random Effects: the BLUPs with their prediction standard errors, for each RANDOM
        statement with SOLUTION, by subject."""
        b, Cbb, _ = blup
        df = self.df_pred
        for sp in specs:
            if not (sp.opts.has("solution") or sp.opts.has("s")):
                continue
            a = float(sp.opts.get("alpha", 0.05))
            cl = sp.opts.has("cl")
            lev_vars = [v.name for v in self.copts if any(v.name in c.levels for c in sp.Zd.columns)]
            subj = sp.subj or []
            entries = []
            for k in range(sp.keymap.shape[0]):
                for l in range(sp.m):
                    if sp.keymap[k, l] >= 0:
                        entries.append((sp.keymap[k, l], k, l))
            entries.sort(key=lambda e: e[0])
            rows = []
            for s_idx, k, l in entries:
                key = sp.uniq[s_idx] if sp.uniq is not None else ()
                for j, c in enumerate(sp.Zd.columns):
                    col = sp.col0 + l * sp.q + j
                    est = float(b[k, col])
                    se = math.sqrt(max(float(Cbb[k, col, col]), 0.0))
                    t = est / se if se > 0 else math.nan
                    r = {"Effect": c.effect, **{v: c.levels.get(v, "") for v in lev_vars}}
                    r.update({sv: (val if not isinstance(val, float) else float(val)) for sv, val in zip(subj, key)})
                    r.update({"Estimate": est, "StdErrPred": se, "DF": df, "tValue": t,
                              "Probt": 2 * st.t.sf(abs(t), df) if se > 0 else None})
                    if cl:
                        q = st.t.ppf(1 - a / 2, df)
                        r.update({"Alpha": a, "Lower": est - q * se, "Upper": est + q * se})
                    rows.append(r)
            cols = [Column("Effect")] + [Column(v) for v in lev_vars] + [Column(v) for v in subj] + [
                Column("Estimate", None, "10.4"), Column("StdErrPred", "Std Err\nPred", "10.4"),
                Column("DF", None, "DFMT"), Column("tValue", "t Value", "8.2"), Column("Probt", "Pr > |t|", "PVALUE6.4")]
            if cl:
                cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
            self.emit(Table(PROC, "SolutionR", "Solution for Random Effects", cols, rows))

    def _outp(self, mopts, ds, used, design, keep, res, covk, blup, Z, codes, data, vciry=None):
        """MODEL OUTPM= (marginal X beta) and OUTP= (conditional X beta + Z b): the input data with Pred,
        StdErrPred, DF, Alpha, Lower, Upper and Resid for the observations used; with VCIRY, OUTPM= also
        gets ScaledDep and ScaledResid, the response and the marginal residual premultiplied by the inverse
        of the lower Cholesky root of each subject's V (its observations in the order they are read)."""
        from ..data.dataset import Dataset, normalise_frame
        from .common import dsref_from_value
        a = float(mopts.get("alpha", 0.05)) if isinstance(mopts.get("alpha"), float) else 0.05
        df = self.df_pred
        q = st.t.ppf(1 - a / 2, df)
        X = design.X[:, keep]
        y = data[self.ds.colname(self.model.response[1])]
        idx = np.nonzero(used)[0]
        for key in ("outpm", "outp"):
            if key not in mopts.values:
                continue
            pred = X @ res.beta
            var = np.einsum("np,pq,nq->n", X, covk, X)
            if key == "outp" and blup is not None:
                b, Cbb, Cxb = blup
                pred = pred + np.einsum("nq,nq->n", Z, b[codes])
                var = var + 2 * np.einsum("np,npq,nq->n", X, Cxb[codes], Z) + np.einsum("nq,nqr,nr->n", Z, Cbb[codes], Z)
            se = np.sqrt(np.maximum(var, 0.0))
            df_out = ds.df.copy()
            cols = {"Pred": pred, "StdErrPred": se, "DF": np.full(len(pred), float(df)),
                    "Alpha": np.full(len(pred), a), "Lower": pred - q * se, "Upper": pred + q * se, "Resid": y - pred}
            if key == "outpm" and vciry is not None:
                V, pos = vciry                                  # each subject's V and the observations' slots
                sdep, sres = np.full(len(pred), np.nan), np.full(len(pred), np.nan)
                for k in range(V.shape[0]):
                    rows = np.nonzero(codes == k)[0]            # in data order
                    if len(rows) == 0:
                        continue
                    slots = pos[rows]
                    L = np.linalg.cholesky(V[k][np.ix_(slots, slots)])
                    sdep[rows] = solve_triangular(L, y[rows], lower=True)
                    sres[rows] = solve_triangular(L, y[rows] - pred[rows], lower=True)
                cols["ScaledDep"], cols["ScaledResid"] = sdep, sres
            for c, v in cols.items():
                full = np.full(ds.nobs, np.nan)
                full[idx] = v
                df_out[c] = full
            self.s.put_dataset(dsref_from_value(mopts.nodes[key]), Dataset(normalise_frame(df_out),
                                                                          {k: v for k, v in ds.meta.items()}))

    def _ddfm(self, mopts, has_random):
        raw = mopts.get("ddfm", "contain" if has_random else "betwithin")
        self.kr_first_order = False
        if isinstance(raw, A.Group):
            # DDFM=KR(FIRSTORDER) / KR(LINEAR): the Kenward-Roger adjustment without the second-derivative term
            subs = {str(x.value).lower() for x in raw.items if isinstance(x, A.Word)}
            if raw.name.lower() not in ("kr", "kenwardroger") or not subs <= {"firstorder", "linear"}:
                raise SasError(f"DDFM={raw.raw.upper()} is not supported yet (KR(FIRSTORDER) and KR(LINEAR) are).",
                               self.model.line, self.model.col)
            self.kr_first_order = True
            raw = "kr"
        v = str(raw).lower()
        if v in ("kr2", "kenwardroger2"):
            self.s.log.warning("DDFM=KR2 is not distinguished from DDFM=KR yet: the Kenward-Roger (1997) adjustment "
                               "is used.")
        v = {"kenwardroger": "kr", "kr": "kr", "kr2": "kr", "kenwardroger2": "kr", "bw": "betwithin",
             "satterthwaite": "satterth", "satterth": "satterth", "sat": "satterth",
             "betwithin": "betwithin", "contain": "contain", "con": "contain", "residual": "residual",
             "res": "residual"}.get(v)
        if v is None:
            raise SasError(f"DDFM={mopts.get('ddfm')} is not supported yet (CONTAIN, BW, RESIDUAL, SATTERTHWAITE, "
                           "KR are).",
                           self.model.line, self.model.col)
        return v

    def _dfs(self, ddfm, design, Z, codes, K, n, effects, zcols, kr, keep):
        X = design.X[:, ~design.aliased]
        rankX = X.shape[1]
        if ddfm in ("residual",):
            return {k: n - rankX for k in range(-1, len(effects))}
        if ddfm == "satterth":
            ddfm = "betwithin"      # placeholder per effect; replaced by the Satterthwaite DF of each test
        within = {}
        for k in range(-1, len(effects)):
            cols = [j for j in range(design.X.shape[1]) if design.effect_of_col[j] == k and not design.aliased[j]]
            varies = False
            for j in cols:
                sr = pd.Series(design.X[:, j]).groupby(codes)
                if np.any(sr.max().to_numpy() - sr.min().to_numpy() > 1e-12):
                    varies = True
            within[k] = varies
        if ddfm == "betwithin" or ddfm == "kr":
            rank_between = sum(1 for j in range(design.X.shape[1]) if not design.aliased[j]
                               and not within[design.effect_of_col[j]])
            db = K - rank_between
            dw = n - K - (rankX - rank_between)
            # SAS: with only an R-side TYPE=UN (REPEATED, no RANDOM) every fixed effect gets the
            # between-subject DF
            all_between = ddfm == "betwithin" and getattr(self, "un_rside_only", False)
            return {k: (dw if within[k] and not all_between else db) for k in within}
        terms = [(tv, Z[:, cols]) for tv, cols in zcols]
        contrib = []
        prev = np.zeros((n, 0))
        for tv, cols in terms:
            contrib.append(_block_rank(np.hstack([prev, cols]), X, codes, K) - _block_rank(prev, X, codes, K))
            prev = np.hstack([prev, cols])
        resid = n - _block_rank(prev, X, codes, K)
        out = {}
        for k in range(-1, len(effects)):
            vk = set() if k < 0 else set(effects[k].all_vars())
            cands = [c for (tv, _), c in zip(terms, contrib) if vk <= tv]
            out[k] = min(cands) if cands else resid
        return out

    def _solution(self, beta, covb, dfs):
        cl = self.mopts.has("cl")
        alpha = float(self.mopts.get("alpha", 0.05)) if isinstance(self.mopts.get("alpha"), float) else 0.05
        rows = []
        df_of = self.ddf.df_of()
        for j in range(len(beta)):
            c = self.design.columns[j]
            r = {"Effect": c.effect, **{v.name: c.levels.get(v.name, "") for v in self.copts}}
            if self.design.aliased[j]:
                r.update({"Estimate": 0.0, "StdErr": None, "DF": None, "tValue": None, "Probt": None})
            else:
                b, se = beta[j], math.sqrt(max(covb[j, j], 0.0))
                df = dfs[self.design.effect_of_col[j]]
                if df_of is not None:
                    df = df_of(np.eye(len(beta))[j])
                t = b / se if se > 0 else math.nan
                r.update({"Estimate": b, "StdErr": se, "DF": df, "tValue": t, "Probt": 2 * st.t.sf(abs(t), df)})
                if cl:
                    q = st.t.ppf(1 - alpha / 2, df)
                    r.update({"Alpha": alpha, "Lower": b - q * se, "Upper": b + q * se})
            if cl and self.design.aliased[j]:
                r.update({"Alpha": None, "Lower": None, "Upper": None})
            rows.append(r)
        used = [v.name for v in self.copts if any(v.name in c.levels for c in self.design.columns)]
        cols = [Column("Effect")] + [Column(v) for v in used] + [
            Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4"), Column("DF", None, "DFMT"),
            Column("tValue", "t Value", "8.2"), Column("Probt", "Pr > |t|", "PVALUE6.4")]
        if cl:
            # MODEL CL (ALPHA=): t-based limits on each estimate's own DF
            cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
        self.emit(Table(PROC, "SolutionF", "Solution for Fixed Effects", cols, rows))

    def _type3(self, beta, covb, dfs):
        self.emit(H.type3_table(PROC, "Type 3 Tests of Fixed Effects", self.design, beta, covb, dfs,
                                self.mopts.has("chisq"), self.ddf.adjust()))

    def _empirical(self, lmm, res, d):
        V = lmm.V(res.theta)
        Vinv = np.linalg.inv(V)
        both = d.mask[:, :, None] & d.mask[:, None, :]
        Vinv = np.where(both, Vinv, 0.0)
        r = d.y - np.einsum("ktp,p->kt", d.X, res.beta)
        u = np.einsum("ktp,kts,ks->kp", d.X, Vinv, r)
        meat = u.T @ u
        return res.cov_beta @ meat @ res.cov_beta


class _RandomSpec:
    """One RANDOM statement: its options, SUBJECT=, effects and TYPE=, and (once Z is built) its columns."""

    def __init__(self, stmt, opts, subj, subj_text, intercept, effects, kind):
        self.stmt, self.opts, self.subj, self.subj_text = stmt, opts, subj, subj_text
        self.intercept, self.effects, self.kind = intercept, effects, kind
        self.struct = self.Zd = self.keymap = self.uniq = None
        self.q = self.m = self.col0 = 0
        self.group = None


def _on_bound(theta, lmm) -> bool:
    bounds = lmm.bounds()
    return any(lo is not None and t <= lo + 1e-8 * max(1.0, abs(lo)) for t, (lo, _) in zip(theta, bounds))


_fmt_value = fmt_value


def _grid(v, codes, pos, K, T):
    v = np.asarray(v, dtype=float)
    g = np.zeros((K, T) + v.shape[1:])
    g[codes, pos] = v
    return g


def _struct_label(s, stmt):
    if s is None:
        return None
    if s.sas == "VC" and s.names() and s.names()[0] == "Var(1)":
        return "Banded"                 # UN(1), SAS's name for the banded unstructured family
    return {"VC": "Variance Components", "UN": "Unstructured", "CS": "Compound Symmetry",
            "AR(1)": "Autoregressive", "TOEP": "Toeplitz", "CSH": "Heterogeneous Compound Symmetry",
            "ARH(1)": "Heterogeneous Autoregressive", "ANTE(1)": "Ante-dependence",
            "TOEPH": "Heterogeneous Toeplitz", "UNR": "Unstructured using Correlations",
            "ARMA(1,1)": "Autoregressive Moving Average"}.get(s.sas, s.sas)


def _variance_name(nm):
    if nm.startswith("UN("):
        i, j = nm[3:-1].split(",")
        return i == j
    return nm != "CS" and not LM.is_correlation(nm) and not nm.startswith("TOEP(")
