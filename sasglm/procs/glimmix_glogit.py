"""PROC GLIMMIX, DIST=MULTINOMIAL LINK=GLOGIT: the generalized logit model for a nominal response,
without random effects (GLM mode, maximum likelihood) or with random effects per response category
(METHOD=QUAD / LAPLACE; RANDOM ... / SUBJECT= [GROUP=response]).  The numerics live in stats/glogit.py;
this module turns the GLIMMIX step into the model spec and the results into SAS's tables."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import design as D
from ..stats import glogit as GG
from . import hypotheses as H

PROC = "GLIMMIX"
GLOGIT_LINK = SimpleNamespace(name="glogit", sas="Generalized Logit")


def response_profile(self, yname, labels, counts, ref):
    self.emit(Table(PROC, "ResponseProfile", "Response Profile",
                    [Column("OrderedValue", "Ordered\nValue", "INT"), Column(yname),
                     Column("Count", "Total\nFrequency", "INT")],
                    [{"OrderedValue": i + 1, yname: lab, "Count": c} for i, (lab, c) in enumerate(zip(labels, counts))],
                    footnotes=[f"In modeling category probabilities, {yname}='{labels[ref]}' serves as the "
                               "reference category."]))


def _expand(design, m):
    """The parameter-major, category-minor expansion of the design's columns (aliased ones kept)."""
    return [(j, c) for j in range(design.X.shape[1]) for c in range(m)]


def _solutions(self, yname, cats, beta_full, covb_full, dfs, title):
    """One row per (design column, non-reference category); aliased columns print 0 and missing SE."""
    design = self.design
    alpha = float(self.mopts.get("alpha", 0.05))
    m = len(cats)
    rows = []
    for idx, (j, c) in enumerate(_expand(design, m)):
        lab = self._labels(j)
        r = {"Effect": lab.pop("Effect"), yname: cats[c]}
        r.update({k: v for k, v in lab.items() if k != yname})
        df = dfs[design.effect_of_col[j]]
        if design.aliased[j]:
            r.update({"Estimate": 0.0, "StdErr": None, "DF": None, "tValue": None, "Probt": None})
        else:
            r.update(self.t_row(beta_full[idx], math.sqrt(max(covb_full[idx, idx], 0.0)), df, alpha))
        rows.append(r)
    cols = [Column("Effect"), Column(yname)] + self._class_cols() + [
        Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4"), Column("DF", None, "DFMT"),
        Column("tValue", "t Value", "8.2"), Column("Probt", "Pr > |t|", "PVALUE6.4")]
    if self.mopts.has("cl"):
        cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
    self.emit(Table(PROC, "ParameterEstimates", title, cols, rows))


def _type3(self, m, beta_full, covb_full, dfs):
    """Type III tests: each effect's hypothesis for all non-reference categories at once (Num DF = rank x
    (J-1)); the Den DF is the effect's, as for a single response."""
    self.emit(H.type3_table(PROC, "Type III Tests of Fixed Effects", self.design, beta_full, covb_full, dfs,
                            self.mopts.has("chisq"), expand=m))


def _unsupported(self):
    if self.hyps or getattr(self, "outputs", None):
        raise SasError("LSMEANS, ESTIMATE, CONTRAST and OUTPUT are not supported yet with LINK=GLOGIT.",
                       self.model.line, self.model.col)
    if self.mopts.has("oddsratio") or self.mopts.has("or") or self.popts.has("oddsratio"):
        raise SasError("ODDSRATIO is not supported yet with LINK=GLOGIT.", self.model.line, self.model.col)
    for k in ("covb", "corrb"):
        if self.mopts.has(k):
            raise SasError(f"MODEL {k.upper()} is not supported yet with LINK=GLOGIT.", self.model.line, self.model.col)
    if getattr(self, "parms", None) is not None:
        raise SasError("The PARMS statement is not supported yet with LINK=GLOGIT.", self.parms.line, self.parms.col)
    if self.empirical is not None and self.empirical[0] != "classical":
        raise SasError(f"EMPIRICAL={self.empirical[0].upper()} is not supported with LINK=GLOGIT (EMPIRICAL=CLASSICAL "
                       "is).", self.proc.line, self.proc.col)


