"""PROC GENMOD: GLMs by ML, GEE (REPEATED ... TYPE=) and alternating logistic regressions
(REPEATED ... LOGOR=), Type 3 tests, STORE for PROC PLM, OUTPUT OUT=."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import ast as A
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import design as D
from ..stats import gee as G
from ..stats import glm as GL
from ..stats.families import FAMILIES, Binomial, NegBin, make_link
from . import effects as EF
from .common import Options, positive_option, input_data, statements, value_of, warn_ignored, \
    where_statements
from .modeling import (type_level_columns, complete_cases, class_level_table, formatted, make_classvars, nobs_table,
                       parse_class, parse_model_effects)

PROC = "GENMOD"
DIST_NAMES = {"binomial": "Binomial", "poisson": "Poisson", "normal": "Normal", "gamma": "Gamma",
              "igaussian": "Inverse Gaussian", "negbin": "Negative Binomial", "zip": "Zero Inflated Poisson",
              "zinb": "Zero Inflated Negative Binomial"}
MODEL_OPTS = {"dist", "d", "error", "link", "l", "offset", "noint", "scale", "noscale", "pscale", "dscale",
              "type1", "type3", "wald", "cl", "lrci", "covb", "corrb", "maxiter", "converge", "alpha",
              "obstats", "itprint", "waldci", "initial", "intercept", "aggregate", "expected", "ssize"}
REPEATED_OPTS = {"subject", "sub", "withinsubject", "within", "type", "corr", "logor", "corrw", "corrb", "covb",
                 "modelse", "ecovb", "mcovb", "printmle", "maxiter", "maxit", "converge", "v6corr", "ecorrb",
                 "mcorrb", "intercept", "initial", "zdata", "zrow", "ypair", "alpha", "subclust",
                 "subcluster"}


def _link_for(dist: str, link: str | None):
    if link is None:
        link = {"binomial": "logit", "poisson": "log", "normal": "identity", "gamma": "reciprocal",
                "igaussian": "power", "negbin": "log"}[dist]
        if dist == "igaussian":
            return make_link("power", -2.0)
        return make_link(link)
    return make_link(link)


def _power_of(node, model) -> float:
    """The exponent of LINK=POWER(number) (a leading minus sign is its own token)."""
    sign, vals = 1.0, []
    for it in node.items:
        if isinstance(it, A.Word) and it.kind == "op" and it.value == "-":
            sign = -sign
        elif isinstance(it, A.Word) and it.kind == "number":
            vals.append(sign * float(it.value))
        else:
            vals = []
            break
    if len(vals) != 1:
        raise SasError("LINK=POWER() needs one number, for example LINK=POWER(0.5).", model.line, model.col)
    return vals[0]


GEE_PROC_OPTS = {"data", "descending", "desc", "descend", "order", "namelen", "plots"}
GEE_MODEL_OPTS = {"dist", "d", "error", "link", "l", "offset", "noint", "alpha", "cl"}
GEE_REPEATED_OPTS = REPEATED_OPTS - {"printmle", "v6corr"}
# the tables PROC GEE prints (its ODS table list): no initial GLM fit, no Type 3 tests, no convergence table
GEE_TABLES = {"ModelInfo", "ClassLevels", "NObs", "ResponseProfile", "GEEModInfo", "LORInfo", "GEEWCorr",
              "GEEExchCorr", "GEEFitCriteria", "GEEEmpPEst", "GEEModPEst", "GEENCorr", "GEENCov", "GEERCorr",
              "GEERCov", "ParmInfo", "LSMeans", "Diffs", "Estimates", "Coef", "Slices", "SliceTests",
              "SliceDiffs", "SplineKnotInfo"}


def run_genmod(session, proc, variant="GENMOD"):
    """PROC GENMOD, and PROC GEE (variant "GEE"): the same engine; GEE needs REPEATED, knows fewer options and
    statements, and prints only the GEE tables."""
    gee = variant == "GEE"
    popts = Options(proc.options, GEE_PROC_OPTS if gee else
                    {"data", "descending", "desc", "descend", "order", "namelen", "plots", "rorder", "noprint",
                     "exactonly", "plot"}, f"PROC {variant}")
    class_stmt = model = repeated = zeromodel = None
    store = None
    output = None
    by = []
    hyps = []
    wf = {}
    known = {"class", "model", "repeated", "store", "output", "by", "where", "weight", "freq", "estimate",
             "contrast", "lsmeans", "title", "ods", "effectplot", "slice", "lsmestimate", "scwgt", "frequency",
             "zeromodel", "effect"}
    effect_stmts = []
    if gee:
        known = (known - {"contrast", "scwgt", "zeromodel", "lsmestimate"}) | {"missmodel"}
    for kw, stm in statements(proc, known):
        if kw == "missmodel":
            raise SasError("The MISSMODEL statement of PROC GEE (weighted GEE) is not supported yet.", stm.line,
                           stm.col, code="180-322")
        if kw == "class":
            class_stmt = stm
        elif kw == "model":
            model = stm
        elif kw == "repeated":
            repeated = stm
        elif kw == "zeromodel":
            zeromodel = stm
        elif kw == "store":
            store = stm
        elif kw == "output":
            output = stm
        elif kw == "by":
            by = stm
        elif kw in ("estimate", "contrast", "lsmeans", "lsmestimate", "slice"):
            hyps.append((kw, stm))
        elif kw in ("weight", "freq", "scwgt", "frequency"):
            names = [str(w.value) for w in stm.items if isinstance(w, A.Word) and w.kind == "name"]
            if len(names) != 1 or stm.options:
                raise SasError(f"The {kw.upper()} statement needs exactly one numeric variable.", stm.line, stm.col)
            wf["weight" if kw in ("weight", "scwgt") else "freq"] = (names[0], stm)
        elif kw == "effectplot":
            hyps.append((kw, stm))
        elif kw == "effect":
            if model is not None:
                raise SasError("EFFECT statements must precede the MODEL statement.", stm.line, stm.col)
            effect_stmts.append(stm)
    if model is None:
        raise SasError("No MODEL statement was specified.", proc.line, proc.col)
    if gee:
        if repeated is None:
            raise SasError("PROC GEE needs a REPEATED statement (SUBJECT=).", proc.line, proc.col)
        Options(model.options, GEE_MODEL_OPTS, "MODEL")
        Options(repeated.options, GEE_REPEATED_OPTS, "REPEATED")
    ds, ref = input_data(session, popts, proc, where_statements(proc))
    warn_ignored(session, popts, ["namelen", "plots", "plot", "exactonly", "noprint"], f"PROC {variant}")
    if by:
        raise SasError(f"BY processing in PROC {variant} is not supported yet.", by.line, by.col)
    f = Fit(session, popts, ds, ref, class_stmt, model, repeated, store, output)
    f.variant = variant
    f.hyps = hyps
    f.zeromodel = zeromodel
    f.effect_stmts = effect_stmts
    f.weight_freq = {}
    for key, (name, stm) in wf.items():
        col = ds.colname(name)
        if col is None:
            raise SasError(f"Variable {name.upper()} not found.", stm.line, stm.col)
        if ds.var(col).is_char:
            raise SasError(f"Variable {col} in the {key.upper()} statement must be numeric.", stm.line, stm.col)
        f.weight_freq[key] = col
    f.run()


class Fit:
    def __init__(self, session, popts, ds, ref, class_stmt, model, repeated, store, output):
        self.s, self.popts, self.ds, self.ref = session, popts, ds, ref
        self.class_stmt, self.model, self.repeated = class_stmt, model, repeated
        self.store_stmt, self.output_stmt = store, output
        self.weight_freq = {}
        self.freq = None
        self.effect_stmts, self.especs, self.constructed = [], {}, {}

    variant = "GENMOD"

    def emit(self, t: Table):
        if t.name in ("ModelFit", "GEEFitCriteria"):
            self._fit_table = t
        if self.variant == "GEE":
            if t.name not in GEE_TABLES:
                return
            t.proc = "GEE"
            if t.name in ("GEEEmpPEst", "GEEModPEst"):
                t.title = "Parameter Estimates for Response Model with " + (
                    "Empirical Standard Error" if t.name == "GEEEmpPEst" else "Model-Based Standard Error")
                t.subtitle = None
            t.footnotes = [f.replace("PROC GENMOD", "PROC GEE") for f in t.footnotes]
        self.s.emit_table(type_level_columns(t, getattr(self, 'classes', None)))

    # ------------------------------------------------------------------ setup
    def run(self):
        s, ds, model = self.s, self.ds, self.model
        mopts = Options(model.options, MODEL_OPTS | {"aggregate"}, "MODEL")
        self.mopts = mopts
        warn_ignored(s, mopts, ["itprint", "waldci", "initial",
                                "intercept", "aggregate", "expected", "ssize"], "MODEL")
        dist = str(mopts.get("dist", mopts.get("d", mopts.get("error", "")))).lower() or None
        resp = model.response
        if dist is None:
            dist = "binomial" if resp[0] == "events" else "normal"
        if dist in ("multinomial", "mult", "multi"):
            if self.weight_freq:
                raise SasError("WEIGHT and FREQ are not supported with DIST=MULTINOMIAL yet.", model.line, model.col)
            return self._run_multinomial()
        zi = {"zip": "zip", "zinb": "zinb"}.get(dist)
        if zi is None and getattr(self, "zeromodel", None) is not None:
            raise SasError("The ZEROMODEL statement needs DIST=ZIP or DIST=ZINB in the MODEL statement.",
                           self.zeromodel.line, self.zeromodel.col)
        if zi:
            self._zi_check()
            dist = "poisson" if zi == "zip" else "negbin"
        if dist not in FAMILIES:
            raise SasError(f"DIST={dist.upper()} is not supported.", model.line, model.col)
        fam = FAMILIES[dist]()
        dist = fam.name
        if dist in ("multinomial",):
            raise SasError("DIST=MULTINOMIAL is not supported yet.", model.line, model.col)
        link_node = mopts.nodes.get("link", mopts.nodes.get("l"))
        if isinstance(link_node, A.Group) and (link_node.name or "").lower() in ("power", "pow"):
            link = make_link("power", _power_of(link_node, model))
        else:
            link_name = mopts.get("link", mopts.get("l"))
            link_name = str(link_name).lower() if link_name is not None else None
            if isinstance(link_name, str) and link_name not in ("logit", "probit", "cloglog", "loglog", "log",
                                                                 "identity", "id", "reciprocal", "recip"):
                raise SasError(f"LINK={link_name.upper()} is not supported.", model.line, model.col)
            link = _link_for(dist, link_name)
        copts, cglob = parse_class(self.class_stmt, ds, {"param", "ref", "order", "descending", "desc",
                                                          "truncate", "missing"}) if self.class_stmt else ([], {})
        class_names = {c.name for c in copts}
        # CLASS / MISSING: a missing value of a CLASS variable is a level of its own
        miss_ok = class_names if cglob.get("missing") else set()
        self.especs = especs = EF.parse_effects(self.effect_stmts, ds, class_names)
        effects = parse_model_effects(model, ds, class_names, especs)
        zeffects = self._zero_effects(ds, class_names) if zi else None
        # response
        offset_var = mopts.get("offset")
        if offset_var is not None:
            c = ds.colname(str(offset_var))
            if c is None:
                raise SasError(f"Variable {str(offset_var).upper()} not found.", model.line, model.col)
            offset_var = c
        rep = self._repeated_spec(class_names) if self.repeated is not None else None
        yname = None
        needed = EF.data_vars(effects + (zeffects or []), especs)
        if resp[0] == "events":
            if zi:
                raise SasError("DIST=ZIP/ZINB needs a single count response, not events/trials.", model.line,
                               model.col)
            ev, tr = ds.colname(resp[1]), ds.colname(resp[2])
            if ev is None or tr is None:
                raise SasError(f"Variable {(resp[1] if ev is None else resp[2]).upper()} not found.", model.line,
                               model.col)
            needed |= {ev, tr}
        else:
            yname = ds.colname(resp[1])
            if yname is None:
                raise SasError(f"Variable {resp[1].upper()} not found.", model.line, model.col)
            needed.add(yname)
        if offset_var:
            needed.add(offset_var)
        needed |= class_names
        if rep:
            needed |= set(rep["subject_vars"]) | ({rep["within"]} if rep["within"] else set())
        wvar, fvar = self.weight_freq.get("weight"), self.weight_freq.get("freq")
        used = complete_cases(ds, (needed - miss_ok) | {v for v in (wvar, fvar) if v}, model.line, model.col)
        # SAS: nonpositive weights and frequencies below 1 drop the observation; frequencies are truncated
        if wvar:
            used &= ds.column(wvar).to_numpy().astype(float) > 0
        freq_all = np.floor(ds.column(fvar).to_numpy().astype(float)) if fvar else None
        if fvar:
            used &= freq_all >= 1
        if not used.any():
            raise SasError("No valid observations are found.", model.line, model.col)
        # FREQ: each observation counts as if it appeared f times; the fit runs on the expanded rows
        idx = np.nonzero(used)[0]
        freq = freq_all[idx].astype(int) if fvar else None
        rows = np.repeat(idx, freq) if fvar else idx
        self.freq = freq
        classes = make_classvars(ds, used, copts, cglob, s, "formatted", "glm")
        self.classes, self.copts, self.effects, self.fam, self.link = classes, copts, effects, fam, link
        data = {}
        for v in needed:
            col = ds.column(v).to_numpy()[rows]
            if v in class_names or (v == yname and ds.var(v).is_char):
                data[v] = col
            elif ds.var(v).is_char:
                raise SasError(f"Variable {v} should be either numeric or specified in the CLASS statement.",
                               model.line, model.col)
            else:
                data[v] = col.astype(float)
        if not self.model.options or True:
            noint = mopts.has("noint")
        self.constructed = EF.bind(especs, data, {v.lower() for e in effects for v in e.factors})
        for t in EF.knot_tables(PROC, self.constructed, especs):
            self.emit(t)
        design = D.build(data, classes, effects, intercept=not noint, constructed=self.constructed)
        n = len(rows)
        # response vector
        w = np.ones(n)
        resp_info = None
        if resp[0] == "events":
            y_ev, y_tr = data[ev], data[tr]
            if np.any(y_tr <= 0) or np.any(y_ev < 0) or np.any(y_ev > y_tr):
                raise SasError("Invalid events/trials values (need 0 <= events <= trials, trials > 0).",
                               model.line, model.col)
            y = y_ev / y_tr
            w = y_tr
            resp_info = ("events", ev, tr, float(y_ev.sum()), float(y_tr.sum()))
        else:
            raw = ds.column(yname).to_numpy()[rows]
            if isinstance(fam, Binomial):
                y, resp_info = self._binary_response(ds, yname, rows, raw, resp[2])
            else:
                if ds.var(yname).is_char:
                    raise SasError(f"Variable {yname} should be numeric for DIST={dist.upper()}.", model.line,
                                   model.col)
                y = raw.astype(float)
                resp_info = ("var", yname)
                bad = {"gamma": (y <= 0, "positive"), "igaussian": (y <= 0, "positive"),
                       "poisson": (y < 0, "nonnegative"), "negbin": (y < 0, "nonnegative")}.get(dist)
                if bad is not None and bad[0].any():
                    raise SasError(f"The response {yname} must be {bad[1]} for DIST={dist.upper()}; "
                                   f"{int(bad[0].sum())} observation(s) are not.", model.line, model.col)
        offset = data[offset_var] if offset_var else np.zeros(n)
        if wvar:
            # WEIGHT divides the dispersion of each observation: a prior weight on top of the trials
            pw = ds.column(wvar).to_numpy()[rows].astype(float)
            fam.prior_weights = pw
            w = w * pw
        self.design, self.y, self.w, self.offset, self.used, self.n = design, y, w, offset, used, n
        self.rows = rows
        self.data_used = data
        self.resp_info, self.offset_var = resp_info, offset_var
        # ---------------- tables before the fit
        if zi:
            self.zero_link = self._zero_link()
            self.zdesign = D.build(data, classes, zeffects, intercept=True, constructed=self.constructed)
            dist = zi
        self._model_info(dist, link)
        if copts:
            self.emit(class_level_table(PROC, classes, copts))
        extra = []
        if fvar:
            fr = ds.column(fvar).to_numpy().astype(float)
            extra = [("Sum of Frequencies Read", float(np.sum(np.floor(fr[fr >= 1])))), ("Sum of Frequencies Used", float(n))]
        if resp_info[0] == "events":
            extra += [("Number of Events", resp_info[3]), ("Number of Trials", resp_info[4])]
        elif resp_info[0] == "binary":
            extra += [("Number of Events", resp_info[4]), ("Number of Trials", float(n))]
        self.emit(nobs_table(PROC, self.ds.nobs, int(used.sum()), extra))
        if resp_info[0] == "binary":
            self._response_profile(resp_info)
        if zi:
            return self._run_zeroinfl(zi)
        # ---------------- GLM fit
        scale_opt = None
        if mopts.has("noscale"):
            scale_opt = "noscale"
        if mopts.has("pscale") or str(mopts.get("scale", "")).lower() in ("pearson", "p"):
            scale_opt = "pearson"
        elif mopts.has("dscale") or str(mopts.get("scale", "")).lower() in ("deviance", "d"):
            scale_opt = "deviance"
        elif isinstance(mopts.get("scale"), float):
            scale_opt = ("value", float(mopts.get("scale")))
        try:
            res = GL.fit(design.X, y, w, offset, fam, link, design.aliased, scale_opt,
                         maxiter=positive_option(mopts, "maxiter", 100, model, True))
        except (GL.FitError, np.linalg.LinAlgError, FloatingPointError) as e:
            raise SasError(f"The model fit failed: {e}", model.line, model.col)
        self.res = res
        self._criteria(res, dist)
        if res.converged:
            if self.variant != "GEE":       # PROC GEE reports only the GEE iterations
                self.s.log.note("Algorithm converged.")
        else:
            self.s.log.warning("The maximum number of iterations was reached; the estimates may not have "
                               "converged.")
        title = "Analysis Of Initial Parameter Estimates" if rep else \
            "Analysis Of Maximum Likelihood Parameter Estimates"
        gee_mats = rep is not None and any(rep["opts"].has(k) for k in ("covb", "corrb", "ecovb", "mcovb", "ecorrb",
                                                                         "mcorrb"))
        if mopts.has("covb") or mopts.has("corrb") or mopts.has("type1") or gee_mats:
            self._parm_info()
        if rep is None and (mopts.has("covb") or mopts.has("corrb")):
            self._glm_cov_tables(res)
        self._param_table(res, title, scale_opt, rep is not None)
        if rep is None:
            if mopts.has("type1"):
                self._type1_glm(res, scale_opt)
            if mopts.has("type3"):
                self._type3_glm(res, scale_opt)
            final = ("glm", res)
        else:
            final = self._gee(rep, res)
        for kw, stm in getattr(self, "hyps", []):
            if kw == "effectplot":
                from .effectplot import effect_plot
                effect_plot(self.s, PROC, stm, self._fitted_record(final))
                continue
            self._hypothesis(kw, stm, final, scale_opt)
        if mopts.has("obstats"):
            self._obstats(final)
        elif mopts.has("cl"):
            s.log.note("MODEL CL has an effect only with OBSTATS (confidence limits of the predicted means).")
        if self.store_stmt is not None:
            self._store(final)
        if self.output_stmt is not None:
            self._output(final)

    # ------------------------------------------------------------------ zero-inflated models
    def _zi_check(self):
        """What DIST=ZIP/ZINB does not support yet: an ERROR naming it."""
        bad = []
        if self.repeated is not None:
            bad.append("the REPEATED statement")
        if getattr(self, "hyps", None):
            bad.append(f"the {self.hyps[0][0].upper()} statement")
        if self.output_stmt is not None:
            bad.append("the OUTPUT statement")
        if self.store_stmt is not None:
            bad.append("the STORE statement")
        if self.weight_freq.get("weight"):
            bad.append("the WEIGHT statement")
        for o in ("type1", "type3", "lrci", "obstats", "scale", "pscale", "dscale", "noscale", "covb", "corrb"):
            if self.mopts.has(o):
                bad.append(f"the MODEL option {o.upper()}")
        if bad:
            raise SasError(f"With DIST=ZIP or DIST=ZINB, {bad[0]} is not supported yet.", self.model.line,
                           self.model.col)

    def _zero_effects(self, ds, class_names):
        from .modeling import effect_tokens
        z = self.zeromodel
        if z is None:
            return []       # no ZEROMODEL statement: an intercept-only zero-inflation model
        try:
            eff = D.parse_effects(effect_tokens(z.items), class_names)
        except ValueError as e:
            raise SasError(f"Invalid effect specification: {e}.", z.line, z.col, code="22-322")
        for e in eff:
            for lst in (e.factors, e.nested):
                for i, v in enumerate(lst):
                    if lst is e.factors and v.lower() in self.especs:
                        lst[i] = self.especs[v.lower()].name
                        continue
                    c = ds.colname(v)
                    if c is None:
                        raise SasError(f"Variable {v.upper()} not found.", z.line, z.col)
                    lst[i] = c
        return eff

    def _zero_link(self):
        z = self.zeromodel
        name = "logit"
        if z is not None:
            o = Options(z.options, {"link", "l"}, "ZEROMODEL")
            name = str(o.get("link", o.get("l", "logit"))).lower()
        name = {"cll": "cloglog"}.get(name, name)
        if name not in ("logit", "probit", "cloglog"):
            raise SasError(f"ZEROMODEL LINK={name.upper()} is not supported (LOGIT, PROBIT and CLOGLOG are).",
                           z.line, z.col)
        return make_link(name)

    def _run_zeroinfl(self, zi):
        from ..stats import zeroinfl as ZI
        X = self.design.X[:, ~self.design.aliased]
        Z = self.zdesign.X[:, ~self.zdesign.aliased]
        y = self.y
        # (FREQ has already expanded the rows)
        model = ZI.ZeroInflated(X, Z, y, self.offset, self.link, self.zero_link, zi == "zinb")
        # start: the count GLM for beta, the share of zeros for the zero-inflation intercept
        try:
            glm = GL.fit(X, y, np.ones(len(y)), self.offset, FAMILIES["poisson"](), self.link,
                         np.zeros(X.shape[1], dtype=bool), None)
            b0 = glm.beta
        except (GL.FitError, np.linalg.LinAlgError, FloatingPointError):
            b0 = np.zeros(X.shape[1])
        g0 = np.zeros(Z.shape[1])
        try:
            res = model.fit(b0, g0)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            raise SasError(f"The model fit failed: {e}", self.model.line, self.model.col)
        self.zres = res
        p, q = X.shape[1], Z.shape[1]
        npar = p + q + (1 if zi == "zinb" else 0)
        n = res.n
        df = n - p - q
        pear = model.pearson(res)
        dev = -2 * res.loglik_full
        rows = [{"Criterion": "Deviance", "DF": None, "Value": dev, "ValueDF": None},
                {"Criterion": "Scaled Deviance", "DF": None, "Value": dev, "ValueDF": None},
                {"Criterion": "Pearson Chi-Square", "DF": df, "Value": pear, "ValueDF": pear / df if df > 0 else None},
                {"Criterion": "Scaled Pearson X2", "DF": df, "Value": pear, "ValueDF": pear / df if df > 0 else None},
                {"Criterion": "Log Likelihood", "DF": None, "Value": res.loglik, "ValueDF": None},
                {"Criterion": "Full Log Likelihood", "DF": None, "Value": res.loglik_full, "ValueDF": None}]
        aic = dev + 2 * npar
        rows += [{"Criterion": "AIC (smaller is better)", "DF": None, "Value": aic, "ValueDF": None},
                 {"Criterion": "AICC (smaller is better)", "DF": None,
                  "Value": aic + 2 * npar * (npar + 1) / (n - npar - 1) if n - npar - 1 > 0 else None, "ValueDF": None},
                 {"Criterion": "BIC (smaller is better)", "DF": None, "Value": dev + npar * math.log(n), "ValueDF": None}]
        self.emit(Table(PROC, "ModelFit", "Criteria For Assessing Goodness Of Fit",
                        [Column("Criterion"), Column("DF", None, "INT"), Column("Value", None, "12.4"),
                         Column("ValueDF", "Value/DF", "10.4")], rows))
        if res.converged:
            self.s.log.note("Algorithm converged.")
        else:
            self.s.log.warning("The maximum number of iterations was reached; the estimates may not have converged.")
        se = np.sqrt(np.maximum(np.diag(res.cov), 0.0))
        z = st.norm.ppf(0.975)
        foot = []
        extra = []
        if zi == "zinb":
            k, sk = res.k, se[-1]
            extra.append({"Parameter": "Dispersion", "DF": 1, "Estimate": k, "StdErr": sk,
                          "LowerWaldCL": k * math.exp(-z * sk / k), "UpperWaldCL": k * math.exp(z * sk / k),
                          "WaldChiSq": None, "ProbChiSq": None})
            foot.append("The negative binomial dispersion parameter was estimated by maximum likelihood.")
        else:
            extra.append({"Parameter": "Scale", "DF": 0, "Estimate": 1.0, "StdErr": 0.0, "LowerWaldCL": 1.0,
                          "UpperWaldCL": 1.0, "WaldChiSq": None, "ProbChiSq": None})
            foot.append("The scale parameter was held fixed.")
        self._wald_table("ParameterEstimates", "Analysis Of Maximum Likelihood Parameter Estimates", self.design,
                         res.beta, se[:p], extra, foot)
        self._wald_table("ZeroParameterEstimates", "Analysis Of Maximum Likelihood Zero Inflation Parameter Estimates",
                         self.zdesign, res.gamma, se[p:p + q], [], [])

    def _wald_table(self, name, title, design, est, se, extra, foot):
        """A parameter table with Wald limits and chi-squares; aliased columns print as 0 with DF 0."""
        z = st.norm.ppf(0.975)
        rows = []
        j = 0
        for col, al in enumerate(design.aliased):
            r = self._labels(col, design)
            if al:
                r.update({"DF": 0, "Estimate": 0.0, "StdErr": 0.0, "LowerWaldCL": 0.0, "UpperWaldCL": 0.0,
                          "WaldChiSq": None, "ProbChiSq": None})
            else:
                b, s_ = float(est[j]), float(se[j])
                chi = (b / s_) ** 2 if s_ > 0 else math.nan
                r.update({"DF": 1, "Estimate": b, "StdErr": s_, "LowerWaldCL": b - z * s_, "UpperWaldCL": b + z * s_,
                          "WaldChiSq": chi, "ProbChiSq": st.chi2.sf(chi, 1)})
                j += 1
            rows.append(r)
        level_cols = self._level_cols(design)
        blank = {c.name: "" for c in level_cols}
        rows += [{**blank, **r} for r in extra]
        cols = [Column("Parameter")] + level_cols + [
            Column("DF", None, "INT"), Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4"),
            Column("LowerWaldCL", "Wald 95%\nLower", "10.4"), Column("UpperWaldCL", "Confidence Limits\nUpper", "10.4"),
            Column("WaldChiSq", "Wald\nChi-Square", "10.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
        self.emit(Table(PROC, name, title, cols, rows, footnotes=foot))

    def _binary_response(self, ds, yname, used, raw, ropts):
        """Order the response levels; the first ordered level is the event (DESCENDING reverses)."""
        fmt = np.asarray(formatted(ds, yname, self.s), dtype=object)[used]
        order = str(self.popts.get("rorder", "formatted")).lower()
        desc = self.popts.has("descending") or self.popts.has("desc") or self.popts.has("descend")
        event = None
        for o in ropts or []:
            if isinstance(o, A.Opt) and o.key == "event":
                event = str(value_of(o.value))
            elif isinstance(o, A.Word) and str(o.value).lower() in ("descending", "desc"):
                desc = not desc
            elif isinstance(o, A.Opt) and o.key in ("order",):
                order = str(value_of(o.value)).lower()
            elif isinstance(o, A.Opt) and o.key == "ref":
                pass
            else:
                raise SasError("Unsupported response option.", self.model.line, self.model.col)
        levels, labels, alias = D.order_levels_grouped(list(raw), list(fmt), order, desc)
        if len(levels) > 2:
            raise SasError(f"The response {yname} has more than two levels; DIST=BINOMIAL needs a binary "
                           "response (multinomial models are not supported yet).", self.model.line, self.model.col)
        if len(levels) < 2:
            raise SasError(f"The response {yname} has only one level.", self.model.line, self.model.col)
        ev_idx = 0
        if event is not None:
            if event not in labels:
                raise SasError(f"EVENT='{event}' is not a level of {yname}.", self.model.line, self.model.col)
            ev_idx = labels.index(event)
        code = D.ClassVar(yname, levels, labels, alias=alias).codes(raw)
        y = (code == ev_idx).astype(float)
        counts = [int(c) for c in np.bincount(code, minlength=len(levels))]
        return y, ("binary", yname, labels, counts, float(y.sum()), labels[ev_idx])

    def _repeated_spec(self, class_names):
        r = self.repeated
        o = Options(list(r.items) + list(r.options or []), REPEATED_OPTS, "REPEATED")
        # PRINTMLE asks for the initial maximum likelihood estimates, which are always printed here (as in
        # SAS 9: "Analysis Of Initial Parameter Estimates")
        warn_ignored(self.s, o, ["v6corr", "intercept", "initial", "alpha"], "REPEATED")
        subj = o.nodes.get("subject", o.nodes.get("sub"))
        if subj is None:
            raise SasError("The REPEATED statement requires SUBJECT=.", r.line, r.col)
        from .modeling import subject_vars as _subject_vars
        subject_vars, _ = _subject_vars(self.ds, subj, r)       # id, id(center) or id*t; missing variables fail
        for v in subject_vars:
            if v not in class_names:
                raise SasError(f"The SUBJECT effect variable {v} must be a CLASS variable.", r.line, r.col)
        within = o.get("withinsubject", o.get("within"))
        if within is not None:
            within = self.ds.colname(str(within))
            if within not in class_names:
                raise SasError(f"The WITHINSUBJECT effect variable {within} must be a CLASS variable.", r.line, r.col)
        kind = o.get("type", o.get("corr", "ind"))
        mdep = None
        user = None
        if isinstance(kind, A.Group):
            if kind.name.lower() in ("ar",):
                kind = "ar"
            elif kind.name.lower() == "mdep":
                mdep = int(kind.items[0].value)
                kind = "mdep"
            elif kind.name.lower() in ("user", "fixed"):
                user = [float(x.value) for x in kind.items if isinstance(x, A.Word) and x.kind == "number"]
                kind = "user"
            else:
                raise SasError(f"TYPE={kind.name.upper()} is not supported.", r.line, r.col)
        kind = str(kind).lower()
        if kind not in ("ind", "indep", "independent", "exch", "cs", "ar", "ar1", "mdep", "un", "unstr", "user",
                        "fixed"):
            raise SasError(f"TYPE={kind.upper()} is not supported.", r.line, r.col)
        logor = o.get("logor")
        zspec = None
        if isinstance(logor, A.Group):
            if logor.name.lower() != "zrep":
                raise SasError(f"LOGOR={logor.name.upper()}(...) is not supported.", r.line, r.col)
            zspec = ("inline", logor.items)
            logor = "zrep"
        elif logor is not None:
            logor = str(logor).lower()
            if logor in ("zrep", "zfull"):
                if "zdata" not in o.nodes:
                    raise SasError(f"LOGOR={logor.upper()} without a matrix needs ZDATA=.", r.line, r.col)
                zspec = ("zdata", o.nodes["zdata"], o.nodes.get("ypair"), o.nodes.get("zrow"))
            elif logor not in ("exch", "fullclust", "nest1", "nestk"):
                raise SasError(f"LOGOR={logor.upper()} is not supported (EXCH, FULLCLUST, NEST1, NESTK, ZFULL and "
                               "ZREP are).", r.line, r.col)
        subclust = o.get("subclust", o.get("subcluster"))
        if subclust is not None:
            subclust = self.ds.colname(str(subclust)) or str(subclust)
            if self.ds.colname(subclust) is None:
                raise SasError(f"Variable {subclust.upper()} not found.", r.line, r.col)
        if logor in ("nest1", "nestk") and subclust is None:
            raise SasError(f"LOGOR={logor.upper()} requires the SUBCLUST= option.", r.line, r.col)
        if subclust is not None and logor not in ("nest1", "nestk"):
            self.s.log.warning("SUBCLUST= has an effect only with LOGOR=NEST1 or LOGOR=NESTK and was ignored.")
            subclust = None
        return {"subject_vars": subject_vars, "within": within, "kind": kind, "mdep": mdep, "user": user,
                "logor": logor, "zspec": zspec, "opts": o, "subclust": subclust, "subj_text": self._subject_text(subj)}

    def _zrows(self, zspec, labels, T):
        """ZREP pairs -> {(j, k): z} with 0-based positions (labels are the within-subject levels)."""
        def pos(v):
            return self._zpos(v, labels, T)
        rows = {}
        if zspec[0] == "inline":
            chunk = []
            chunks = []
            for it in zspec[1]:
                if isinstance(it, A.Word) and it.kind == "op" and it.value == ",":
                    chunks.append(chunk)
                    chunk = []
                else:
                    chunk.append(it)
            chunks.append(chunk)
            for ch in chunks:
                if not ch or not isinstance(ch[0], A.Group):
                    raise SasError("ZREP needs (j k) z1 z2 ... entries separated by commas.", self.repeated.line,
                                   self.repeated.col)
                pr = [float(x.value) for x in ch[0].items if isinstance(x, A.Word) and x.kind == "number"]
                z = []
                k = 1
                while k < len(ch):
                    w = ch[k]
                    if isinstance(w, A.Word) and w.kind == "op" and w.value == "-" and k + 1 < len(ch):
                        z.append(-float(ch[k + 1].value))
                        k += 2
                        continue
                    z.append(float(w.value))
                    k += 1
                rows[(pos(pr[0]), pos(pr[1]))] = z
        else:
            from .common import dsref_from_value
            zds = self.s.get_dataset(dsref_from_value(zspec[1]))
            names = lambda node: ([str(x.value) for x in node.items if isinstance(x, A.Word)]
                                  if isinstance(node, A.Group) else [str(node.value)] if node is not None else [])
            yp = names(zspec[2]) or [c for c in zds.columns[:2]]
            zr = names(zspec[3]) or [c for c in zds.columns[2:]]
            for rec in zds.df.itertuples(index=False):
                d = dict(zip(zds.columns, rec))
                rows[(pos(d[zds.colname(yp[0])]), pos(d[zds.colname(yp[1])]))] = [float(d[zds.colname(c)]) for c in zr]
        return rows

    def _zfull(self, rep, cluster_keys, nsubj, labels, T):
        """LOGOR=ZFULL: one Z row per pair of every cluster, read from ZDATA=. Rows are matched to clusters by
        the SUBJECT= variables when the data set has them, otherwise taken in cluster order; pairs by the
        YPAIR= variables when given, otherwise in the order (1,2), (1,3), ..., (T-1,T)."""
        from .common import dsref_from_value
        zspec_ = rep["zspec"]
        zds = self.s.get_dataset(dsref_from_value(zspec_[1]))
        names = lambda node: ([str(x.value) for x in node.items if isinstance(x, A.Word)]
                              if isinstance(node, A.Group) else [str(node.value)] if node is not None else [])
        yp = names(zspec_[2])
        zr = names(zspec_[3])
        subj = rep["subject_vars"]
        by_subject = all(zds.colname(v) is not None for v in subj)
        if not zr:
            skip = {v.upper() for v in yp + (subj if by_subject else [])}
            zr = [c for c in zds.columns if c.upper() not in skip]
        for c in yp + zr:
            if zds.colname(c) is None:
                raise SasError(f"Variable {c.upper()} not found in the ZDATA= data set.", self.repeated.line,
                               self.repeated.col)
        pairs = [(j, k) for j in range(T) for k in range(j + 1, T)]
        P, K = len(pairs), len(cluster_keys)
        Z = np.zeros((K, P, len(zr)))
        zmat = np.column_stack([zds.column(c).to_numpy().astype(float) for c in zr]) if zr else np.zeros((zds.nobs, 0))
        if np.isnan(zmat).any():
            raise SasError("The ZDATA= data set has missing values in its Z columns.", self.repeated.line,
                           self.repeated.col)
        index = {}
        for ci, key in enumerate(cluster_keys):
            index.setdefault(tuple(key[:nsubj]), []).append(ci)
        pos_of = {pr: n for n, pr in enumerate(pairs)}
        seen = np.zeros((K, P), dtype=bool)
        subj_cols = [zds.column(v).to_numpy() for v in subj] if by_subject else []
        pair_cols = [zds.column(c).to_numpy() for c in yp[:2]]
        for r in range(zds.nobs):
            if by_subject:
                clusters = index.get(tuple(c[r] for c in subj_cols), [])
            else:
                clusters = [r // P] if r // P < K else []
            if yp:
                a = self._zpos(pair_cols[0][r], labels, T)
                b = self._zpos(pair_cols[1][r], labels, T)
                pn = pos_of.get((min(a, b), max(a, b)))
            else:
                pn = r % P
            if pn is None:
                continue
            for ci in clusters:
                Z[ci, pn] = zmat[r]
                seen[ci, pn] = True
        if not seen.any(axis=1).all():
            raise SasError("The ZDATA= data set has no Z rows for some clusters (LOGOR=ZFULL needs a row for every "
                           "pair of every cluster).", self.repeated.line, self.repeated.col)
        return Z

    def _zpos(self, v, labels, T):
        txt = str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v)
        if labels and txt in labels:
            return labels.index(txt)
        if isinstance(v, float) and 1 <= v <= T:
            return int(v) - 1
        raise SasError(f"Z-matrix position {txt} is not a within-subject level.", self.repeated.line,
                       self.repeated.col)

    @staticmethod
    def _subject_text(subj):
        if isinstance(subj, A.Word):
            return str(subj.value)
        if isinstance(subj, A.Group):
            return f"{subj.name}({' '.join(str(x.value) for x in subj.items if isinstance(x, A.Word))})"
        return str(subj)

    # ------------------------------------------------------------------ tables
    def _model_info(self, dist, link):
        rows = [("Data Set", getattr(self.ds, "display_name", self.ref.display)),
                ("Distribution", DIST_NAMES.get(dist, dist)), ("Link Function", link.sas)]
        if self.resp_info is None or self.model.response[0] != "events":
            rows.append(("Dependent Variable", self.ds.colname(self.model.response[1])))
        else:
            rows.append(("Response Variable (Events)", self.ds.colname(self.model.response[1])))
            rows.append(("Response Variable (Trials)", self.ds.colname(self.model.response[2])))
        if dist in ("zip", "zinb"):
            rows.insert(3, ("Zero Inflation Link Function", self.zero_link.sas))
        if self.offset_var:
            rows.append(("Offset Variable", self.offset_var))
        if self.weight_freq.get("weight"):
            rows.append(("Scale Weight Variable", self.weight_freq["weight"]))
        if self.weight_freq.get("freq"):
            rows.append(("Frequency Variable", self.weight_freq["freq"]))
        self.emit(Table(PROC, "ModelInfo", "Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in rows], kind="kv"))

    def _response_profile(self, info):
        _, yname, labels, counts, _, event = info
        rows = [{"OrderedValue": i + 1, yname: lab, "Count": c} for i, (lab, c) in enumerate(zip(labels, counts))]
        self.emit(Table(PROC, "ResponseProfile", "Response Profile",
                        [Column("OrderedValue", "Ordered\nValue", "INT"), Column(yname), Column("Count", "Total\nFrequency",
                                                                                               "INT")], rows,
                        footnotes=[f"PROC GENMOD is modeling the probability that {yname}='{event}'."]))

    def _criteria(self, res: GL.GLMResult, dist):
        rows = []
        df = res.df_resid
        phi = res.phi if not isinstance(self.fam, NegBin) else 1.0
        sc_dev = res.deviance / phi
        sc_pear = res.pearson / phi
        for name, v in (("Deviance", res.deviance), ("Scaled Deviance", sc_dev), ("Pearson Chi-Square", res.pearson),
                        ("Scaled Pearson X2", sc_pear)):
            rows.append({"Criterion": name, "DF": df, "Value": v, "ValueDF": v / df if df > 0 else math.nan})
        rows.append({"Criterion": "Log Likelihood", "DF": None, "Value": res.loglik, "ValueDF": None})
        rows.append({"Criterion": "Full Log Likelihood", "DF": None, "Value": res.loglik_full, "ValueDF": None})
        k, n = res.n_params, res.n
        aic = -2 * res.loglik_full + 2 * k
        aicc = aic + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.nan
        bic = -2 * res.loglik_full + k * math.log(n)
        rows += [{"Criterion": "AIC (smaller is better)", "DF": None, "Value": aic, "ValueDF": None},
                 {"Criterion": "AICC (smaller is better)", "DF": None, "Value": aicc, "ValueDF": None},
                 {"Criterion": "BIC (smaller is better)", "DF": None, "Value": bic, "ValueDF": None}]
        self.emit(Table(PROC, "ModelFit", "Criteria For Assessing Goodness Of Fit",
                        [Column("Criterion"), Column("DF", None, "INT"), Column("Value", None, "12.4"),
                         Column("ValueDF", "Value/DF", "10.4")], rows))

    def _labels(self, j, design=None):
        design = design or self.design
        c = design.columns[j]
        nlev = max((len(cc.levels) for cc in design.columns), default=0)
        out = {"Parameter": c.effect, **{f"Level{i}": "" for i in range(1, nlev + 1)}}
        for i, (v, lab) in enumerate(c.levels.items(), 1):
            out[f"Level{i}"] = lab
        return out

    def _level_cols(self, design=None):
        nlev = max((len(c.levels) for c in (design or self.design).columns), default=0)
        return [Column(f"Level{i}", "") for i in range(1, nlev + 1)]

    def _param_table(self, res: GL.GLMResult, title, scale_opt, initial: bool):
        z = st.norm.ppf(0.975)
        lrci = self.mopts.has("lrci") and not initial and not isinstance(self.fam, NegBin)
        if self.mopts.has("lrci") and not lrci:
            self.s.log.warning("MODEL LRCI is ignored " + ("with REPEATED (GEE has no likelihood)." if initial else
                                                            "with DIST=NEGBIN (not supported yet)."))
        rows = []
        for j in range(len(res.beta)):
            r = self._labels(j)
            if res.aliased[j]:
                r.update({"DF": 0, "Estimate": 0.0, "StdErr": 0.0, "LowerWaldCL": 0.0, "UpperWaldCL": 0.0,
                          "WaldChiSq": None, "ProbChiSq": None})
            else:
                b, se = res.beta[j], math.sqrt(max(res.cov[j, j], 0.0))
                chi = (b / se) ** 2 if se > 0 else math.nan
                r.update({"DF": 1, "Estimate": b, "StdErr": se, "LowerWaldCL": b - z * se, "UpperWaldCL": b + z * se,
                          "WaldChiSq": chi, "ProbChiSq": st.chi2.sf(chi, 1)})
                if lrci:
                    r["LowerLRCL"], r["UpperLRCL"] = self._profile_ci(res, j, scale_opt)
            rows.append(r)
        foot = []
        fam = self.fam
        if isinstance(fam, NegBin):
            k, se = res.scale, res.scale_se
            rows.append({"Parameter": "Dispersion", "DF": 1, "Estimate": k, "StdErr": se,
                         "LowerWaldCL": k * math.exp(-z * se / k) if se else None,
                         "UpperWaldCL": k * math.exp(z * se / k) if se else None, "WaldChiSq": None,
                         "ProbChiSq": None})
            foot.append("The negative binomial dispersion parameter was estimated by maximum likelihood.")
        else:
            sname = "Scale"
            if res.scale_method == "mle":
                s, se = res.scale, res.scale_se
                lo = s * math.exp(-z * se / s) if se else None
                hi = s * math.exp(z * se / s) if se else None
                rows.append({"Parameter": sname, "DF": 1, "Estimate": s, "StdErr": se, "LowerWaldCL": lo,
                             "UpperWaldCL": hi, "WaldChiSq": None, "ProbChiSq": None})
                if self.fam.name == "normal":
                    foot.append("The scale parameter was estimated by maximum likelihood.")
            else:
                s = res.scale
                rows.append({"Parameter": sname, "DF": 0, "Estimate": s, "StdErr": 0.0, "LowerWaldCL": s,
                             "UpperWaldCL": s, "WaldChiSq": None, "ProbChiSq": None})
                if res.scale_method == "fixed":
                    foot.append("The scale parameter was held fixed.")
                elif res.scale_method == "pearson":
                    foot.append("The scale parameter was estimated by the square root of Pearson's Chi-Square/DOF.")
                elif res.scale_method == "deviance":
                    foot.append("The scale parameter was estimated by the square root of DEVIANCE/DOF.")
        blank = {c.name: "" for c in self._level_cols()}
        rows = [{**blank, **r} for r in rows]
        if lrci:
            for r in rows:
                if r["Parameter"] in ("Scale",) and "LowerLRCL" not in r:
                    lo, hi = (self._scale_profile_ci(res) if res.scale_method == "mle" else (r["Estimate"],) * 2)
                    r["LowerLRCL"], r["UpperLRCL"] = lo, hi
                elif "LowerLRCL" not in r:
                    r["LowerLRCL"] = r["UpperLRCL"] = r["LowerWaldCL"]
                del r["LowerWaldCL"], r["UpperWaldCL"]
            cl = [Column("LowerLRCL", "Likelihood Ratio 95%\nLower", "10.4"),
                  Column("UpperLRCL", "Confidence Limits\nUpper", "10.4")]
        else:
            cl = [Column("LowerWaldCL", "Wald 95%\nLower", "10.4"),
                  Column("UpperWaldCL", "Confidence Limits\nUpper", "10.4")]
        cols = [Column("Parameter")] + self._level_cols() + [
            Column("DF", None, "INT"), Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4")] + \
            cl + [Column("WaldChiSq", "Wald\nChi-Square", "10.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
        self.emit(Table(PROC, "ParameterEstimates", title, cols, rows, footnotes=foot))

    # ------------------------------------------------------------------ profile likelihood, matrices, Type 1
    def _profile_ll(self, res, j, b, scale_opt):
        """Log likelihood maximised over the other parameters with beta_j fixed at b (divided by the
        fitted dispersion when the scale comes from Pearson/deviance or SCALE=, as in the LR tests)."""
        keep = ~self.design.aliased
        keep_r = keep.copy()
        keep_r[j] = False
        Xr = self.design.X[:, keep_r]
        red = GL.fit(Xr, self.y, self.w, self.offset + b * self.design.X[:, j], self.fam, self.link,
                     np.zeros(Xr.shape[1], dtype=bool), scale_opt)
        div = res.phi if res.scale_method in ("pearson", "deviance", "user") else 1.0
        return red.loglik_full / div

    def _profile_ci(self, res, j, scale_opt, alpha=0.05):
        """SAS's profile-likelihood limits: the b where 2 (l_max - l_p(b)) equals the chi-square quantile."""
        from scipy import optimize as _opt
        div = res.phi if res.scale_method in ("pearson", "deviance", "user") else 1.0
        lmax = res.loglik_full / div
        q = st.chi2.ppf(1 - alpha, 1)
        bhat = res.beta[j]
        se = math.sqrt(max(res.cov[j, j], 1e-300))

        def f(b):
            try:
                return 2 * (lmax - self._profile_ll(res, j, b, scale_opt)) - q
            except (GL.FitError, np.linalg.LinAlgError, FloatingPointError, ValueError):
                return math.inf
        out = []
        for sign in (-1, 1):
            step, a = se, bhat
            found = None
            for _ in range(40):
                bnd = bhat + sign * step
                fv = f(bnd)
                if fv > 0:
                    found = bnd
                    break
                a = bnd
                step *= 1.6
            if found is None:
                out.append(None)
                continue
            lo_, hi_ = sorted((a, found))
            try:
                out.append(_opt.brentq(f, lo_, hi_, xtol=1e-10, rtol=1e-12))
            except ValueError:
                out.append(None)
        return out[0], out[1]

    def _scale_profile_ci(self, res, alpha=0.05):
        """Profile limits for the ML scale: the regression MLE does not depend on the dispersion, so the
        profile is the full log likelihood at the fitted means as a function of the scale."""
        from scipy import optimize as _opt
        fam, mu = self.fam, self.link.inv(self.design.X @ res.beta + self.offset)
        q = st.chi2.ppf(1 - alpha, 1)
        gamma_like = fam.name == "gamma"
        to_phi = (lambda sc: 1.0 / sc) if gamma_like else (lambda sc: sc * sc)
        lmax = fam.loglik_full(self.y, mu, self.w, to_phi(res.scale))
        f = lambda ls: 2 * (lmax - fam.loglik_full(self.y, mu, self.w, to_phi(math.exp(ls)))) - q
        l0 = math.log(res.scale)
        out = []
        for sign in (-1, 1):
            step = 0.1
            while f(l0 + sign * step) < 0 and step < 50:
                step *= 2
            out.append(math.exp(_opt.brentq(f, *sorted((l0, l0 + sign * step)), xtol=1e-12)))
        return out[0], out[1]

    def _parm_info(self):
        rows = []
        for j, c in enumerate(self.design.columns):
            r = {"Parameter": f"Prm{j + 1}", "Effect": c.effect}
            r.update({v: lab for v, lab in c.levels.items()})
            rows.append(r)
        used = [co.name for co in self.copts if any(co.name in c.levels for c in self.design.columns)]
        self.emit(Table(PROC, "ParmInfo", "Parameter Information",
                        [Column("Parameter"), Column("Effect")] + [Column(v) for v in used],
                        [{**{v: "" for v in used}, **r} for r in rows]))

    def _matrix_table(self, name, title, M, labels, corr=False):
        if corr:
            d = np.sqrt(np.maximum(np.diag(M), 1e-300))
            M = M / d[:, None] / d[None, :]
        rows = [{"RowName": lab, **{labels[k]: float(M[i, k]) for k in range(len(labels))}}
                for i, lab in enumerate(labels)]
        cols = [Column("RowName", "")] + [Column(lab, None, "10.4" if corr else "BEST8.") for lab in labels]
        self.emit(Table(PROC, name, title, cols, rows))

    def _glm_cov_tables(self, res):
        keep = np.nonzero(~self.design.aliased)[0]
        labels = [f"Prm{j + 1}" for j in keep]
        M = res.cov[np.ix_(keep, keep)]
        if res.scale_method == "mle" and not self.fam.fixed_scale and not isinstance(self.fam, NegBin) \
                and res.scale_se:
            # the scale is estimated by ML jointly; it is uncorrelated with the regression parameters
            M = np.block([[M, np.zeros((len(keep), 1))], [np.zeros((1, len(keep))), np.array([[res.scale_se ** 2]])]])
            labels = labels + ["Scale"]
        if self.mopts.has("covb"):
            self._matrix_table("CovB", "Estimated Covariance Matrix", M, labels)
        if self.mopts.has("corrb"):
            self._matrix_table("CorrB", "Estimated Correlation Matrix", M, labels, corr=True)

    def _type1_glm(self, res, scale_opt):
        """LR Statistics For Type 1 Analysis: the effects added one at a time in model order."""
        keep = ~self.design.aliased
        eoc = np.array(self.design.effect_of_col)
        div = res.phi if res.scale_method in ("pearson", "deviance", "user") else 1.0
        fstats = self._f_stats(res)
        rows = []
        prev = None
        steps = ([("Intercept", -1)] if self.design.intercept else []) + \
            [(e.name, k) for k, e in enumerate(self.design.effects)]
        for name, k in steps:
            cols = keep & (eoc <= k)
            if k == len(self.design.effects) - 1:
                fit = res
            else:
                fit = GL.fit(self.design.X[:, cols], self.y, self.w, self.offset, self.fam, self.link,
                             np.zeros(int(cols.sum()), dtype=bool), scale_opt)
            rank = int(cols.sum())
            row = {"Source": name, "Deviance": fit.deviance, "DF": None, "ChiSq": None, "ProbChiSq": None}
            if prev is not None:
                df = rank - prev[1]
                if fstats:
                    chi = max((prev[0].deviance - fit.deviance) / res.phi, 0.0)
                    row.update(self._f_cols(res, chi, df))
                else:
                    chi = max(2 * (fit.loglik_full - prev[0].loglik_full) / div, 0.0)
                    row["DF"] = df
                row.update({"ChiSq": chi, "ProbChiSq": st.chi2.sf(chi, df) if df else None})
            rows.append(row)
            prev = (fit, rank)
        if fstats:
            for row in rows:
                row.pop("DF", None)
        self.emit(Table(PROC, "Type1", "LR Statistics For Type 1 Analysis",
                        [Column("Source"), Column("Deviance", None, "10.4")] +
                        (self.F_COLUMNS if fstats else [Column("DF", None, "INT")]) +
                        [Column("ChiSq", "Chi-\nSquare", "10.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")],
                        rows))

    def _type3_glm(self, res: GL.GLMResult, scale_opt):
        wald = self.mopts.has("wald")
        fstats = self._f_stats(res)
        rows = []
        for k, eff in enumerate(self.design.effects):
            L = GL.type3_L(self.design, k)
            if wald:
                chi, df = GL.wald_test(L, res.beta, res.cov)
                rows.append({"Source": eff.name, "DF": df, "ChiSq": chi, "ProbChiSq": st.chi2.sf(chi, df) if df else None})
            else:
                chi, df = self._lr_test(L, res, scale_opt)
                row = self._f_cols(res, chi, df) if fstats else {"DF": df}
                rows.append({"Source": eff.name, **row, "ChiSq": chi,
                             "ProbChiSq": st.chi2.sf(chi, df) if df else None})
        title = "Wald Statistics For Type 3 Analysis" if wald else "LR Statistics For Type 3 Analysis"
        cols = [Column("Source")] + (self.F_COLUMNS if fstats and not wald else [Column("DF", None, "INT")]) + \
            [Column("ChiSq", "Wald\nChi-Square" if wald else "Chi-\nSquare", "10.2"),
             Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
        self.emit(Table(PROC, "Type3", title, cols, rows))

    @staticmethod
    def _f_stats(res) -> bool:
        """SAS adds F statistics, (D1 - D0) / (r phi), to the LR tests when the dispersion is estimated by
        the deviance or Pearson chi-square over its DF (DSCALE / PSCALE)."""
        return getattr(res, "scale_method", None) in ("pearson", "deviance")

    @staticmethod
    def _f_cols(res, chi, df) -> dict:
        f = chi / df if df else None
        return {"NumDF": df, "DenDF": res.df_resid, "FValue": f,
                "ProbF": st.f.sf(f, df, res.df_resid) if df and res.df_resid > 0 else None}

    F_COLUMNS = [Column("NumDF", "Num DF", "INT"), Column("DenDF", "Den DF", "INT"), Column("FValue", "F Value", "8.2"),
                 Column("ProbF", "Pr > F", "PVALUE6.4")]

    def _lr_test(self, L, res, scale_opt):
        keep = ~self.design.aliased
        Lk = L[:, keep]
        U, s, Vt = np.linalg.svd(Lk)
        r = int((s > 1e-10 * (s.max() if s.size else 1)).sum())
        if r == 0:
            return 0.0, 0
        Nm = Vt[r:].T
        Xr = self.design.X[:, keep] @ Nm
        alias = np.zeros(Xr.shape[1], dtype=bool)
        red = GL.fit(Xr, self.y, self.w, self.offset, self.fam, self.link, alias, scale_opt)
        if self._f_stats(res):
            return max((red.deviance - res.deviance) / res.phi, 0.0), r
        if self.fam.fixed_scale or isinstance(self.fam, NegBin):
            chi = 2 * (res.loglik_full - red.loglik_full) / (res.phi if res.scale_method in ("pearson", "deviance",
                                                                                              "user") else 1)
        else:
            chi = 2 * (res.loglik_full - red.loglik_full)
        return max(chi, 0.0), r

    # ------------------------------------------------------------------ GEE / ALR
    def _gee(self, rep, glmres):
        ds, used = self.ds, self.rows
        subj_cols = rep["subject_vars"]
        cols = [ds.column(v).to_numpy()[used] for v in subj_cols]
        if self.freq is not None:
            # frequencies apply to whole clusters (SAS): copy k of every row goes to replicate cluster k
            f = self.freq
            base = list(zip(*[c[np.cumsum(f) - f] for c in cols]))
            bcodes = pd.factorize(pd.Series(base, dtype=object), sort=False)[0]
            if np.any(pd.Series(f).groupby(bcodes).nunique().to_numpy() > 1):
                raise SasError("The FREQ variable must have the same value for all observations of a subject "
                               "(cluster).", self.repeated.line, self.repeated.col)
            cols.append(np.arange(len(used)) - np.repeat(np.cumsum(f) - f, f))
        keys = list(zip(*cols))
        codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=False)
        within = rep["within"]
        if within is not None:
            cv = self.classes[within]
            pos = cv.codes(ds.column(within).to_numpy()[used])
            T = len(cv.levels)
            within_labels = cv.labels
        else:
            pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
            T = int(pos.max()) + 1
            within_labels = None
        try:
            layout = G.Layout.make(codes, pos, T)
        except ValueError:
            raise SasError("A within-subject position occurs more than once within a cluster; specify a "
                           "WITHINSUBJECT= effect that identifies the repeated measurements.",
                           self.repeated.line, self.repeated.col)
        keep = ~self.design.aliased
        Xk = self.design.X[:, keep]
        data = G.GEEData(Xk, self.y, self.w, self.offset, self.fam, self.link, layout)
        self.gee_data = data
        o = rep["opts"]
        maxit = positive_option(o, "maxiter", positive_option(o, "maxit", 50, self.model, True), self.model, True)
        beta0 = glmres.beta[keep]
        logor = rep["logor"]
        rows = [("Correlation Structure", "Unstructured" if False else None)]
        if logor:
            if not isinstance(self.fam, Binomial) or self.resp_info[0] != "binary":
                raise SasError("LOGOR= (alternating logistic regressions) requires a binary response.",
                               self.repeated.line, self.repeated.col)
            self._lor_groups = None
            if logor in ("nest1", "nestk"):
                sv = ds.column(rep["subclust"]).to_numpy()[used]
                scodes, slev = pd.factorize(pd.Series(sv, dtype=object), sort=True)
                sub = layout.grid(scodes.astype(float), fill=-1.0)
                Zk = G.subcluster_Z(sub, layout.present, [(j, k) for j in range(T) for k in range(j + 1, T)],
                                    logor == "nestk", len(slev))
                lo = G.LogOR(T, "percluster", Zk=Zk)
                lab = [str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v) for v in slev]
                self._lor_groups = (["Different Subclusters", "Same Subcluster"] if logor == "nest1" else
                                    ["Different Subclusters"] + [f"Subcluster {v}" for v in lab])
            elif logor == "zfull":
                lo = G.LogOR(T, "percluster", Zk=self._zfull(rep, uniq, len(subj_cols), within_labels, T))
            else:
                zrows = self._zrows(rep["zspec"], within_labels, T) if logor == "zrep" else None
                lo = G.LogOR(T, logor, zrows)
            self._logor_model = lo
            res = G.alr_fit(data, lo, beta0, maxiter=max(maxit, 100))
            info = [("Log Odds Ratio Structure", {"fullclust": "Fully Parameterized Clusters", "exch": "Exchangeable",
                                                  "zrep": "Replicated Z Matrix", "zfull": "Full Z Matrix",
                                                  "nest1": "1-Nested", "nestk": "k-Nested"}[logor])]
        else:
            corr = G.make_corr(rep["kind"], T, rep["mdep"], _user_matrix(rep["user"], T))
            res = G.gee_fit(data, corr, beta0, maxiter=maxit, tol=positive_option(o, "converge", 1e-4, self.model),
                            fixed_corr=isinstance(corr, (G.Independent, G.Fixed)))
            info = [("Correlation Structure", corr.sas)]
        if within is not None:
            info.append(("Within-Subject Effect", f"{within} ({T} levels)"))
        info.append(("Subject Effect", f"{rep['subj_text']} ({layout.K} levels)"))
        info += [("Number of Clusters", layout.K), ("Correlation Matrix Dimension", T),
                 ("Maximum Cluster Size", int(layout.sizes.max())), ("Minimum Cluster Size", int(layout.sizes.min()))]
        self.emit(Table(PROC, "GEEModInfo", "GEE Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in info], kind="kv"))
        if logor:
            pairs = self._logor_model.pairs
            lab = within_labels or [str(i + 1) for i in range(T)]
            if logor == "fullclust":
                prow = [{"Parameter": f"Alpha{i + 1}", "Group": f"({lab[a]}, {lab[b]})"} for i, (a, b) in enumerate(pairs)]
                self.emit(Table(PROC, "LORInfo", "Log Odds Ratio Parameter Information",
                                [Column("Parameter"), Column("Group")], prow))
            elif logor == "exch":
                self.emit(Table(PROC, "LORInfo", "Log Odds Ratio Parameter Information",
                                [Column("Parameter"), Column("Group")], [{"Parameter": "Alpha1", "Group": "Exchangeable"}]))
            elif self._lor_groups:
                self.emit(Table(PROC, "LORInfo", "Log Odds Ratio Parameter Information",
                                [Column("Parameter"), Column("Group")],
                                [{"Parameter": f"Alpha{i + 1}", "Group": g} for i, g in enumerate(self._lor_groups)]))
        if res.converged:
            self.s.log.note("Algorithm converged.")
        else:
            self.s.log.warning("Iteration limit exceeded; the GEE algorithm did not converge.")
        self.emit(Table(PROC, "GEEConvergenceStatus", "", [Column("Status", "")],
                        [{"Status": "Algorithm converged." if res.converged else
                          "WARNING: Iteration limit exceeded."}], kind="kv"))
        if not logor:
            if o.has("corrw"):
                R = res.R
                lab = [f"Col{j + 1}" for j in range(T)]
                rows = [{"Row": f"Row{i + 1}", **{lab[j]: R[i, j] for j in range(T)}} for i in range(T)]
                self.emit(Table(PROC, "GEEWCorr", "Working Correlation Matrix",
                                [Column("Row", "")] + [Column(c, c, "10.4") for c in lab], rows))
            if isinstance(res.corr, G.Exchangeable):
                self.emit(Table(PROC, "GEEExchCorr", "Exchangeable Working Correlation",
                                [Column("Label", ""), Column("Correlation", None, "12.10")],
                                [{"Label": "Correlation", "Correlation": res.corr.alpha}], kind="kv"))
        self.emit(Table(PROC, "GEEFitCriteria", "GEE Fit Criteria", [Column("Criterion", ""), Column("Value", "", "12.4")],
                        [{"Criterion": "QIC", "Value": res.qic}, {"Criterion": "QICu", "Value": res.qicu}], kind="kv"))
        p = len(self.design.columns)
        beta = np.zeros(p)
        beta[keep] = res.beta
        cov_e = np.zeros((p, p))
        cov_e[np.ix_(keep, keep)] = res.cov_emp
        cov_m = np.zeros((p, p))
        cov_m[np.ix_(keep, keep)] = res.cov_model
        labels = [f"Prm{j + 1}" for j in np.nonzero(keep)[0]]
        for opt_m, opt_c, M, tag, nm in (("mcovb", "mcorrb", res.cov_model, "Model-Based", "N"),
                                         ("ecovb", "ecorrb", res.cov_emp, "Empirical", "R")):
            if o.has(opt_m) or o.has("covb"):
                self._matrix_table(f"GEE{nm}Cov", f"Covariance Matrix ({tag})", M, labels)
            if o.has(opt_c) or o.has("corrb"):
                self._matrix_table(f"GEE{nm}Corr", f"Correlation Matrix ({tag})", M, labels, corr=True)
        self._gee_param_table(beta, cov_e, "GEEEmpPEst", "Empirical Standard Error Estimates", res if logor else None)
        if o.has("modelse"):
            self._gee_param_table(beta, cov_m, "GEEModPEst", "Model-Based Standard Error Estimates", None,
                                  scale_row=res.phi if not self.fam.fixed_scale else 1.0)
        if self.mopts.has("type3"):
            self._type3_gee(beta, cov_e, data, res, logor, keep)
        self.gee_res = res
        return ("gee", beta, cov_e)

    def _gee_param_table(self, beta, cov, name, subtitle, alr, scale_row=None):
        z = st.norm.ppf(0.975)
        rows = []
        for j in range(len(beta)):
            r = self._labels(j)
            r = {"Parm": r.pop("Parameter"), **r}
            if self.design.aliased[j]:
                r.update({"Estimate": 0.0, "StdErr": 0.0, "LowerCL": 0.0, "UpperCL": 0.0, "Z": None, "ProbZ": None})
            else:
                b, se = beta[j], math.sqrt(max(cov[j, j], 0.0))
                zz = b / se if se > 0 else math.nan
                r.update({"Estimate": b, "StdErr": se, "LowerCL": b - z * se, "UpperCL": b + z * se, "Z": zz,
                          "ProbZ": 2 * st.norm.sf(abs(zz))})
            rows.append(r)
        if alr is not None:
            for i, (a, v) in enumerate(zip(alr.alpha, np.diag(alr.alpha_cov))):
                se = math.sqrt(max(v, 0.0))
                zz = a / se
                rows.append({"Parm": f"Alpha{i + 1}", **{c.name: "" for c in self._level_cols()}, "Estimate": a, "StdErr": se, "LowerCL": a - z * se,
                             "UpperCL": a + z * se, "Z": zz, "ProbZ": 2 * st.norm.sf(abs(zz))})
        if scale_row is not None:
            rows.append({"Parm": "Scale", "Estimate": math.sqrt(scale_row), "StdErr": None, "LowerCL": None,
                         "UpperCL": None, "Z": None, "ProbZ": None})
        cols = [Column("Parm", "Parameter")] + self._level_cols() + [
            Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4"),
            Column("LowerCL", "95% Confidence\nLower", "10.4"), Column("UpperCL", "Limits\nUpper", "10.4"),
            Column("Z", "Z", "8.2"), Column("ProbZ", "Pr > |Z|", "PVALUE6.4")]
        t = Table(PROC, name, "Analysis Of GEE Parameter Estimates", cols, rows, subtitle=subtitle)
        self.emit(t)

    def _type3_gee(self, beta, cov, data, res, logor, keep):
        wald = self.mopts.has("wald")
        rows = []
        for k, eff in enumerate(self.design.effects):
            L = GL.type3_L(self.design, k)
            if wald:
                chi, df = GL.wald_test(L, beta, cov)
            else:
                if logor:
                    raise SasError("Score statistics for Type 3 analysis with LOGOR= are not supported yet; "
                                   "add the WALD option.", self.model.line, self.model.col)
                chi, df = G.score_test(data, res.corr.__class__(data.L.T) if not isinstance(res.corr, G.MDep)
                                       else G.MDep(data.L.T, res.corr.m), beta[keep], L[:, keep])
            rows.append({"Source": eff.name, "DF": df, "ChiSq": chi, "ProbChiSq": st.chi2.sf(chi, df) if df else None})
        title = "Wald Statistics For Type 3 GEE Analysis" if wald else "Score Statistics For Type 3 GEE Analysis"
        cols = [Column("Source"), Column("DF", None, "INT"), Column("ChiSq", "Chi-\nSquare", "10.2"),
                Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
        self.emit(Table(PROC, "GEEType3" if not wald else "GEEType3", title, cols, rows))

    def repeated_kind(self):
        return "ind"

    # ------------------------------------------------------------------ multinomial (cumulative links)
    def _run_multinomial(self):
        from ..stats import ordinal as O
        s, ds, model, mopts = self.s, self.ds, self.model, self.mopts
        resp = model.response
        if resp[0] != "var":
            raise SasError("DIST=MULTINOMIAL needs a single response variable.", model.line, model.col)
        link_name = str(mopts.get("link", mopts.get("l", "cumlogit"))).lower()
        link_name = {"clogit": "cumlogit", "cprobit": "cumprobit", "ccll": "cumcll", "cumcloglog": "cumcll"}.get(
            link_name, link_name)
        if link_name not in ("cumlogit", "cumprobit", "cumcll"):
            raise SasError(f"LINK={link_name.upper()} is not available with DIST=MULTINOMIAL (CUMLOGIT, CUMPROBIT, "
                           "CUMCLL are).", model.line, model.col)
        # statements that only add output are skipped with a WARNING (SAS documents LSMEANS as not available for
        # ordinal multinomial models); options that would change the fit are an ERROR
        skipped = [kw.upper() for kw, _ in getattr(self, "hyps", [])]
        skipped += [n for n, st_ in (("OUTPUT", self.output_stmt), ("STORE", self.store_stmt)) if st_]
        for name in dict.fromkeys(skipped):
            s.log.warning(f"The {name} statement is not supported yet with DIST=MULTINOMIAL and was ignored.")
        bad = [f"MODEL {o.upper()}" for o in ("offset", "noint", "type1", "lrci", "obstats", "covb", "corrb", "wald",
                                                "scale", "pscale", "dscale", "noscale", "cl", "aggregate")
                if mopts.has(o)]
        if self.repeated is not None:
            ropts = Options(self.repeated.options, REPEATED_OPTS, "REPEATED")
            bad += [f"REPEATED {o.upper()}" for o in sorted(ropts.flags | set(ropts.values))
                    if o not in ("subject", "sub", "type", "corr", "modelse", "logor", "maxiter", "maxit", "converge",
                                 "printmle")]
            if mopts.has("type3"):
                bad.append("MODEL TYPE3 with REPEATED")
        if bad:
            raise SasError("Not supported yet with DIST=MULTINOMIAL: " + ", ".join(bad) + ".", model.line, model.col)
        link = O.CumLink(link_name)
        copts, cglob = parse_class(self.class_stmt, ds, {"param", "ref", "order", "descending", "desc",
                                                          "truncate"}) \
            if self.class_stmt else ([], {})
        class_names = {c.name for c in copts}
        self.especs = especs = EF.parse_effects(self.effect_stmts, ds, class_names)
        effects = parse_model_effects(model, ds, class_names, especs)
        yname = ds.colname(resp[1])
        if yname is None:
            raise SasError(f"Variable {resp[1].upper()} not found.", model.line, model.col)
        rep = self._repeated_spec(class_names) if self.repeated is not None else None
        needed = set(class_names) | {yname} | EF.data_vars(effects, especs)
        if rep:
            needed |= set(rep["subject_vars"]) | ({rep["within"]} if rep["within"] else set())
        used = complete_cases(ds, needed, model.line, model.col)
        n = int(used.sum())
        classes = make_classvars(ds, used, copts, cglob, s, "formatted", "glm")
        self.classes = classes
        data = {v: (ds.column(v).to_numpy()[used] if v in class_names else ds.column(v).to_numpy()[used].astype(float))
                for v in needed}
        # aliasing is decided with an intercept column (the cutpoints play its role), which is then dropped
        self.constructed = EF.bind(especs, data, {v.lower() for e in effects for v in e.factors})
        for t in EF.knot_tables(PROC, self.constructed, especs):
            self.emit(t)
        design = D.build(data, classes, effects, intercept=True, constructed=self.constructed)
        raw = ds.column(yname).to_numpy()[used]
        fmt = np.asarray(formatted(ds, yname, s), dtype=object)[used]
        desc = self.popts.has("descending") or self.popts.has("desc") or self.popts.has("descend")
        for o in resp[2] or []:
            if isinstance(o, A.Word) and str(o.value).lower() in ("descending", "desc"):
                desc = not desc
        levels, labels, alias = D.order_levels_grouped(list(raw), list(fmt),
                                                       str(self.popts.get("rorder", "formatted")).lower(), desc)
        k = len(levels)
        if k < 2:
            raise SasError(f"The response {yname} has only one level.", model.line, model.col)
        y = D.ClassVar(yname, levels, labels, alias=alias).codes(raw).astype(int)
        counts = np.bincount(y, minlength=k)
        keep = ~design.aliased
        keep[0] = False
        Xk = design.X[:, keep]
        w = np.ones(n)
        off = np.zeros(n)
        res = O.fit(Xk, y, w, off, k, link)
        self.design, self.classes, self.effects, self.link = design, classes, effects, link
        # tables
        rows = [("Data Set", getattr(ds, "display_name", self.ref.display)), ("Distribution", "Multinomial"),
                ("Link Function", link.sas), ("Dependent Variable", yname)]
        self.emit(Table(PROC, "ModelInfo", "Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in rows], kind="kv"))
        if copts:
            self.emit(class_level_table(PROC, classes, copts))
        self.emit(nobs_table(PROC, ds.nobs, n))
        self.emit(Table(PROC, "ResponseProfile", "Response Profile",
                        [Column("OrderedValue", "Ordered\nValue", "INT"), Column(yname), Column("Count", "Total\nFrequency", "INT")],
                        [{"OrderedValue": i + 1, yname: lab, "Count": int(c)} for i, (lab, c) in enumerate(zip(labels, counts))],
                        footnotes=[f"PROC GENMOD is modeling the probabilities of levels of {yname} having LOWER Ordered "
                                   "Values in the response profile table."]))
        npar = (k - 1) + Xk.shape[1]
        ll = res.loglik
        crit = [("Log Likelihood", ll), ("Full Log Likelihood", ll), ("AIC (smaller is better)", -2 * ll + 2 * npar),
                ("AICC (smaller is better)", -2 * ll + 2 * npar * n / (n - npar - 1) if n - npar - 1 > 0 else math.nan),
                ("BIC (smaller is better)", -2 * ll + npar * math.log(n))]
        self.emit(Table(PROC, "ModelFit", "Criteria For Assessing Goodness Of Fit",
                        [Column("Criterion"), Column("DF", None, "INT"), Column("Value", None, "12.4"),
                         Column("ValueDF", "Value/DF", "10.4")],
                        [{"Criterion": a, "DF": None, "Value": b, "ValueDF": None} for a, b in crit]))
        if self.variant != "GEE" or not res.converged:
            s.log.note("Algorithm converged." if res.converged else "The maximum number of iterations was reached.")
        z = st.norm.ppf(0.975)
        m = k - 1
        cols_full = list(range(1, design.X.shape[1]))
        kidx = np.cumsum(keep) - 1

        def ptable(cov, name, title, subtitle, gee):
            prow = []
            nlev = max((len(c.levels) for c in design.columns), default=0)
            blank = {f"Level{i}": "" for i in range(1, nlev + 1)}
            for j in range(m):
                b, se = res.theta[j], math.sqrt(max(cov[j, j], 0.0))
                prow.append(self._prow(f"Intercept{j + 1}", blank, b, se, z, gee))
            for c in cols_full:
                col = design.columns[c]
                lv = dict(blank)
                for i, (v, lab) in enumerate(col.levels.items(), 1):
                    lv[f"Level{i}"] = lab
                if design.aliased[c]:
                    prow.append(self._prow(col.effect, lv, 0.0, 0.0, z, gee, aliased=True))
                else:
                    jj = m + kidx[c]
                    prow.append(self._prow(col.effect, lv, res.theta[jj], math.sqrt(max(cov[jj, jj], 0.0)), z, gee))
            if not gee:
                prow.append({"Parameter": "Scale", **blank, "DF": 0, "Estimate": 1.0, "StdErr": 0.0,
                             "LowerWaldCL": 1.0, "UpperWaldCL": 1.0, "WaldChiSq": None, "ProbChiSq": None})
            if gee:
                cols = [Column("Parm", "Parameter")] + self._level_cols() + [
                    Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4"),
                    Column("LowerCL", "95% Confidence\nLower", "10.4"), Column("UpperCL", "Limits\nUpper", "10.4"),
                    Column("Z", "Z", "8.2"), Column("ProbZ", "Pr > |Z|", "PVALUE6.4")]
            else:
                cols = [Column("Parameter")] + self._level_cols() + [
                    Column("DF", None, "INT"), Column("Estimate", None, "10.4"),
                    Column("StdErr", "Standard\nError", "10.4"), Column("LowerWaldCL", "Wald 95%\nLower", "10.4"),
                    Column("UpperWaldCL", "Confidence Limits\nUpper", "10.4"),
                    Column("WaldChiSq", "Wald\nChi-Square", "10.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
            self.emit(Table(PROC, name, title, cols, prow, subtitle=subtitle,
                            footnotes=[] if gee else ["The scale parameter was held fixed."]))
        ptable(res.cov, "ParameterEstimates", "Analysis Of Initial Parameter Estimates" if rep else
               "Analysis Of Maximum Likelihood Parameter Estimates", None, False)
        if rep is None:
            if mopts.has("type3"):
                rows3 = []
                for kk, eff in enumerate(design.effects):
                    cols_k = [j for j in design.effect_cols(kk) if keep[j]]
                    if not cols_k:
                        continue
                    keep2 = [c for c in range(Xk.shape[1]) if c not in set(kidx[cols_k])]
                    red = O.fit(Xk[:, keep2], y, w, off, k, link)
                    chi = max(2 * (ll - red.loglik), 0.0)
                    df = len(cols_k)
                    rows3.append({"Source": eff.name, "DF": df, "ChiSq": chi, "ProbChiSq": st.chi2.sf(chi, df)})
                self.emit(Table(PROC, "Type3", "LR Statistics For Type 3 Analysis",
                                [Column("Source"), Column("DF", None, "INT"), Column("ChiSq", "Chi-\nSquare", "10.2"),
                                 Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")], rows3))
            return
        if rep["kind"] not in ("ind", "indep", "independent") or rep["logor"]:
            raise SasError("For DIST=MULTINOMIAL only TYPE=IND (independence) is supported in the REPEATED statement "
                           "(LOGOR= for ordinal data is not supported yet).", self.repeated.line, self.repeated.col)
        keys = list(zip(*[ds.column(v).to_numpy()[used] for v in rep["subject_vars"]]))
        codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=False)
        K = len(uniq)
        # expected information (bread) and the cluster sums of scores (meat)
        Iexp = np.zeros((len(res.theta),) * 2)
        for cat in range(k):
            P, *_ = O._pieces(res.theta, Xk, np.full(n, cat), w, off, k, link)
            _, Sc = O.loglik_grad(res.theta, Xk, np.full(n, cat), w, off, k, link)
            Iexp += (Sc * P[:, None]).T @ Sc
        U = np.zeros((K, len(res.theta)))
        np.add.at(U, codes, res.scores)
        Ii = np.linalg.inv(Iexp)
        cov_e = Ii @ (U.T @ U) @ Ii
        sizes = np.bincount(codes)
        info = [("Correlation Structure", "Independent"),
                ("Subject Effect", f"{rep['subj_text']} ({K} levels)"), ("Number of Clusters", K),
                ("Correlation Matrix Dimension", int(sizes.max())), ("Maximum Cluster Size", int(sizes.max())),
                ("Minimum Cluster Size", int(sizes.min()))]
        self.emit(Table(PROC, "GEEModInfo", "GEE Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in info], kind="kv"))
        s.log.note("Algorithm converged.")
        ptable(cov_e, "GEEEmpPEst", "Analysis Of GEE Parameter Estimates", "Empirical Standard Error Estimates", True)
        if rep["opts"].has("modelse"):
            ptable(Ii, "GEEModPEst", "Analysis Of GEE Parameter Estimates", "Model-Based Standard Error Estimates",
                   True)

    @staticmethod
    def _prow(name, levels, b, se, z, gee, aliased=False):
        if gee:
            key = {"Parm": name, **levels}
            if aliased:
                return {**key, "Estimate": 0.0, "StdErr": 0.0, "LowerCL": 0.0, "UpperCL": 0.0, "Z": None, "ProbZ": None}
            zz = b / se if se > 0 else math.nan
            return {**key, "Estimate": b, "StdErr": se, "LowerCL": b - z * se, "UpperCL": b + z * se, "Z": zz,
                    "ProbZ": 2 * st.norm.sf(abs(zz))}
        key = {"Parameter": name, **levels}
        if aliased:
            return {**key, "DF": 0, "Estimate": 0.0, "StdErr": 0.0, "LowerWaldCL": 0.0, "UpperWaldCL": 0.0,
                    "WaldChiSq": None, "ProbChiSq": None}
        chi = (b / se) ** 2 if se > 0 else math.nan
        return {**key, "DF": 1, "Estimate": b, "StdErr": se, "LowerWaldCL": b - z * se, "UpperWaldCL": b + z * se,
                "WaldChiSq": chi, "ProbChiSq": st.chi2.sf(chi, 1)}

    # ------------------------------------------------------------------ ESTIMATE / CONTRAST / LSMEANS
    def _hypothesis(self, kw, stm, final, scale_opt):
        from . import hypotheses as H
        if final[0] == "glm":
            beta, cov = final[1].beta, final[1].cov
        else:
            beta, cov = final[1], final[2]
        means = H.covariate_means(self.design, self.classes, self.data_used)
        if kw in ("lsmeans", "slice"):
            for t in H.lsmeans_tables(self.s, PROC, stm, self.design, self.classes, self.data_used, means, beta, cov,
                                      self.link, statement=kw):
                self.emit(t)
            return
        if kw == "lsmestimate":
            self.emit(H.lsmestimate_table(self.s, PROC, stm, self.design, self.classes, self.data_used, means, beta,
                                          cov, self.link))
            return
        o = H.hypothesis_options(self.s, stm, kw, {"exp", "alpha", "e", "wald", "lr", "singular", "divisor",
                                                   "estimate"}, ignored=["e", "singular", "estimate"])
        rows = H.parse_rows(stm.items, self.design, stm)
        alpha = float(o.get("alpha", 0.05))
        z = st.norm.ppf(1 - alpha / 2)
        if kw == "estimate":
            out = []
            for label, L in rows:
                if not H.estimable(L, self.design):
                    out.append({"Label": label, "LBetaEstimate": None, "_display": {"LBetaEstimate": "Non-est"}})
                    continue
                est = float(L @ beta)
                se = math.sqrt(max(float(L @ cov @ L), 0.0))
                lo, hi = est - z * se, est + z * se
                m = [float(self.link.inv(np.array([v]))[0]) for v in (est, lo, hi)]
                chi = (est / se) ** 2 if se > 0 else math.nan
                out.append({"Label": label, "MeanEstimate": m[0], "MeanLowerCL": min(m[1], m[2]),
                            "MeanUpperCL": max(m[1], m[2]), "LBetaEstimate": est, "StdErr": se, "Alpha": alpha,
                            "LBetaLowerCL": lo, "LBetaUpperCL": hi, "ChiSq": chi, "ProbChiSq": st.chi2.sf(chi, 1)})
                if o.has("exp"):
                    out.append({"Label": f"Exp({label})", "LBetaEstimate": math.exp(est),
                                "StdErr": math.exp(est) * se, "Alpha": alpha, "LBetaLowerCL": math.exp(lo),
                                "LBetaUpperCL": math.exp(hi)})
            cols = [Column("Label"), Column("MeanEstimate", "Mean\nEstimate", "10.4"),
                    Column("MeanLowerCL", "Mean\nConfidence Limits", "10.4"), Column("MeanUpperCL", "", "10.4"),
                    Column("LBetaEstimate", "L'Beta\nEstimate", "10.4"), Column("StdErr", "Standard\nError", "10.4"),
                    Column("Alpha", None, "6.2"), Column("LBetaLowerCL", "L'Beta\nConfidence Limits", "10.4"),
                    Column("LBetaUpperCL", "", "10.4"), Column("ChiSq", "Chi-\nSquare", "8.2"),
                    Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
            self.emit(Table(PROC, "Estimates", "Contrast Estimate Results", cols, out))
            return
        # CONTRAST: all rows jointly
        label = rows[0][0] if rows else ""
        Lm = np.array([L for _, L in rows])
        gee = final[0] != "glm"
        if o.has("wald"):
            chi, df = GL.wald_test(Lm, beta, cov)
            typ = "Wald"
        elif gee:
            if self.repeated is not None and getattr(self, "gee_res", None) is not None and \
                    self.gee_res.corr is not None:
                keep = ~self.design.aliased
                corr = self.gee_res.corr.__class__(self.gee_data.L.T) if not isinstance(self.gee_res.corr, G.MDep) \
                    else G.MDep(self.gee_data.L.T, self.gee_res.corr.m)
                chi, df = G.score_test(self.gee_data, corr, beta[keep], Lm[:, keep])
                typ = "Score"
            else:
                chi, df = GL.wald_test(Lm, beta, cov)
                typ = "Wald"
        else:
            chi, df = self._lr_test(Lm, final[1], scale_opt)
            typ = "LR"
        fstats = typ == "LR" and self._f_stats(final[1])
        dfpart = self._f_cols(final[1], chi, df) if fstats else {"DF": df}
        self.emit(Table(PROC, "Contrasts", "Contrast Results",
                        [Column("Contrast")] + (self.F_COLUMNS if fstats else [Column("DF", None, "INT")]) +
                        [Column("ChiSq", "Chi-\nSquare", "8.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4"),
                         Column("Type")],
                        [{"Contrast": label, **dfpart, "ChiSq": chi,
                          "ProbChiSq": st.chi2.sf(chi, df) if df else None, "Type": typ}]))

    # ------------------------------------------------------------------ STORE / OUTPUT
    def _store(self, final):
        from .common import store_target
        name, label = store_target(self.store_stmt)
        store = self._fitted_record(final)
        store.label = label
        self.s.save_store(name, store)
        self.s.log.note(f"The item store {name.upper() if '.' in name else 'WORK.' + name.upper()} has been created.")

    def _fitted_record(self, final):
        """The fitted model as an item store (what STORE saves, PLM reads and EFFECTPLOT draws)."""
        if final[0] == "glm":
            beta, cov = final[1].beta, final[1].cov
        else:
            beta, cov = final[1], final[2]
        from ..stats.store import ItemStore, store_info
        store = ItemStore(proc=PROC, classes=self.classes, effects=self.effects, intercept=self.design.intercept,
                          beta=beta, cov=cov, aliased=self.design.aliased, link=self.link, family=self.fam,
                          offset_var=self.offset_var, columns=self.design.columns,
                          response=self.ds.colname(self.model.response[1]),
                          data_name=getattr(self.ds, "display_name", ""),
                          design=ItemStore.row_space(self.design),
                          means=_hyp().covariate_means(self.design, self.classes, self.data_used),
                          class_data={v: a for v, a in self.data_used.items() if v in self.classes},
                          class_rows=class_level_table(PROC, self.classes, self.copts).rows if self.copts else [],
                          fit_rows=[(r.get("Criterion"), r.get("Value")) for r in
                                    (self._fit_table.rows if getattr(self, "_fit_table", None) else [])],
                          param_rows=[self._labels(j) for j in range(len(self.design.columns))],
                          ranges={v: (float(np.min(a)), float(np.max(a))) for v, a in self.data_used.items()
                                  if v not in self.classes},
                          info=store_info(self.classes, self.design))
        return store

    def _row_statistics(self, final, alpha):
        """Per input row: the predicted mean, linear predictor and its SE, confidence limits of the mean
        (every row with complete covariates) and the residuals, Hessian weight and leverage (rows used in
        the fit). Returns ({key: array over all rows}, indices of the rows used)."""
        if final[0] == "glm":
            beta, cov, phi = final[1].beta, final[1].cov, final[1].phi
        else:
            beta, cov, phi = final[1], final[2], 1.0
        ds = self.ds
        n_all = ds.nobs
        needed = EF.data_vars(self.effects, self.especs)
        if self.offset_var:
            needed.add(self.offset_var)
        ok = np.ones(n_all, dtype=bool)
        data = {}
        for v in needed:
            ds.var(v)           # an unknown variable is an ERROR here
            col = ds.column(v).to_numpy()
            if v in self.classes:
                ok &= self.classes[v].codes(col) >= 0
                data[v] = col
            else:
                ok &= ~np.isnan(col.astype(float))
                data[v] = col.astype(float)
        X = D.build({k: v for k, v in data.items()}, self.classes, self.effects, self.design.intercept,
                    template=self.design).X
        eta = X @ beta + (data[self.offset_var] if self.offset_var else 0.0)
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", X, cov, X), 0.0))
        z = st.norm.ppf(1 - alpha / 2)
        mu = self.link.inv(eta)
        lo, hi = self.link.inv(eta - z * se), self.link.inv(eta + z * se)
        out = {k: np.where(ok, a, np.nan) for k, a in (("pred", mu), ("xbeta", eta), ("stdxbeta", se),
                                                        ("lower", np.minimum(lo, hi)), ("upper", np.maximum(lo, hi)))}
        used_idx = np.nonzero(self.used)[0]
        first = np.cumsum(self.freq) - self.freq if self.freq is not None else slice(None)
        y, w = self.y[first], self.w[first]
        m_u = mu[used_idx]
        fam = self.fam
        V = fam.variance(m_u)
        rraw = (y - m_u) * (w if self.resp_info[0] == "events" else 1.0)
        rchi = (y - m_u) * np.sqrt(w) / np.sqrt(V)
        dunit = fam.deviance_units(y, m_u, w)
        rdev = np.sign(y - m_u) * np.sqrt(np.maximum(dunit, 0.0))
        from ..stats.glm import _obs_weights
        wo, d1, _ = _obs_weights(y, m_u, eta[used_idx], w, fam, self.link, observed=True)
        Xu = X[used_idx][:, ~self.design.aliased]
        covk = cov[np.ix_(~self.design.aliased, ~self.design.aliased)] / (phi if phi else 1.0)
        h = wo * np.einsum("ij,jk,ik->i", Xu, covk, Xu)
        sphi = math.sqrt(phi) if phi else 1.0
        srchi = rchi / (sphi * np.sqrt(np.maximum(1 - h, 1e-12)))
        srdev = rdev / (sphi * np.sqrt(np.maximum(1 - h, 1e-12)))
        rlik = np.sign(y - m_u) * np.sqrt(np.maximum(h * srchi ** 2 + (1 - h) * srdev ** 2, 0.0))
        nan = np.full(n_all, np.nan)
        for key, arr in (("resraw", rraw), ("reschi", rchi), ("resdev", rdev), ("stdreschi", srchi),
                         ("stdresdev", srdev), ("reslik", rlik), ("hesswgt", wo), ("leverage", h)):
            full = nan.copy()
            full[used_idx] = arr
            out[key] = full
        return out, used_idx

    def _obstats(self, final):
        """MODEL OBSTATS: the Observation Statistics table, one row per observation used (CL adds the
        confidence limits of the mean; GEE fits show the mean-model statistics only)."""
        alpha = float(self.mopts.get("alpha", 0.05))
        stats, used_idx = self._row_statistics(final, alpha)
        gee = final[0] != "glm"
        resp = self.model.response
        ynames = [self.ds.colname(resp[1]) or resp[1]] + ([self.ds.colname(resp[2]) or resp[2]]
                                                           if resp[0] == "events" else [])
        keys = [("pred", "Pred"), ("xbeta", "Xbeta"), ("stdxbeta", "Std")]
        if not gee:
            keys.append(("hesswgt", "Hesswgt"))
        if self.mopts.has("cl"):
            keys += [("lower", "Lower"), ("upper", "Upper")]
        keys += [("resraw", "Resraw"), ("reschi", "Reschi")]
        if not gee:
            keys += [("resdev", "Resdev"), ("stdreschi", "StReschi"), ("stdresdev", "StResdev"), ("reslik", "Reslik")]
        ycols = {v: self.ds.column(v).to_numpy() for v in ynames}
        rows = []
        for i in used_idx:
            row = {"Observation": int(i) + 1}
            for v in ynames:
                x = ycols[v][i]
                row[v] = float(x) if isinstance(x, (int, float, np.floating, np.integer)) else x
            for k, c in keys:
                row[c] = float(stats[k][i])
            rows.append(row)
        cols = [Column("Observation", None, "INT")] + [Column(v) for v in ynames] + \
            [Column(c, None, "10.4") for _, c in keys]
        self.emit(Table(PROC, "ObStats", "Observation Statistics", cols, rows))

    def _output(self, final):
        """OUTPUT OUT= with PRED XBETA STDXBETA LOWER UPPER RESRAW RESCHI RESDEV STDRESCHI STDRESDEV RESLIK
        HESSWGT LEVERAGE: every input row; residuals where the response is present."""
        known = {"out": None, "predicted": "pred", "pred": "pred", "prob": "pred", "p": "pred", "xbeta": "xbeta",
                 "stdxbeta": "stdxbeta", "lower": "lower", "l": "lower", "upper": "upper", "u": "upper",
                 "resraw": "resraw", "reschi": "reschi", "resdev": "resdev", "stdreschi": "stdreschi",
                 "stdresdev": "stdresdev", "reslik": "reslik", "hesswgt": "hesswgt", "leverage": "leverage",
                 "h": "leverage", "alpha": None}
        req = {}
        out_ref = None
        alpha = 0.05
        for it in self.output_stmt.items + (self.output_stmt.options or []):
            if not isinstance(it, A.Opt):
                raise SasError("Invalid OUTPUT statement item.", getattr(it, "line", None), getattr(it, "col", None))
            if it.key not in known:
                raise SasError(f"The OUTPUT keyword {it.key.upper()} is not supported.", it.line, it.col)
            if it.key == "out":
                from .common import dsref_from_value
                out_ref = dsref_from_value(it.value)
            elif it.key == "alpha":
                alpha = float(value_of(it.value))
            else:
                req[known[it.key]] = str(value_of(it.value))
        if out_ref is None:
            raise SasError("OUTPUT requires OUT=.", self.output_stmt.line, self.output_stmt.col)
        stats, used_idx = self._row_statistics(final, alpha)
        ds = self.ds
        cols = {req[k]: v for k, v in stats.items() if k in req}
        df = ds.df.copy()
        meta = dict(ds.meta)
        from ..data.dataset import VarMeta
        for name, arr in cols.items():
            df[name] = arr
            meta[name.upper()] = VarMeta(name, "N", 8)
        from ..data.dataset import Dataset as _DS
        self.s.put_dataset(out_ref, _DS(df.reset_index(drop=True), meta))


def _user_matrix(vals, T):
    if vals is None:
        return None
    if len(vals) != T * T:
        raise SasError(f"TYPE=USER needs a {T}x{T} matrix ({T * T} values).")
    return np.array(vals).reshape(T, T)


def _hyp():
    from . import hypotheses
    return hypotheses