def run_glogit(self, ctx):
    """ctx: the step's prepared pieces (design, coded response, subjects, RANDOM specs, ...)."""
    design, ycode, labels, counts, ref = ctx["design"], ctx["y"], ctx["labels"], ctx["counts"], ctx["ref"]
    n, w, offset, yname = ctx["n"], ctx["w"], ctx["offset"], ctx["yname"]
    J = len(labels)
    m = J - 1
    cats = [lab for i, lab in enumerate(labels) if i != ref]
    # response codes with the reference last, the other categories in their order
    remap = np.array([cats.index(lab) if i != ref else m for i, lab in enumerate(labels)])
    yc = remap[ycode.astype(int)]
    _unsupported(self)
    keep = ~design.aliased
    Xk = design.X[:, keep]
    p = Xk.shape[1]
    pfull = design.X.shape[1]
    idx_keep = np.array([keep[j] for j, c in _expand(design, m)])
    gm = GG.fit_glm(Xk, yc, w, offset, J)
    if ctx["glm_mode"]:
        self.subject_text = None
        self._glm_mode_header(yname, ctx["offset_var"], GLOGIT_LINK.sas, "Maximum Likelihood",
                              "None" if self._ddfm() == "none" else "Residual", n, None)
        response_profile(self, yname, labels, counts, ref)
        dims = [("Covariance Parameters", 0), ("Columns in X", pfull * m), ("Columns in Z", 0),
                ("Subjects (Blocks in V)", 1), ("Max Obs per Subject", n)]
        self.dims_table(dims)
        self.convergence_status(gm.converged)
        npar = p * m
        self.ic_table(-2 * gm.loglik, npar, n, n)
        cov = gm.cov
        if self.empirical is not None:          # every observation its own subject
            eta = Xk @ gm.beta.reshape(p, m) + offset[:, None]
            P, _ = GG._probs(eta)
            U = (w[:, None] * (GG._onehot(yc, J) - P))[:, None, :] * Xk[:, :, None]     # n x p x m
            U = U.reshape(n, -1)
            cov = gm.cov @ (U.T @ U) @ gm.cov
        dfe = n - npar if self._ddfm() != "none" else math.inf
        dfs = {k_: dfe for k_ in range(-1, len(design.effects))}
        beta_full = np.zeros(pfull * m)
        beta_full[idx_keep] = gm.beta
        covb_full = np.zeros((pfull * m,) * 2)
        covb_full[np.ix_(idx_keep, idx_keep)] = cov
        _solutions(self, yname, cats, beta_full, covb_full, dfs, "Parameter Estimates")
        _type3(self, m, beta_full, covb_full, dfs)
        return
    # ------------------------------------------------------------- random effects per category
    method, qpoints, gspecs = ctx["method"], ctx["qpoints"], ctx["gspecs"]
    if method not in ("quad", "laplace"):
        raise SasError(f"LINK=GLOGIT with random effects needs METHOD=QUAD or LAPLACE (not {method.upper()}).",
                       self.model.line, self.model.col)
    if len(gspecs) != 1 or ctx["rside"] is not None:
        raise SasError("LINK=GLOGIT supports one G-side RANDOM statement.", self.model.line, self.model.col)
    sp = gspecs[0]
    if sp["kind"] not in ("vc", "simple"):
        raise SasError(f"TYPE={sp['kind'].upper()} is not supported with LINK=GLOGIT (TYPE=VC is).",
                       sp["stmt"].line, sp["stmt"].col)
    ropts = sp["opts"]
    for k in ("g", "gcorr", "solution", "s"):
        if ropts.has(k):
            raise SasError(f"RANDOM {k.upper()} is not supported yet with LINK=GLOGIT.", sp["stmt"].line,
                           sp["stmt"].col)
    groups = ropts.has("group")
    data, classes, subj_vars, used = ctx["data"], ctx["classes"], ctx["subj_vars"], ctx["used"]
    Zd = D.build(data, classes, sp["effects"], intercept=sp["intercept"], keep_empty=True,
                 constructed=getattr(self, "constructed", None))
    Z0 = Zd.X
    q0 = Z0.shape[1]
    keys = list(zip(*[self.ds.column(v).to_numpy()[used] for v in subj_vars]))
    codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=False)
    K = len(uniq)
    sizes = np.bincount(codes)
    T = int(sizes.max())
    pos = np.zeros(n, dtype=int)
    seen = np.zeros(K, dtype=int)
    for i, c in enumerate(codes):
        pos[i] = seen[c]
        seen[c] += 1

    def grid(v, fill=0.0):
        out = np.full((K, T) + v.shape[1:], fill, dtype=float)
        out[codes, pos] = v
        return out
    mask = np.zeros((K, T), dtype=bool)
    mask[codes, pos] = True
    agq = GG.GLogitAGQ(grid(Xk), grid(Z0), grid(yc.astype(float), float(m)).astype(int), grid(w), grid(offset),
                       mask, J, groups, 1)
    theta0 = np.ones(agq.ntheta)
    if method == "laplace":
        npts = 1
    elif qpoints is not None:
        npts = qpoints
    else:
        npts = GG.choose_qpoints(agq, gm.beta, theta0)
    agq.set_points(npts)
    self._model_info(yname, ctx["offset_var"], subj_vars, method, self.popts)
    from .modeling import class_level_table, class_table_wanted
    want_cl, cl_max = class_table_wanted(self.popts)
    if self.copts and want_cl:
        self.emit(class_level_table(PROC, classes, self.copts, cl_max))
    self.emit(self._nobs_table(n))
    response_profile(self, yname, labels, counts, ref)
    t = agq.ntheta
    dims = [("G-side Cov. Parameters", t), ("Columns in X", pfull * m), ("Columns in Z per Subject", q0 * m),
            ("Subjects (Blocks in V)", K), ("Max Obs per Subject", T)]
    self.dims_table(dims)
    opt_rows = [("Optimization Technique", "Dual Quasi-Newton"), ("Parameters in Optimization", p * m + t),
                ("Lower Boundaries", t), ("Upper Boundaries", 0), ("Fixed Effects", "Not Profiled"),
                ("Starting From", "GLM estimates")]
    if method == "quad":
        opt_rows.append(("Quadrature Points", npts))
    self.emit(Table(PROC, "OptInfo", "Optimization Information", [Column("Descr", ""), Column("Value", "")],
                    [{"Descr": a, "Value": b} for a, b in opt_rows], kind="kv"))
    res = GG.fit_glmm(agq, gm.beta, theta0, empirical=self.empirical is not None,
                      maxiter=self.nlopts.get("maxiter", 200))
    if not self.popts.has("noitprint"):
        hist = [{"Iteration": it, "ObjFunction": v, "Change": None if k == 0 else res.history[k - 1][1] - v}
                for k, (it, v) in enumerate(res.history)]
        self.emit(Table(PROC, "IterHistory", "Iteration History",
                        [Column("Iteration", None, "INT"), Column("ObjFunction", "Objective\nFunction", "14.8"),
                         Column("Change", None, "12.8")], hist))
    self.convergence_status(res.converged)
    P_ = p * m
    self.ic_table(-2 * res.loglik, P_ + t, n, K)
    # Covariance Parameter Estimates
    rnames = [c.effect if not c.levels else c.effect + " " + " ".join(c.levels.values()) for c in Zd.columns]
    se = [math.sqrt(v) if v > 0 else None for v in np.diag(res.cov)[P_:]]
    rows = []
    for k in range(t):
        r = {"CovParm": rnames[k % q0], "Subject": self.subject_text}
        if groups:
            r["Group"] = f"{yname} {cats[k // q0]}"
        r.update({"Estimate": res.theta[k], "StdErr": se[k]})
        rows.append(r)
    self.emit(Table(PROC, "CovParms", "Covariance Parameter Estimates",
                    [Column("CovParm", "Cov Parm"), Column("Subject")] + ([Column("Group")] if groups else []) +
                    [Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4")], rows))
    # inference: DF as for the single-response model with this subject structure
    r_terms = [(set(sp["effects"][k_].all_vars()) if k_ >= 0 else set(),
                [j for j in range(q0) if Zd.effect_of_col[j] == k_]) for k_ in sorted(set(Zd.effect_of_col))]
    dfs = self._ddf(design, Z0, codes, K, n, data, ctx["effects"], r_terms, subj_vars)
    beta_full = np.zeros(pfull * m)
    beta_full[idx_keep] = res.beta
    covb_full = np.zeros((pfull * m,) * 2)
    covb_full[np.ix_(idx_keep, idx_keep)] = res.cov[:P_, :P_]
    if self.mopts.has("s") or self.mopts.has("solution"):
        _solutions(self, yname, cats, beta_full, covb_full, dfs, "Solutions for Fixed Effects")
    _type3(self, m, beta_full, covb_full, dfs)
