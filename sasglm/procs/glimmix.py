"""PROC GLIMMIX: generalized linear mixed models by adaptive quadrature (METHOD=QUAD) and Laplace
(METHOD=LAPLACE), with SAS's tables, DDFM=CONTAIN/BETWITHIN/RESIDUAL/NONE, EMPIRICAL sandwich,
Type III tests and odds ratios, and the pseudo-likelihood methods (RSPL, MSPL, RMPL, MMPL)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import ast as A
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import design as D
from ..stats import glm as GL
from ..stats import glmm as M
from ..stats.sandwich import corrected_scores, sandwich
from ..stats.families import Binomial, Poisson, make_link
from . import hypotheses as H
from .common import (Options, grid_search, input_data, parse_parms, sp_coords, sp_kind, statements, type_text, value_of,
                     warn_ignored, where_statements)
from .modeling import (class_table_wanted, fixed_matrix_tables, type_level_columns, complete_cases, class_level_table, formatted, make_classvars, nobs_table, parse_class, subject_vars,
                       parse_model_effects)

PROC = "GLIMMIX"
MODEL_OPTS = {"dist", "d", "error", "link", "offset", "s", "solution", "cl", "oddsratio", "or", "ddfm", "noint",
              "chisq", "covb", "e", "e3", "htype", "intercept", "alpha", "corrb", "stdcoef"}
RANDOM_OPTS = {"subject", "sub", "type", "g", "gcorr", "solution", "s", "group", "v", "vcorr", "gc", "gci", "cl",
               "alpha", "noiter", "residual", "rside", "resid"}


def run_glimmix(session, proc):
    popts = Options(proc.options, {"data", "method", "empirical", "order", "noclprint", "noitprint", "initglm",
                                   "oddsratio", "plots", "ic", "abspconv", "gconv", "fconv", "maxopt", "itdetails",
                                   "noprofile", "inititer", "nobound", "plot", "pconv", "chol", "namelen",
                                   "subgradient", "grad", "hess", "scoring", "outdesign", "noreml"},
                    "PROC GLIMMIX")
    class_stmt = model = freq_stmt = weight_stmt = None
    nlopts = {}
    randoms = []
    hyps = []
    outputs = []
    parms = []
    covtests = []
    id_stmts = []
    stores = []
    effect_stmts = []
    for kw, stm in statements(proc, {"class", "model", "random", "where", "lsmeans", "estimate", "contrast",
                                     "output", "nloptions", "parms", "by", "freq", "weight", "covtest", "store",
                                     "id", "ods", "effect", "slice", "lsmestimate"}):
        if kw == "class":
            class_stmt = stm
        elif kw == "model":
            model = stm
        elif kw == "random":
            randoms.append(stm)
        elif kw == "nloptions":
            nlopts = _nloptions(session, stm)
        elif kw in ("lsmeans", "estimate", "contrast", "lsmestimate", "slice"):
            hyps.append((kw, stm))
        elif kw == "output":
            from .glimmix_output import parse_output
            outputs.append(parse_output(stm))
        elif kw == "id":
            id_stmts.append(stm)
        elif kw == "parms":
            if parms:
                raise SasError("Only one PARMS statement is allowed.", stm.line, stm.col)
            parms.append(stm)
        elif kw == "freq":
            freq_stmt = stm
        elif kw == "weight":
            weight_stmt = stm
        elif kw == "covtest":
            from .glimmix_covtest import Spec
            covtests.append(Spec(stm))
        elif kw == "store":
            stores.append(stm)
        elif kw == "effect":
            if model is not None:
                raise SasError("EFFECT statements must precede the MODEL statement.", stm.line, stm.col)
            effect_stmts.append(stm)
        elif kw != "where":
            raise SasError(f"The {kw.upper()} statement of PROC GLIMMIX is not supported yet.", stm.line, stm.col,
                           code="180-322")
    if model is None:
        raise SasError("No MODEL statement was specified.", proc.line, proc.col)
    ds, ref = input_data(session, popts, proc, where_statements(proc))
    warn_ignored(session, popts, ["initglm", "plots", "plot", "ic", "gconv", "fconv",
                                  "itdetails", "noprofile", "inititer", "nobound", "chol", "namelen",
                                  "subgradient", "grad", "hess", "scoring", "outdesign", "noreml"], "PROC GLIMMIX")
    ds, freq_info = _expand_freq(ds, freq_stmt)
    f = GlimmixFit(session, proc, popts, ds, ref, class_stmt, model, randoms)
    f.freq_info = freq_info
    if weight_stmt is not None:
        from .common import numeric_var
        f.weight_var = numeric_var(weight_stmt, ds)
    f.nlopts = nlopts
    f.hyps = hyps
    f.outputs = outputs
    f.id_vars = _id_vars(id_stmts, ds)
    f.parms = parms[0] if parms else None
    f.covtests = covtests
    f.effect_stmts = effect_stmts
    f.run()
    for stm in stores:
        f.write_store(stm)


class _FreqInfo:
    """FREQ: the data set each observation repeated f times (SAS: "as if it appears f times"; f truncated,
    f < 1 or missing drops it); ``rows`` maps the expanded rows back to the input rows."""

    def __init__(self, original, rows, freq_read):
        self.original, self.rows, self.freq_read = original, rows, freq_read


def _expand_freq(ds, stmt):
    if stmt is None:
        return ds, None
    from .common import expand_by_freq, numeric_var
    out, rows, total = expand_by_freq(ds, numeric_var(stmt, ds))
    return out, _FreqInfo(ds, rows, total)


def _method(popts):
    m = popts.values.get("method")
    if m is None:
        return "rspl", None
    if isinstance(m, A.Group):
        name = m.name.lower()
        qp = None
        for it in m.items:
            if isinstance(it, A.Opt) and it.key in ("qpoints", "qpoint"):
                qp = int(value_of(it.value))
            elif isinstance(it, A.Opt) and it.key in ("qcheck", "qtol", "qmax", "qfac"):
                continue
            else:
                raise SasError("Unsupported METHOD=QUAD suboption.", m.line, m.col)
        return name, qp
    return str(m).lower(), None


class GlimmixFit:
    freq_info = None        # a _FreqInfo when the step has a FREQ statement
    weight_var = None       # the WEIGHT statement's variable
    covtests: list = []     # glimmix_covtest.Spec per COVTEST statement
    nlopts: dict = {}       # NLOPTIONS that take effect (MAXITER=)
    effect_stmts: list = []  # EFFECT statements (constructed effects)
    no_subject = False      # a G-side RANDOM statement without SUBJECT= (V is one block)

    def __init__(self, session, proc, popts, ds, ref, class_stmt, model, randoms):
        self.s, self.proc, self.popts, self.ds, self.ref = session, proc, popts, ds, ref
        self.class_stmt, self.model, self.randoms = class_stmt, model, randoms

    def emit(self, t):
        if t.name == "FitStatistics":
            self._fit_rows = [(r.get("Descr"), r.get("Value")) for r in t.rows]
        self.s.emit_table(type_level_columns(t, getattr(self, 'classes', None)))

    def write_store(self, stm):
        """STORE: the fitted fixed-effects model, its link and distribution and its DF method, for PROC PLM
        (the item store holds no BLUPs: PLM's predictions are those of the fixed effects)."""
        from ..stats.store import DDF
        from .modeling import save_mixed_store
        if getattr(self, "_fitted", None) is None or self.dist == "multinomial":
            raise SasError(f"STORE is not supported yet with DIST={str(self.dist).upper()} in PROC GLIMMIX.",
                           stm.line, stm.col)
        beta, covb, dfs, data = self._fitted
        design, classes = self.design, self.classes
        keep = ~design.aliased
        n = len(next(iter(data.values()))) if data else 0
        ddfm = self._ddfm() if not self.glm_mode else \
            ("none" if all(v == math.inf for v in dfs.values()) else "residual")
        kept, kr, satt = getattr(self, "ddf_pieces", (keep, None, None))
        ddf = DDF(ddfm, dict(dfs), float(n - int(keep.sum())), kept, kr, satt)
        ctx = getattr(self, "_store_ctx", {})
        save_mixed_store(self.s, PROC, stm, self.ds, design, classes, self.copts, beta, covb,
                         H.covariate_means(design, classes, data), data, ctx.get("response"), self.link, self.fam,
                         ddf, getattr(self, "_fit_rows", []), ctx.get("offset_var"), self._dist_label())

    def run(self):
        s, ds, model, popts = self.s, self.ds, self.model, self.popts
        method, qpoints = _method(popts)
        if method not in ("quad", "laplace", "rspl", "mspl", "rmpl", "mmpl"):
            raise SasError(f"METHOD={method.upper()} is not supported (QUAD, LAPLACE, RSPL, MSPL, RMPL, MMPL are).",
                           self.proc.line, self.proc.col)
        self.method = method
        self.empirical = _empirical_kind(popts, self.proc)
        pl = method.endswith("pl")
        mopts = Options(model.options, MODEL_OPTS, "MODEL")
        self.mopts = mopts
        self.or_diff_first = self._oddsratio_diff()     # unsupported ODDSRATIO suboptions fail before the fit
        warn_ignored(s, mopts, ["e", "e3", "htype", "intercept", "stdcoef"], "MODEL")
        resp = model.response
        dist = str(mopts.get("dist", mopts.get("d", mopts.get("error", "")))).lower() or None
        if dist is None:
            dist = "binomial" if resp[0] == "events" else "normal"
        dist = {"bin": "binomial", "b": "binomial", "binary": "binary", "poi": "poisson", "p": "poisson",
                "n": "normal", "nor": "normal", "gaussian": "normal", "g": "normal", "nb": "negbin",
                "negbinomial": "negbin", "gam": "gamma", "expo": "exponential", "ig": "invgauss",
                "igaussian": "invgauss", "logn": "lognormal"}.get(dist, dist)
        # "Lognormal": SAS fits log(Y) as normal and its log likelihood is that of log(Y), without the Jacobian
        # of the transformation (GLIMMIX documentation, Maximum Likelihood: "the preceding density is not the
        # density of Y"); everything else is DIST=NORMAL on log(Y)
        self.lognormal = dist == "lognormal"
        if self.lognormal:
            dist = "normal"
        glm_mode = len(self.randoms) == 0
        dist = {"mult": "multinomial", "multi": "multinomial"}.get(dist, dist)
        if dist == "multinomial":
            if pl and not glm_mode:
                raise SasError(f"DIST=MULTINOMIAL is not supported yet with METHOD={method.upper()}; use METHOD=LAPLACE "
                               "or QUAD (or no RANDOM statement).", model.line, model.col)
            if resp[0] == "events":
                raise SasError("DIST=MULTINOMIAL needs a single response variable.", model.line, model.col)
        if dist not in ("binary", "binomial", "poisson", "gamma", "exponential", "beta", "multinomial",
                        "invgauss") and \
                not (pl and dist == "normal") and dist != "negbin":
            raise SasError(f"DIST={dist.upper()} is not supported yet with METHOD={method.upper()} (BINARY, BINOMIAL, "
                           "POISSON, NEGBIN, GAMMA, EXPONENTIAL, INVGAUSS and BETA are; NORMAL with pseudo-likelihood; "
                           "MULTINOMIAL with QUAD, LAPLACE and without random effects).", model.line, model.col)
        from ..stats.families import Beta, Exponential, Gamma, InvGauss, Normal, NegBin
        fam = {"poisson": Poisson, "normal": Normal, "gamma": Gamma, "exponential": Exponential,
               "beta": Beta, "invgauss": InvGauss}.get(dist, Binomial)() if dist != "negbin" else NegBin(0.5)
        if dist == "multinomial":
            from ..stats.ordinal import CumLink
            ln = str(mopts.get("link", "cumlogit")).lower()
            ln = {"clogit": "cumlogit", "logit": "cumlogit", "cprobit": "cumprobit", "probit": "cumprobit",
                  "ccll": "cumcll", "cumcloglog": "cumcll", "cloglog": "cumcll"}.get(ln, ln)
            if ln in ("glogit", "genlogit"):
                from .glimmix_glogit import GLOGIT_LINK
                self.glogit, self.cumlink = True, GLOGIT_LINK
            elif ln not in ("cumlogit", "cumprobit", "cumcll"):
                raise SasError(f"LINK={ln.upper()} is not supported with DIST=MULTINOMIAL (CUMLOGIT, CUMPROBIT, "
                               "CUMCLL and GLOGIT are).", model.line, model.col)
            else:
                self.cumlink = CumLink(ln)
            mopts.values.pop("link", None)
        link_name = mopts.get("link")
        link_name = str(link_name).lower() if link_name is not None else \
            {"poisson": "log", "normal": "identity", "negbin": "log", "gamma": "log",
             "exponential": "log", "invgauss": "power(-2)"}.get(dist, "logit")
        lk = mopts.get("link")
        if isinstance(lk, A.Group) and lk.name.lower() in ("power", "pow"):
            nums = [float(x.value) for x in lk.items if isinstance(x, A.Word) and x.kind == "number"]
            neg = any(isinstance(x, A.Word) and x.value == "-" for x in lk.items)
            link = make_link("power", (-nums[0] if neg else nums[0]) if nums else 1.0)
        elif link_name == "power(-2)":
            link = make_link("power", -2.0)
        elif link_name in ("reciprocal", "recip"):
            link = make_link("reciprocal")
        elif link_name not in ("logit", "probit", "cloglog", "loglog", "log", "identity", "id"):
            raise SasError(f"LINK={link_name.upper()} is not supported.", model.line, model.col)
        else:
            link = make_link(link_name)
        self.dist, self.fam, self.link = dist, fam, link
        self.glm_mode = glm_mode
        g_randoms = [r for r in self.randoms if not _is_rside(r)]
        r_randoms = [r for r in self.randoms if _is_rside(r)]
        if len(r_randoms) > 1:
            raise SasError("Only one R-side (_RESIDUAL_) RANDOM statement is allowed.", r_randoms[1].line,
                           r_randoms[1].col)
        rside = self._rside_spec(r_randoms[0], ds) if r_randoms else None
        if rside is not None and not pl:
            raise SasError(f"R-side random effects (RANDOM _RESIDUAL_) are not available with METHOD={method.upper()}"
                           "; they need a pseudo-likelihood method (RSPL, MSPL, RMPL, MMPL).",
                           r_randoms[0].line, r_randoms[0].col)
        self.rside = rside
        rnd = g_randoms[0] if g_randoms else None
        g_opts = [Options(r.options or [], RANDOM_OPTS, "RANDOM") for r in g_randoms]
        ropts = _AnyOptions(g_opts)
        self._ropts = ropts
        for o in g_opts:
            warn_ignored(s, o, ["v", "vcorr", "gc", "gci", "noiter"], "RANDOM")
        if ropts.has("group") and not (getattr(self, "glogit", False) and resp[0] != "events" and
                                       str(next(o.get("group") for o in g_opts if o.has("group"))).lower() ==
                                       str(resp[1]).lower()):
            raise SasError("RANDOM ... GROUP= is not supported yet (except GROUP=response with LINK=GLOGIT).",
                           rnd.line, rnd.col)
        copts, cglob = parse_class(self.class_stmt, ds, {"ref", "order", "descending", "desc", "param", "truncate"}) \
            if self.class_stmt else ([], {})
        class_names = {c.name for c in copts}
        from . import effects as EF
        self.effect_specs = especs = EF.parse_effects(self.effect_stmts, ds, class_names)
        effects = parse_model_effects(model, ds, class_names, especs)
        # random effects and subject
        subj = g_opts[0].nodes.get("subject", g_opts[0].nodes.get("sub")) if g_opts else None
        stmt_subj = []
        for r_, o in zip(g_randoms, g_opts):
            node = o.nodes.get("subject", o.nodes.get("sub"))
            stmt_subj.append(subject_vars(ds, node, r_) if node is not None else (None, None))
        nested = len({(t or "").lower() for _, t in stmt_subj}) > 1
        # a G-side RANDOM statement without SUBJECT= (random block;): V is one block of all the data, processed
        # like nested subjects (as PROC MIXED does)
        no_subject = bool(g_randoms) and any(vs is None for vs, _ in stmt_subj)
        nested = nested or no_subject
        self.no_subject = no_subject
        if nested:
            # several RANDOM statements with different (nested) SUBJECT= effects: processed by the coarsest
            # subject, as PROC MIXED does; pseudo-likelihood or Laplace (one joint Laplace approximation over all
            # random effects of a coarsest subject)
            if method == "quad":
                if no_subject:
                    r0 = g_randoms[[vs is None for vs, _ in stmt_subj].index(True)]
                    raise SasError("METHOD=QUAD needs SUBJECT= on every RANDOM statement (the model must be processed "
                                   "by subjects, as in SAS); use METHOD=LAPLACE or a pseudo-likelihood method.",
                                   r0.line, r0.col)
                raise SasError("Several RANDOM statements with different SUBJECT= effects are not supported yet with "
                               "METHOD=QUAD; use METHOD=LAPLACE or a pseudo-likelihood method.",
                               g_randoms[1].line, g_randoms[1].col)
            if rside is not None and rside["subj"]:
                raise SasError("An R-side RANDOM statement with SUBJECT= together with nested G-side subjects is not "
                               "supported yet.", r_randoms[0].line, r_randoms[0].col)
            for k in ("solution", "s", "g", "gcorr"):
                if ropts.has(k):
                    raise SasError(f"RANDOM {k.upper()} with several different SUBJECT= effects is not supported yet.",
                                   rnd.line, rnd.col)
        if nested:
            subj_vars = sorted({v for vs, _ in stmt_subj for v in (vs or [])})
            self.subject_text = ""
        elif rnd is None and rside is not None:
            subj_vars, self.subject_text = rside["subj"] or [], rside["subj_text"] or ""
        else:
            if subj is None and not glm_mode:
                raise SasError("A RANDOM statement without SUBJECT= is not supported yet.", rnd.line, rnd.col)
            subj_vars = self._subject_vars(subj, rnd) if not glm_mode else []
            if rside is not None and rside["subj"] and [v.lower() for v in rside["subj"]] != \
                    [v.lower() for v in subj_vars]:
                raise SasError("The R-side RANDOM statement must use the same SUBJECT= as the G-side one.",
                               r_randoms[0].line, r_randoms[0].col)
        from .modeling import effect_tokens
        gspecs = []
        for r_, o in zip(g_randoms, g_opts):
            is_int = lambda it: isinstance(it, A.Word) and str(it.value).lower() in ("intercept", "int")
            rest = [it for it in r_.items if not is_int(it)]
            effs = D.parse_effects(effect_tokens(rest), class_names) if rest else []
            for e in effs:
                e.factors = [especs[v.lower()].name if v.lower() in especs else ds.colname(v) or v for v in e.factors]
                for v in e.factors:
                    if ds.colname(v) is None and v.lower() not in especs:
                        raise SasError(f"Variable {v.upper()} not found.", r_.line, r_.col)
            kind = str(o.get("type", "vc")).lower()
            if isinstance(o.get("type"), A.Group):
                g = o.get("type")
                kind = type_text(g)
            gspecs.append({"stmt": r_, "opts": o, "intercept": any(is_int(it) for it in r_.items), "effects": effs,
                           "kind": kind, "subj": stmt_subj[len(gspecs)][0],
                           "subj_text": stmt_subj[len(gspecs)][1]})
        r_effects = [e for sp in gspecs for e in sp["effects"]]
        needed = set(class_names)
        needed |= EF.data_vars(effects + r_effects, especs)
        needed |= set(subj_vars)
        if rside is not None and rside["effect"]:
            needed.add(rside["effect"])
        if rside is not None and rside.get("group"):
            needed.add(rside["group"])
        if rside is not None:
            needed |= set(rside["coords"])
        offset_var = mopts.get("offset")
        if offset_var is not None:
            offset_var = ds.colname(str(offset_var))
            if offset_var is None:
                raise SasError(f"Variable {str(mopts.get('offset')).upper()} not found.", model.line, model.col)
            needed.add(offset_var)
        if resp[0] == "events":
            ev, tr = ds.colname(resp[1]), ds.colname(resp[2])
            if ev is None or tr is None:
                raise SasError("Response variable not found.", model.line, model.col)
            needed |= {ev, tr}
            yname = None
        else:
            yname = ds.colname(resp[1])
            if yname is None:
                raise SasError(f"Variable {resp[1].upper()} not found.", model.line, model.col)
            needed.add(yname)
        wvar = self.weight_var
        used = complete_cases(ds, needed | ({wvar} if wvar else set()), model.line, model.col)
        if wvar:
            # WEIGHT: R becomes W^-1/2 R W^-1/2 (each observation's log likelihood times its weight);
            # observations with a nonpositive weight are not used
            used &= ds.column(wvar).to_numpy().astype(float) > 0
            if not used.any():
                raise SasError("No valid observations are found.", model.line, model.col)
        self.used = used
        n = int(used.sum())
        order = str(popts.get("order", "formatted")).lower()
        classes = make_classvars(ds, used, copts, cglob, s, order, "glm")
        self.classes = classes
        # (the response is coded below from its raw values: a character response need not be a CLASS variable)
        data = {v: (ds.column(v).to_numpy()[used] if v in class_names or v == yname
                    else ds.column(v).to_numpy()[used].astype(float)) for v in needed}
        self.constructed = cons = EF.bind(especs, data, {v.lower() for e in effects + r_effects for v in e.factors})
        for t in EF.knot_tables(PROC, cons, especs):
            self.emit(t)
        design = D.build(data, classes, effects, intercept=not mopts.has("noint"), constructed=cons)
        if dist == "multinomial" and not getattr(self, "glogit", False):
            # the cutpoints play the intercept: redundant columns are found with it (GLM coding), then it goes
            aliased = design.aliased.copy()
            design = D.build(data, classes, effects, intercept=False, constructed=cons)
            design.aliased = aliased[1:] if len(aliased) == design.X.shape[1] + 1 else design.aliased
        # response
        w = np.ones(n)
        if dist == "multinomial":
            raw = ds.column(yname).to_numpy()[used]
            fmt = np.asarray(formatted(ds, yname, s), dtype=object)[used]
            desc, order_r, ref_r = False, order, None
            for o in resp[2] or []:
                if isinstance(o, A.Word) and str(o.value).lower() in ("descending", "desc"):
                    desc = True
                elif isinstance(o, A.Opt) and o.key == "order":
                    order_r = str(value_of(o.value)).lower()
                elif isinstance(o, A.Opt) and o.key == "ref" and getattr(self, "glogit", False):
                    ref_r = o.value
                else:
                    raise SasError("Unsupported response option for DIST=MULTINOMIAL (DESCENDING, ORDER= and, with "
                                   "LINK=GLOGIT, REF= are).", model.line, model.col)
            levels, labels, alias = D.order_levels_grouped(list(raw), list(fmt), order_r, desc)
            if len(levels) < 2:
                raise SasError(f"The response {yname} has fewer than two levels.", model.line, model.col)
            y = D.ClassVar(yname, levels, labels, alias=alias).codes(raw).astype(float)
            counts = [int(c) for c in np.bincount(y.astype(int), minlength=len(levels))]
            resp_info = ("multinomial", yname, labels, counts)
            self.mult_labels = labels
            if getattr(self, "glogit", False):
                ref_i = len(labels) - 1
                if ref_r is not None:
                    rv = str(value_of(ref_r)).strip()
                    if isinstance(ref_r, A.Word) and rv.lower() in ("first", "last") and \
                            getattr(ref_r, "kind", "") != "string":
                        ref_i = 0 if rv.lower() == "first" else len(labels) - 1
                    elif rv in [str(lb).strip() for lb in labels]:
                        ref_i = [str(lb).strip() for lb in labels].index(rv)
                    else:
                        raise SasError(f"The REF= level '{rv}' is not a level of the response {yname}.",
                                       model.line, model.col)
        elif resp[0] == "events":
            y = data[ev] / data[tr]
            w = data[tr]
            resp_info = None
            self._events_trials = (float(np.sum(data[ev])), float(np.sum(data[tr])))
        else:
            raw = ds.column(yname).to_numpy()[used]
            rawf = None
            if dist == "binomial" and not resp[2] and raw.dtype.kind in "fiub":
                rawf = raw.astype(float)
            if rawf is not None and np.all((rawf >= 0) & (rawf <= 1)):
                # DIST=BINOMIAL with a single numeric response and no response options: the response is the
                # number of events in one trial (as with events/trials), so Pr(y = 1) is modelled and there is
                # no response-level ordering (SAS output: CAMIS GLIMMIX pages, where SAS and lme4 agree)
                y = rawf
                resp_info = None
            elif dist == "binary" or (dist == "binomial"):
                fmt = np.asarray(formatted(ds, yname, s), dtype=object)[used]
                desc = False
                event = None
                for o in resp[2] or []:
                    if isinstance(o, A.Opt) and o.key == "event":
                        event = str(value_of(o.value))
                    elif isinstance(o, A.Word) and str(o.value).lower() in ("descending", "desc"):
                        desc = True
                    else:
                        raise SasError("Unsupported response option.", model.line, model.col)
                levels, labels, alias = D.order_levels_grouped(list(raw), list(fmt), "formatted", desc)
                if len(levels) != 2:
                    raise SasError(f"The binary response {yname} must have exactly two levels.", model.line, model.col)
                ev_i = labels.index(event) if event is not None else 0
                code = D.ClassVar(yname, levels, labels, alias=alias).codes(raw)
                y = (code == ev_i).astype(float)
                counts = [int(c) for c in np.bincount(code, minlength=len(levels))]
                resp_info = (yname, labels, counts, labels[ev_i])
                self.dist = dist = "binary"
            else:
                y = raw.astype(float)
                resp_info = None
                if self.lognormal:
                    if np.any(y <= 0):
                        raise SasError("DIST=LOGNORMAL needs a positive response; "
                                       f"{int(np.sum(y <= 0))} observations have a response <= 0.", model.line, model.col)
                    y = np.log(y)
        offset = data[offset_var] if offset_var else np.zeros(n)
        self.prior_w = None
        if wvar:
            if getattr(self, "glogit", False) or method in ("quad", "laplace") and dist == "multinomial":
                raise SasError("WEIGHT is not supported yet with DIST=MULTINOMIAL and LINK=GLOGIT or METHOD=QUAD/"
                               "LAPLACE.", model.line, model.col)
            pw = ds.column(wvar).to_numpy().astype(float)[used]
            w = w * pw
            self.prior_w = pw
            self.fam.prior_weights = pw     # the binomial log likelihood's constant uses the trials w / pw
        if self.covtests and (glm_mode or (dist == "multinomial" and (getattr(self, "glogit", False) or
                                                                      method not in ("quad", "laplace")))):
            st_ = self.covtests[0].stm
            raise SasError("COVTEST needs a model with random effects (a RANDOM statement)" if glm_mode else
                           "COVTEST is not supported yet with DIST=MULTINOMIAL except with METHOD=QUAD/LAPLACE.",
                           st_.line, st_.col)
        self._check_outputs(rside, nested)
        rstm = H.random_coefficient_statement(self.hyps)
        if rstm is not None and (not gspecs or (nested and method == "laplace") or dist == "multinomial"):
            raise SasError("Random-effect coefficients (after '|') need G-side random effects (a RANDOM statement "
                           "that is not _RESIDUAL_); with nested SUBJECT= effects under METHOD=LAPLACE and with "
                           "DIST=MULTINOMIAL they are not supported yet.", rstm.line, rstm.col)
        xvars = EF.data_vars(effects + r_effects, especs) | set(subj_vars)
        if offset_var:
            xvars.add(offset_var)
        # (with nested SUBJECT= effects the random-effects design is the coarsest subject's: observations with
        # a missing response are not predicted)
        self._pred_spec = None if nested else {
            "vars": sorted(xvars), "effects": effects, "intercept": not mopts.has("noint"), "keep": ~design.aliased,
            "gspecs": gspecs, "subj_vars": list(subj_vars), "uniq": [], "offset_var": offset_var}
        self._store_ctx = {"response": yname or f"{ev}/{tr}", "offset_var": offset_var}
        if getattr(self, "glogit", False):
            from .glimmix_glogit import run_glogit
            self.design, self.classes, self.copts = design, classes, copts
            return run_glogit(self, {"design": design, "y": y, "labels": labels, "counts": counts, "ref": ref_i,
                                     "n": n, "w": w, "offset": offset, "yname": yname, "offset_var": offset_var,
                                     "glm_mode": glm_mode, "method": method, "qpoints": qpoints, "gspecs": gspecs,
                                     "rside": rside, "data": data, "classes": classes, "subj_vars": subj_vars,
                                     "used": used, "effects": effects})
        if glm_mode:
            self.design, self.classes, self.copts = design, classes, copts
            if dist == "multinomial":
                return self._run_multinomial_glm(design, y, w, offset, n, data, resp_info, yname, offset_var)
            return self._run_glm_mode(design, y, w, offset, n, data, resp_info, yname or f"{ev}/{tr}", offset_var)
        if nested:
            from .mixed import MixedFit, _RandomSpec
            raw = {v: ds.column(v).to_numpy()[used] for v in needed}
            mspecs = [_RandomSpec(sp["stmt"], sp["opts"], sp["subj"], sp["subj_text"], sp["intercept"],
                                  sp["effects"], sp["kind"]) for sp in gspecs]
            unit, unit_text = MixedFit._processing_unit(mspecs, None, None, raw, None)
            subj_vars, self.subject_text = list(unit or []), unit_text or ""
        if subj_vars:
            keys = list(zip(*[ds.column(v).to_numpy()[used] for v in subj_vars]))
            codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=False)
        elif nested or (rside is not None and (rside["subj"] == [] or rside["coords"])):
            # a RANDOM statement without SUBJECT=, R-side SUBJECT=INTERCEPT or a spatial R-side structure
            # without SUBJECT=: all the data are one block
            codes, uniq = np.zeros(n, dtype=int), [(1,)]
        else:                   # R-side only, no SUBJECT=: every observation is its own block
            codes, uniq = np.arange(n), [(i + 1,) for i in range(n)]
        K = len(uniq)
        if self._pred_spec is not None:
            self._pred_spec["uniq"] = list(uniq)
        if nested:
            Z, zcols = MixedFit._z_matrix(mspecs, data, classes, raw, codes, n, self.constructed)
            terms = [(tv, cols) for tv, cols in zcols]
            rnames = [c.effect if not c.levels else c.effect + " " + " ".join(c.levels.values())
                      for sp in mspecs for c in sp.Zd.columns]
            from .mixed import _ic_size
            self._ic_one_subject = _ic_size(mspecs, 1, n)
            for sp, m_ in zip(gspecs, mspecs):
                sp["q"], sp["m"] = m_.q, m_.m
                sp["labels"] = [c.effect for c in m_.Zd.columns]
                sp["groups"] = pd.factorize(np.array(m_.Zd.effect_of_col), sort=False)[0]
        else:
            zparts, rnames, terms = [], [], []
            for sp in gspecs:
                Zd = D.build(data, classes, sp["effects"], intercept=sp["intercept"], keep_empty=True,
                             constructed=self.constructed)
                off = sum(zp.shape[1] for zp in zparts)
                sp["q"], sp["off"], sp["Zd"] = Zd.X.shape[1], off, Zd
                sp["labels"] = [c.effect for c in Zd.columns]
                sp["groups"] = pd.factorize(np.array(Zd.effect_of_col), sort=False)[0]
                zparts.append(Zd.X)
                rnames += [c.effect if not c.levels else c.effect + " " + " ".join(c.levels.values()) for c in Zd.columns]
                for k_ in sorted(set(Zd.effect_of_col)):
                    cols = [off + j for j in range(Zd.X.shape[1]) if Zd.effect_of_col[j] == k_]
                    terms.append((set(sp["effects"][k_].all_vars()) if k_ >= 0 else set(), cols))
            Z = np.hstack(zparts) if zparts else np.zeros((n, 0))
        q = Z.shape[1]
        self.design, self.classes, self.copts = design, classes, copts
        # the random effects as ESTIMATE and CONTRAST coefficients after '|' name them (PROC MIXED's layout)
        self._rspecs = mspecs if nested else [
            SimpleNamespace(Zd=sp["Zd"], q=sp["q"], m=1, col0=sp["off"], keymap=np.arange(K)[:, None],
                            uniq=list(uniq), effects=sp["effects"], intercept=sp["intercept"]) for sp in gspecs]
        # ---------------- tables before fitting
        from ..stats import lmm as LM
        for sp in gspecs:
            if sp["kind"] not in ("un", "vc", "chol", "cs", "un(1)", "simple", "ar(1)", "csh", "arh(1)") \
                    and not LM.is_toep(sp["kind"]) and not LM.is_extra_kind(sp["kind"]):
                raise SasError(f"TYPE={sp['kind'].upper()} is not supported yet on the RANDOM statement of PROC "
                               "GLIMMIX (VC, UN, UN(1), CHOL, CS, AR(1), TOEP, TOEP(n), CSH, ARH(1), ANTE(1), TOEPH, "
                               "TOEPH(n), UNR, ARMA(1,1) are).", sp["stmt"].line, sp["stmt"].col)
        if not q:
            cov = gs_pl = None
        else:
            # the pseudo-model's structure (PL) and the quadrature's (QUAD/LAPLACE), one block per statement
            lm_blocks = [LM.make_gside("vc" if sp["kind"] == "simple" else sp["kind"], sp["q"], sp["labels"],
                                        sp["groups"] if sp["kind"] in ("vc", "simple") else None) for sp in gspecs]
            gs_pl = lm_blocks[0] if len(lm_blocks) == 1 else \
                LM.BlockDiag([(b, sp.get("m", 1)) for b, sp in zip(lm_blocks, gspecs)])
            self.param_subjects = [sp["subj_text"] or "" for sp, b in zip(gspecs, lm_blocks) for _ in range(b.npar)]
            if pl:
                cov = gs_pl
            else:
                qb = [M.make_cov(sp["kind"], sp["q"], labels=sp["labels"],
                                 groups=sp["groups"] if sp["kind"] in ("vc", "simple") else None) for sp in gspecs]
                qb = [M.Repeated(b, sp["m"]) if sp.get("m", 1) > 1 else b for b, sp in zip(qb, gspecs)]
                cov = qb[0] if len(qb) == 1 else M.BlockCov(qb)
        rpos = self._rside_positions(rside, data, classes, codes, K, n) if rside is not None else None
        self._model_info(yname or f"{ev}/{tr}", offset_var, subj_vars, method, popts)
        want_cl, cl_max = class_table_wanted(popts)
        if copts and want_cl:
            self.emit(class_level_table(PROC, classes, copts, cl_max))
        self.emit(self._nobs_table(n))
        self._response_profile(resp_info)
        keep = ~design.aliased
        Xk = design.X[:, keep]
        sizes = np.bincount(codes)
        dims = ([("G-side Cov. Parameters", cov.npar)] if cov is not None else []) + \
            ([("R-side Cov. Parameters", rpos[2].npar)] if rside is not None else
             [("R-side Cov. Parameters", 1)] if pl and self.dist in ("normal", "gamma", "invgauss", "negbin", "beta")
             else []) + \
            [("Columns in X", design.X.shape[1]), ("Columns in Z" + ("" if self.no_subject else " per Subject"), q),
             ("Subjects (Blocks in V)", K),
             ("Max Obs per Subject", int(sizes.max()))]
        self.dims_table(dims)
        # ---------------- fit
        mult = self.dist == "multinomial"
        if mult:                        # the cumulative model without random effects gives the start
            from ..stats import ordinal as O
            K_ = len(self.mult_labels)
            o_ = O.fit(Xk, y.astype(int), w, offset, K_, self.cumlink)
            gm = SimpleNamespace(beta=o_.theta[K_ - 1:], cov=o_.cov[K_ - 1:, K_ - 1:], negbin_k=o_.theta[:K_ - 1],
                                 phi=None)
            self.fam = M.OrdinalFamily(self.cumlink, K_)
            from ..stats.families import make_link as _ml
            self.link = _ml("identity")
        else:
            gm = GL.fit(Xk, y, w, offset, Binomial() if self.dist == "beta" else self.fam, self.link,
                        np.zeros(Xk.shape[1], dtype=bool))
        if self.dist == "beta":         # quasi-binomial start; the precision from the moments
            r_ = y - gm.mu
            gm.negbin_k = max(float(np.mean(gm.mu * (1 - gm.mu)) / max(np.mean(r_ ** 2), 1e-12)) - 1.0, 0.5)
        if pl:
            self._fit_pl(gm, Xk, Z, y, w, offset, codes, K, n, gs_pl, rnames, subj_vars, design, keep, data,
                         effects, terms, ropts, uniq, empirical=self.empirical is not None, rpos=rpos)
            return
        gd = M.GLMMData.make(Xk, Z, y, w, offset, codes, self.fam, self.link, self.prior_w)
        theta0 = cov.start()
        k0 = gm.negbin_k if self.dist in ("negbin", "beta", "multinomial") else \
            (gm.phi if self.dist in ("gamma", "invgauss") else None)
        hold = None
        if getattr(self, "parms", None) is not None:
            theta0, k0, hold = self._quad_parms(gd, cov, gm.beta, theta0, k0, method, qpoints)
        if method == "laplace":
            npts = 1
        elif qpoints is not None:
            npts = qpoints
        else:
            agq0 = M.AGQ(gd, cov, 1)
            npts = M.choose_qpoints(agq0, gm.beta, theta0)
        agq = M.AGQ(gd, cov, npts)
        opt_rows = [("Optimization Technique", "Dual Quasi-Newton"),
                    ("Parameters in Optimization", Xk.shape[1] + cov.npar),
                    ("Lower Boundaries", _n_bounds(cov, 0)), ("Upper Boundaries", _n_bounds(cov, 1)),
                    ("Fixed Effects", "Not Profiled"), ("Starting From", "GLM estimates")]
        if method == "quad":
            opt_rows.append(("Quadrature Points", npts))
        self.emit(Table(PROC, "OptInfo", "Optimization Information", [Column("Descr", ""), Column("Value", "")],
                        [{"Descr": a, "Value": b} for a, b in opt_rows], kind="kv"))
        empirical = self.empirical is not None
        if empirical and self.empirical[0] != "classical":
            raise SasError(f"EMPIRICAL={self.empirical[0].upper()} is not supported yet with METHOD={method.upper()} "
                           "(EMPIRICAL=CLASSICAL is).", self.proc.line, self.proc.col)
        try:
            res = M.fit(agq, gm.beta, theta0, empirical=empirical, beta_cov0=gm.cov, k0=k0, hold=hold,
                        maxiter=self.nlopts.get("maxiter", 200))
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
            raise SasError(f"The GLIMMIX fit failed: {e}", self.proc.line, self.proc.col)
        if not popts.has("noitprint"):
            self.emit(Table(PROC, "IterHistory", "Iteration History",
                            [Column("Iteration", None, "INT"), Column("Restarts", None, "INT"),
                             Column("Evaluations", None, "INT"),
                             Column("ObjFunction", "Objective\nFunction", "14.8"), Column("Change", None, "12.8"),
                             Column("MaxGrad", "Max\nGradient", "12.6")],
                            [{"Iteration": a, "Restarts": 0, "Evaluations": b, "ObjFunction": c,
                              "Change": None if d != d else d, "MaxGrad": e} for a, b, c, d, e in res.history]))
        self.convergence_status(res.converged)
        if np.any(np.linalg.eigvalsh(res.G) <= 1e-10):
            s.log.note("Estimated G matrix is not positive definite.")
        self.res, self.cov_struct, self.K, self.n = res, cov, K, n
        # ---------------- results
        p = Xk.shape[1]
        n_extra = 1 if res.scale is not None else (len(res.cutpoints) if res.cutpoints is not None else 0)
        self._fit_stats(res, p, cov.npar + n_extra, K, n, agq, method, y, w)
        self._cov_parms(res, cov, subj_vars, p)
        full_beta = np.zeros(design.X.shape[1])
        full_beta[keep] = res.beta
        covb = np.zeros((design.X.shape[1],) * 2)
        covb[np.ix_(keep, keep)] = res.cov[:p, :p]
        dfs = self._ddf(design, Z, codes, K, n, data, effects, terms, subj_vars)
        cut = None
        if res.cutpoints is not None:
            t_ = cov.npar
            cse = [math.sqrt(max(res.cov[p + t_ + j, p + t_ + j], 0.0)) for j in range(len(res.cutpoints))]
            cut = (list(res.cutpoints), cse, [dfs.get(-1, math.inf)] * len(cse))
        if mopts.has("s") or mopts.has("solution"):
            self._solutions(full_beta, covb, dfs, cutpoints=cut)
        if mult and (self.hyps or getattr(self, "outputs", None)):
            raise SasError("LSMEANS, ESTIMATE, CONTRAST and OUTPUT are not supported yet with "
                           "DIST=MULTINOMIAL.", self.model.line, self.model.col)
        if mopts.has("oddsratio") or mopts.has("or") or popts.has("oddsratio"):
            self._odds_ratios(full_beta, covb, dfs, data)
        self._type3(full_beta, covb, dfs)
        self._covtests_quad(agq, res, cov, Xk, y, w, offset, k0, Z, codes)
        rpart = None
        if H.random_coefficient_statement(self.hyps) is not None and not (mult or nested) and res.mode_jac is not None:
            rpart = H.ModeRandomPart(self._rspecs, res.modes, res.mode_jac, res.mode_var, res.cov, keep)
        self._hypotheses(full_beta, covb, dfs, data, rpart)
        if ropts.has("g") or ropts.has("gcorr"):
            self._gmatrix(res.G, rnames, ropts.has("g"), ropts.has("gcorr"))
        from .glimmix_output import Computed, Model
        p_ = Xk.shape[1]
        comp = None if mult else Computed(Model(Xk, res.beta, res.cov[:p_, :p_], res.cov_model[:p_, :p_], offset, y,
                                                w, self.link, self._var_y(res.scale), dfs.get(-1, math.inf), Z,
                                                codes, res.modes, res.G, res.mode_var, res.mode_jac, res.cov))
        if ropts.has("solution") or ropts.has("s"):
            # prediction standard errors as the documentation describes ("Estimated Precision of Estimates"):
            # Var(g hat - g) adds to the inverse Hessian at the mode the uncertainty of all parameters carried
            # through the mode (with the printed covariance: the sandwich with EMPIRICAL)
            pvar = (comp.prediction_cov()[1] if comp is not None else
                    res.mode_var + np.einsum("kqm,mn,krn->kqr", res.mode_jac, res.cov, res.mode_jac))
            self._random_solution(SimpleNamespace(modes=res.modes, mode_var=pvar), rnames, uniq, subj_vars, dfs)
        if comp is not None:
            self._write_outputs(comp)

    def _glm_mode_header(self, yname, offset_var, link_label, technique, ddf_label, n, resp_info):
        """Model Information, Class Level Information, Number of Observations and Response Profile of a model
        without random effects."""
        rows = [("Data Set", getattr(self.ds, "display_name", self.ref.display)), *_response_rows(yname),
                ("Response Distribution", self._dist_label()), ("Link Function", link_label),
                ("Variance Function", "Default")]
        if offset_var:
            rows.append(("Offset Variable", offset_var))
        if self.weight_var:
            rows.append(("Weight Variable", self.weight_var))
        rows += [("Variance Matrix", "Diagonal"), ("Estimation Technique", technique),
                 ("Degrees of Freedom Method", ddf_label)]
        if self.empirical is not None:
            rows.append(("Fixed Effects SE Adjustment", "Sandwich - " + _EMP_LABEL[self.empirical[0]]))
        self.emit(Table(PROC, "ModelInfo", "Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in rows], kind="kv"))
        want_cl, cl_max = class_table_wanted(self.popts)
        if self.copts and want_cl:
            self.emit(class_level_table(PROC, self.classes, self.copts, cl_max))
        self.emit(self._nobs_table(n))
        self._response_profile(resp_info)

    def _run_multinomial_glm(self, design, y, w, offset, n, data, resp_info, yname, offset_var):
        """DIST=MULTINOMIAL without random effects: the cumulative link model by maximum likelihood, t tests on
        the residual DF (n minus the number of parameters)."""
        from ..stats import ordinal as O
        popts, mopts = self.popts, self.mopts
        self.subject_text = None
        K = len(self.mult_labels)
        keep = ~design.aliased
        Xk = design.X[:, keep]
        p = Xk.shape[1]
        res = O.fit(Xk, y.astype(int), w, offset, K, self.cumlink)
        self._glm_mode_header(yname, offset_var, self.cumlink.sas, "Maximum Likelihood", "Residual", n, resp_info)
        self.convergence_status(res.converged)
        npar = K - 1 + p
        self.ic_table(-2 * res.loglik, npar, n, n)
        dfe = n - npar if self._ddfm() != "none" else math.inf
        full_beta = np.zeros(design.X.shape[1])
        full_beta[keep] = res.theta[K - 1:]
        covb = np.zeros((design.X.shape[1],) * 2)
        covb[np.ix_(keep, keep)] = res.cov[K - 1:, K - 1:]
        dfs = {k_: dfe for k_ in range(-1, len(design.effects))}
        cut = (list(res.theta[:K - 1]), [math.sqrt(max(res.cov[j, j], 0.0)) for j in range(K - 1)], [dfe] * (K - 1))
        self._solutions(full_beta, covb, dfs, title="Parameter Estimates", cutpoints=cut)
        if self.hyps or getattr(self, "outputs", None):
            raise SasError("LSMEANS, ESTIMATE, CONTRAST and OUTPUT are not supported yet with "
                           "DIST=MULTINOMIAL.", self.model.line, self.model.col)
        if mopts.has("oddsratio") or mopts.has("or") or popts.has("oddsratio"):
            self._odds_ratios(full_beta, covb, dfs, data)
        self._type3(full_beta, covb, dfs)

    def _response_profile(self, resp_info):
        if resp_info is None:
            return
        if resp_info[0] == "multinomial":
            _, yn, labels, counts = resp_info
            self.emit(Table(PROC, "ResponseProfile", "Response Profile",
                            [Column("OrderedValue", "Ordered\nValue", "INT"), Column(yn),
                             Column("Count", "Total\nFrequency", "INT")],
                            [{"OrderedValue": i + 1, yn: lab, "Count": c}
                             for i, (lab, c) in enumerate(zip(labels, counts))],
                            footnotes=[f"The GLIMMIX procedure is modeling the probabilities of levels of {yn} having "
                                       "lower Ordered Values in the Response Profile table."]))
            return
        yn, labels, counts, event = resp_info
        self.emit(Table(PROC, "ResponseProfile", "Response Profile",
                        [Column("OrderedValue", "Ordered\nValue", "INT"), Column(yn),
                         Column("Count", "Total\nFrequency", "INT")],
                        [{"OrderedValue": i + 1, yn: lab, "Count": c} for i, (lab, c) in enumerate(zip(labels, counts))],
                        footnotes=[f"The GLIMMIX procedure is modeling the probability that {yn}='{event}'."]))

    def _run_glm_mode(self, design, y, w, offset, n, data, resp_info, yname, offset_var):
        """No RANDOM statement: GLIMMIX fits the generalized linear model (GLM mode) by maximum
        likelihood; a normal response gets the REML (least squares) fit, its scale the mean squared error.
        Inference uses t and F tests with the residual degrees of freedom (DDFM=RESIDUAL)."""
        s, popts, mopts = self.s, self.popts, self.mopts
        normal = self.dist == "normal"
        self.subject_text = None
        if self.method in ("quad", "laplace"):
            s.log.warning(f"METHOD={self.method.upper()} has no effect in a model without random effects; the "
                          "generalized linear model is fitted by maximum likelihood.")
        no_ddf = self._ddfm() == "none"
        self._glm_mode_header(yname, offset_var, self.link.sas,
                              "Restricted Maximum Likelihood" if normal else "Maximum Likelihood",
                              "None" if no_ddf else "Residual", n, resp_info)
        keep = ~design.aliased
        Xk = design.X[:, keep]
        p = Xk.shape[1]
        dims = [("Covariance Parameters", 1 if normal or self.dist in ("negbin", "gamma", "beta", "invgauss") else 0),
                ("Columns in X", design.X.shape[1]),
                ("Columns in Z", 0), ("Subjects (Blocks in V)", 1), ("Max Obs per Subject", n)]
        self.dims_table(dims)
        dfe = n - p
        gamma = self.dist in ("gamma", "invgauss")
        beta_dist = self.dist == "beta"
        try:
            gm = GL.fit(Xk, y, w, offset, Binomial() if beta_dist else self.fam, self.link, np.zeros(p, dtype=bool),
                        None if gamma else "noscale")
            if beta_dist:       # beta regression by ML; the quasi-binomial fit gives the start
                r_ = y - gm.mu
                phi0 = max(float(np.mean(gm.mu * (1 - gm.mu)) / max(np.mean(r_ ** 2), 1e-12)) - 1.0, 0.5)
                b_, phi_b, cov_b, ll_b = M.fit_beta_glm(Xk, y, w, offset, self.link, gm.beta, phi0)
                self.fam.phi = phi_b
                gm.beta, gm.cov, gm.loglik_full = b_, cov_b[:p, :p], ll_b
                gm.mu = self.fam.clip(self.link.inv(Xk @ b_ + offset))
                gm.negbin_k, gm.scale_se = phi_b, math.sqrt(max(cov_b[p, p], 0.0))
        except (GL.FitError, np.linalg.LinAlgError, FloatingPointError) as e:
            raise SasError(f"The GLIMMIX fit failed: {e}", self.proc.line, self.proc.col)
        mu = gm.mu
        beta_k = gm.beta
        if normal:
            r = y - mu
            phi = float(np.sum(w * r ** 2)) / dfe
            covk = gm.cov * phi
            _, logdet = np.linalg.slogdet(Xk.T @ (Xk * w[:, None]))
            m2ll = dfe * math.log(2 * math.pi * phi) + dfe + logdet - float(np.sum(np.log(w)))
            label = "-2 Res Log Likelihood"
            # SAS counts the fixed effects and the scale (d = rank(X) + 1) on the REML sample size n - rank(X)
            # (the listing cited at the Parameter Estimates table below: -2 Res Log Likelihood 156.21,
            # AIC 166.21, AICC 170.49, BIC 171.19 with 4 fixed effects, 24 observations)
            k, nn = p + 1, dfe
        else:
            phi = gm.phi if gamma else 1.0
            covk = gm.cov
            m2ll = -2 * gm.loglik_full
            label = "-2 Log Likelihood"
            k, nn = p + (1 if gm.negbin_k is not None or gamma else 0), n
        pear = float(np.sum(w * (y - mu) ** 2 / self.fam.variance(mu)))
        if normal:
            # the least-squares fit is not iterative: an Optimization Information table saying so and no
            # convergence status (same listing)
            self.emit(Table(PROC, "OptInfo", "Optimization Information", [Column("Descr", ""), Column("Value", "")],
                            [{"Descr": a, "Value": b} for a, b in
                             [("Optimization Technique", "None"), ("Parameters", p + 1), ("Lower Boundaries", 1),
                              ("Upper Boundaries", 0), ("Fixed Effects", "Not Profiled")]], kind="kv"))
        else:
            self.convergence_status(gm.converged)
        fit = [(label, m2ll), ("AIC  (smaller is better)", m2ll + 2 * k),
               ("AICC (smaller is better)", m2ll + 2 * k * nn / (nn - k - 1) if nn - k - 1 > 0 else math.nan),
               ("BIC  (smaller is better)", m2ll + k * math.log(nn)),
               ("CAIC (smaller is better)", m2ll + k * (math.log(nn) + 1)),
               ("HQIC (smaller is better)", m2ll + 2 * k * math.log(math.log(nn)) if nn > 2 else math.nan)]
        if not normal:
            fit += [("Pearson Chi-Square", pear), ("Pearson Chi-Square / DF", pear / dfe if dfe > 0 else math.nan)]
        else:
            fit += [("Pearson Chi-Square", float(np.sum(w * (y - mu) ** 2))),
                    ("Pearson Chi-Square / DF", phi)]
        self.emit(Table(PROC, "FitStatistics", "Fit Statistics", [Column("Descr", ""), Column("Value", "", "12.2")],
                        [{"Descr": a, "Value": b} for a, b in fit], kind="kv"))
        if self.empirical is not None:
            # every observation is its own subject: U_i = x_i w_i (y_i - mu_i) (dmu/deta) / (phi a(mu_i)),
            # Omega = (X' diag(w (dmu/deta)^2 / (phi a(mu))) X)^-1
            eta_ = Xk @ beta_k + offset
            d1 = self.link.dmu_deta(eta_)
            va = self.fam.variance(mu) * phi
            Omega = np.linalg.inv(Xk.T @ (Xk * (w * d1 ** 2 / va)[:, None]))
            # D_i = (dmu/deta) x_i, S_i = phi a(mu_i) / w_i, e_i = y_i - mu_i: one observation per subject
            covk = self._empirical_cov(Omega, (Xk * d1[:, None])[:, None, :], (w / va)[:, None, None],
                                       (y - mu)[:, None], n)
        full_beta = np.zeros(design.X.shape[1])
        full_beta[keep] = beta_k
        covb = np.zeros((design.X.shape[1],) * 2)
        covb[np.ix_(keep, keep)] = covk
        dfs = {k_: (math.inf if no_ddf else dfe) for k_ in range(-1, len(design.effects))}
        # the Parameter Estimates table needs SOLUTION in GLM mode too (a SAS listing of a normal GLM-mode fit
        # without it goes from Fit Statistics straight to the Type III tests; STAT 212 course notes, donut data)
        scale = (phi, phi * math.sqrt(2.0 / dfe) if dfe > 0 else None) if normal else \
            ((gm.negbin_k, gm.scale_se) if gm.negbin_k is not None else None)
        if self.dist == "gamma":    # GLIMMIX reports phi; GLM (like GENMOD) estimates nu = 1/phi by ML: delta method
            scale = (phi, gm.scale_se * phi ** 2 if gm.scale_se is not None else None)
        elif self.dist == "invgauss":   # GENMOD's scale is sqrt(phi)
            scale = (phi, 2 * math.sqrt(phi) * gm.scale_se if gm.scale_se is not None else None)
        if mopts.has("s") or mopts.has("solution"):
            self._solutions(full_beta, covb, dfs, scale=scale, title="Parameter Estimates")
        if mopts.has("oddsratio") or mopts.has("or") or popts.has("oddsratio"):
            self._odds_ratios(full_beta, covb, dfs, data)
        self._type3(full_beta, covb, dfs)
        self._hypotheses(full_beta, covb, dfs, data)
        from .glimmix_output import Computed, Model
        sc = phi if normal or gamma else (gm.negbin_k if self.dist in ("negbin", "beta") else None)
        self._write_outputs(Computed(Model(Xk, beta_k, covk, gm.cov * (phi if normal else 1.0), offset, y, w, self.link,
                                  self._var_y(sc), dfs[-1])))

    def _fit_pl(self, gm, Xk, Z, y, w, offset, codes, K, n, gs, rnames, subj_vars, design, keep, data,
                effects, terms, ropts, uniq, empirical, rpos=None):
        """Pseudo-likelihood: linearise, fit the pseudo linear mixed model, update, until the parameters settle.
        With an R-side RANDOM statement the pseudo-data's residual covariance is W^-1/2 R W^-1/2 with R of the
        requested structure (a scale parameter alone for TYPE=VC)."""
        from ..stats import lmm as LM
        method = self.method
        subject_specific = method in ("rspl", "mspl")
        q = Z.shape[1]
        if rpos is not None:
            pos, T, rs = rpos
        else:
            pos, T = M.subject_positions(codes, K)
            rs = LM.make_struct("vc", 1, ["Residual"]) if self.dist in ("normal", "gamma", "invgauss") else \
                LM.FixedResid(1)
        scaled = self.dist in ("negbin", "beta")
        if scaled and rpos is not None:
            raise SasError(f"An R-side RANDOM statement is not supported yet with DIST={self.dist.upper()} under "
                           "pseudo-likelihood.", self.proc.line, self.proc.col)
        mask = np.zeros((K, T), dtype=bool)
        mask[codes, pos] = True

        def grid(v):
            v = np.asarray(v, dtype=float)
            g = np.zeros((K, T) + v.shape[1:])
            g[codes, pos] = v
            return g
        beta = gm.beta.copy()
        eta = Xk @ beta + offset
        theta = None
        p_hold, p_noiter = None, False
        history = []
        converged = False
        fam, link = self.fam, self.link
        Xg, Zg = grid(Xk), grid(Z)
        pconv, abspconv, maxopt = _pl_criteria(self.popts, self.proc)
        crit = f"PCONV={_sas_e(pconv)}"
        for it in range(1, maxopt + 1):
            mu = fam.clip(link.inv(eta))
            d1 = link.dmu_deta(eta)
            zz = eta - offset + (y - mu) / d1
            if scaled:
                # weights from the variance function without its scale; PseudoScale carries the scale (SAS's
                # Scale covariance parameter: negative binomial k, beta phi)
                wt = w * d1 ** 2 / (mu if self.dist == "negbin" else mu * (1 - mu))
                rs = LM.PseudoScale(T, self.dist, grid(mu), start=max(float(gm.negbin_k or 1.0), 1e-3))
            else:
                wt = w * d1 ** 2 / fam.variance(mu)
            ld = LM.LMMData(Xg, Zg, grid(zz), mask, n, rw=grid(wt))
            lm = LM.LMM(ld, gs, rs, "reml" if method.startswith("r") else "ml")
            start = theta if theta is not None else np.concatenate([gs.start(1.0) if gs is not None else [],
                                                                    rs.start(1.0)])
            if theta is None and getattr(self, "parms", None) is not None:
                start, p_hold, p_noiter = self._pl_parms(lm, len(start))
            res = lm.fit(start, hold=p_hold, noiter=p_noiter, maxiter=self.nlopts.get("maxiter", 200))
            b = lm.blups(res.theta, res.beta) if subject_specific else np.zeros((K, q))
            eta_new = Xk @ res.beta + offset + (np.einsum("nq,nq->n", Z, b[codes]) if q else 0.0)
            new = np.concatenate([res.beta, res.theta])
            old = np.concatenate([beta, theta if theta is not None else np.full(len(res.theta), np.inf)])
            if theta is not None:
                # SAS's PCONV measure: the largest 2|new - old| / (|new| + |old|) (0 where both are 0)
                den = np.abs(new) + np.abs(old)
                change = float(np.max(np.where(den > 0, 2 * np.abs(new - old) / np.where(den > 0, den, 1.0), 0.0)))
                abschange = float(np.max(np.abs(new - old)))
            else:
                change = abschange = math.inf
            _, gr = lm.objective_grad(res.theta)
            lows = [b[0] for b in lm.bounds()]
            # the largest projected gradient of the pseudo model's objective (0 where a bound holds it)
            gproj = [0.0 if (lo is not None and t <= lo + 1e-10 and g_ > 0) else abs(g_)
                     for g_, t, lo in zip(gr, res.theta, lows)]
            history.append((it - 1, res.iterations, res.m2ll, change, max(gproj) if gproj else 0.0))
            beta, theta, eta = res.beta, res.theta, eta_new
            if change < pconv:
                converged = True
                break
            if abspconv is not None and abschange < abspconv:
                converged, crit = True, f"ABSPCONV={_sas_e(abspconv)}"
                break
        self.res_pl = res
        self._pl_b = b
        # the residual variance of a normal pseudo model is profiled out of the optimisation
        bnds = lm.bounds()
        opt = [bd for bd, nm in zip(bnds, res.names) if not (nm == "Residual" and isinstance(rs, LM.VCs))]
        opt_rows = [("Optimization Technique", "Dual Quasi-Newton"), ("Parameters in Optimization", len(opt)),
                    ("Lower Boundaries", sum(1 for bd in opt if bd[0] is not None)),
                    ("Upper Boundaries", sum(1 for bd in opt if bd[1] is not None)),
                    ("Fixed Effects", "Profiled"), ("Starting From", "Data")]
        self.emit(Table(PROC, "OptInfo", "Optimization Information", [Column("Descr", ""), Column("Value", "")],
                        [{"Descr": a, "Value": b} for a, b in opt_rows], kind="kv"))
        if not self.popts.has("noitprint"):
            self.emit(Table(PROC, "IterHistory", "Iteration History",
                            [Column("Iteration", None, "INT"), Column("Restarts", None, "INT"),
                             Column("Subiterations", None, "INT"),
                             Column("ObjFunction", "Objective\nFunction", "14.8"), Column("Change", None, "12.8"),
                             Column("MaxGrad", "Max\nGradient", "BEST8.")],
                            [{"Iteration": a, "Restarts": 0, "Subiterations": b_, "ObjFunction": c,
                              "Change": None if c2 == math.inf else c2, "MaxGrad": mg}
                             for a, b_, c, c2, mg in history]))
        if converged:
            self.emit(Table(PROC, "ConvergenceStatus", "", [Column("Reason", "")],
                            [{"Reason": f"Convergence criterion ({crit}) satisfied."}], kind="kv"))
        else:
            self.s.log.warning("The GLIMMIX procedure did not converge (pseudo-likelihood iterations).")
        V = lm.V(theta)
        r = ld.y - np.einsum("ktp,p->kt", ld.X, beta)
        Vr = np.linalg.solve(V, r[:, :, None])[:, :, 0]
        gchi = float(np.sum(np.where(mask, r * Vr, 0.0)))
        if res.names and res.names[-1] == "Residual":
            gchi *= float(theta[-1])          # SAS: V with the scale parameter set to 1
        p = Xk.shape[1]
        reml = method.startswith("r")
        if self._normal_lmm():
            # a normal linear mixed model: RSPL/RMPL are REML, MSPL/MMPL ML, "reflected in the labeling of
            # statistics in the Fit Statistics table" (GLIMMIX documentation, Default Estimation Techniques), with
            # PROC MIXED's information criteria (covariance parameters, plus rank(X) under ML; n - rank(X)
            # observations for AICC under REML; subjects for BIC, CAIC and HQIC)
            k = len(res.theta) - (int(np.sum(p_hold)) if p_hold is not None else 0) + (0 if reml else p)
            nstar, nb = (n - p if reml else n), K
            m2 = res.m2ll
            fit = [("-2 Res Log Likelihood" if reml else "-2 Log Likelihood", m2),
                   ("AIC  (smaller is better)", m2 + 2 * k),
                   ("AICC (smaller is better)", m2 + 2 * k * nstar / (nstar - k - 1) if nstar - k - 1 > 0 else math.nan),
                   ("BIC  (smaller is better)", m2 + k * math.log(nb)),
                   ("CAIC (smaller is better)", m2 + k * (math.log(nb) + 1)),
                   ("HQIC (smaller is better)", m2 + 2 * k * math.log(math.log(nb)) if nb > 2 else math.nan)]
        else:
            fit = [("-2 Res Log Pseudo-Likelihood" if reml else "-2 Log Pseudo-Likelihood", res.m2ll)]
        fit += [("Generalized Chi-Square", gchi), ("Gener. Chi-Square / DF", gchi / (n - p))]
        self.emit(Table(PROC, "FitStatistics", "Fit Statistics", [Column("Descr", ""), Column("Value", "", "12.2")],
                        [{"Descr": a, "Value": b} for a, b in fit], kind="kv"))
        se = [float(v) if v > 0 else None for v in np.sqrt(np.maximum(np.diag(res.cov_theta), 0.0))] \
            if res.cov_theta is not None else [None] * len(theta)
        psub = getattr(self, "param_subjects", None) or []
        pgroups = [""] * (gs.npar if gs is not None else 0) + \
            (rs.groups_of_params() if isinstance(rs, LM.Grouped) else [""] * rs.npar)
        rows = [{"CovParm": nm, "Subject": (psub[k] if k < len(psub) else self.subject_text)
                 if nm not in ("Residual", "Scale") else "", "Group": pgroups[k] if k < len(pgroups) else "",
                 "Estimate": est, "StdErr": e}
                for k, (nm, est, e) in enumerate(zip(res.names, theta, se))]
        subj_col = any(r_["Subject"] for r_ in rows)
        group_col = any(r_["Group"] for r_ in rows)
        for r_ in rows:
            if not subj_col:
                r_.pop("Subject")
            if not group_col:
                r_.pop("Group")
        self.emit(Table(PROC, "CovParms", "Covariance Parameter Estimates",
                        [Column("CovParm", "Cov Parm")] + ([Column("Subject")] if subj_col else []) +
                        ([Column("Group")] if group_col else []) +
                        [Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4")], rows))
        covk = res.cov_beta
        if empirical:
            Vinv = np.linalg.inv(V)
            both = mask[:, :, None] & mask[:, None, :]
            Vinv = np.where(both, Vinv, 0.0)
            covk = self._empirical_cov(res.cov_beta, ld.X, Vinv, r, n)
        ddfm = self._ddfm()
        self.df_adjust = None
        if ddfm == "kr":
            # Kenward-Roger on the final pseudo linear mixed model: adjusted covariance and per-test DF
            Phi_A, Phi, P_, Q_, W_ = lm.kenward_roger(res.theta)
            if not empirical:
                covk = Phi_A
            self.ddf_pieces = (keep, (Phi, Phi_A, P_, Q_, W_), None)
        elif ddfm == "satterth":
            if res.cov_theta is None:
                raise SasError("The covariance of the covariance parameters is singular; DDFM=SATTERTHWAITE is not "
                               "available.", self.model.line, self.model.col)
            self.ddf_pieces = (keep, None, (*lm.satterthwaite_pieces(res.theta), res.cov_theta))
        if ddfm in ("kr", "satterth"):
            from ..stats.store import DDF
            self.df_adjust = DDF(ddfm, {}, math.nan, *self.ddf_pieces).adjust()
        full_beta = np.zeros(design.X.shape[1])
        full_beta[keep] = beta
        covb = np.zeros((design.X.shape[1],) * 2)
        covb[np.ix_(keep, keep)] = covk
        dfs = self._ddf(design, Z, codes, K, n, data, effects, terms, subj_vars)
        if self.mopts.has("s") or self.mopts.has("solution"):
            self._solutions(full_beta, covb, dfs)
        if self.mopts.has("oddsratio") or self.mopts.has("or") or self.popts.has("oddsratio"):
            self._odds_ratios(full_beta, covb, dfs, data)
        self._type3(full_beta, covb, dfs)
        self._covtests_pl(lm, res, gs, rs)
        rpart = None
        if H.random_coefficient_statement(self.hyps) is not None and gs is not None and q:
            rpart = H.RandomPart(self._rspecs, *lm.blup_parts(res.theta, res.beta), keep)
        self._hypotheses(full_beta, covb, dfs, data, rpart)
        if ropts.has("g") or ropts.has("gcorr"):
            self._gmatrix(gs.matrix(lm.split(res.theta)[0]), rnames, ropts.has("g"), ropts.has("gcorr")) \
                if gs is not None else None
        if ropts.has("solution") or ropts.has("s"):
            # BLUPs of the final pseudo linear mixed model with their prediction variances
            b_, Cbb, _ = lm.random_effects(res.theta, res.beta, res.cov_beta)
            self._random_solution(SimpleNamespace(modes=b_, mode_var=Cbb), rnames, uniq, subj_vars, dfs)
        from .glimmix_output import Computed, Model
        names = list(res.names)
        sc = float(theta[names.index("Scale")]) if "Scale" in names else \
            (float(theta[names.index("Residual")]) if "Residual" in names else None)
        G_ = gs.matrix(lm.split(res.theta)[0]) if (gs is not None and q) else None
        self._write_outputs(Computed(Model(Xk, beta, covk, res.cov_beta, offset, y, w, self.link, self._var_y(sc),
                                           dfs.get(-1, math.inf), Z if G_ is not None else None,
                                           codes if G_ is not None else None, self._pl_b if G_ is not None else None,
                                           G_)))

    def _normal_lmm(self) -> bool:
        """A normal response with the identity link: a linear mixed model, which GLIMMIX fits by (RE)ML."""
        return self.dist == "normal" and self.link.sas == "Identity"

    def _covtests_pl(self, lm, res, gs, rs):
        """COVTEST under pseudo-likelihood (REML/ML for the normal): the final pseudo linear mixed model refitted
        under each test's constraints."""
        if not self.covtests:
            return
        from ..stats import lmm as LM
        from . import glimmix_covtest as CT
        P = CT.Params(res.names, lm.ng, [bd[0] == 0.0 for bd in lm.bounds()], res.theta)
        maxiter = self.nlopts.get("maxiter", 200)
        rows = []
        for sp in self.covtests:
            c = CT.constraints(sp, P)
            if c is None:                       # HOMOGENEITY: the GROUP= structures without their groups
                if not isinstance(gs, LM.Grouped) and not isinstance(rs, LM.Grouped):
                    raise SasError("COVTEST HOMOGENEITY needs a RANDOM statement with GROUP=.", sp.stm.line,
                                   sp.stm.col)
                tg, tr = lm.split(res.theta)

                def pooled(struct, th):
                    if isinstance(struct, LM.Grouped):
                        ng = len(struct.glabels)
                        return struct.base, th.reshape(ng, struct.m).mean(axis=0), (ng - 1) * struct.m
                    return struct, th, 0
                g0, sg, dg = pooled(gs, tg) if gs is not None else (None, np.zeros(0), 0)
                r0, sr, dr = pooled(rs, tr)
                null = LM.LMM(lm.d, g0, r0, lm.method).fit(np.concatenate([sg, sr]), maxiter=maxiter).m2ll
                df, mix = dg + dr, None
            else:
                hold, vals = c
                df = int(hold.sum())
                null = lm.fit(vals, hold=hold, maxiter=maxiter).m2ll if df else res.m2ll
                mix = CT.mixture_of(hold, vals, P)
            rows.append(CT.row(sp, res.m2ll, null, df, mix))
        normal = self._normal_lmm()
        kind = ("reml" if normal else "rspl") if self.method in ("rspl", "rmpl") else ("ml" if normal else "mspl")
        self.emit(CT.table(rows, kind))

    def _covtest_reduced(self, agq, cov, vals, hold, Z, codes, Xk, y, w, offset):
        """The null model's quadrature without the random effects a test removes (variance components held at
        0; the last row and column of UN/CHOL held at 0): (AGQ, structure, starting values, held mask)."""
        drop, keep_par = None, None
        if type(cov) is M.VC:
            gone = [j for j in range(cov.npar) if hold[j] and vals[j] == 0]
            if gone:
                drop = np.isin(cov.groups, gone)
                keep_par = np.array([j not in gone for j in range(cov.npar)])
                rest = cov.groups[~drop]
                remap = {g_: i for i, g_ in enumerate(sorted(set(rest.tolist())))}
                cov0 = M.VC(int((~drop).sum()), [cov.labels[g_] for g_ in sorted(remap)],
                            np.array([remap[g_] for g_ in rest]))
        elif type(cov) in (M.UN, M.CHOL) and cov.q > 1:
            q = cov.q
            last = np.arange(cov.npar) >= q * (q - 1) // 2
            if hold[last].all() and not np.any(vals[last]) and not hold[~last].any():
                drop = np.arange(q) == q - 1
                keep_par = ~last
                cov0 = type(cov)(q - 1)
        if drop is None:
            return agq, cov, vals, hold
        gd0 = M.GLMMData.make(Xk, Z[:, ~drop], y, w, offset, codes, self.fam, self.link, self.prior_w)
        return M.AGQ(gd0, cov0, agq.n), cov0, vals[keep_par], hold[keep_par]

    def _covtests_quad(self, agq, res, cov, Xk, y, w, offset, k0, Z, codes):
        """COVTEST with METHOD=QUAD/LAPLACE: the quadrature likelihood maximised again under each test's
        constraints; with every G-side parameter at 0 the null model is the GLM."""
        if not self.covtests:
            return
        from . import glimmix_covtest as CT
        extra = res.scale is not None
        names = cov.names() + (["Scale"] if extra else [])
        lower0 = _lower_bounded(cov) + ([True] if extra else [])
        theta = np.concatenate([res.theta, [res.scale] if extra else []])
        P = CT.Params(names, cov.npar, lower0, theta)
        full = -2 * res.loglik
        rows = []
        for sp in self.covtests:
            c = CT.constraints(sp, P)
            if c is None:
                raise SasError("COVTEST HOMOGENEITY needs a RANDOM statement with GROUP=, which METHOD=QUAD/LAPLACE "
                               "does not support yet.", sp.stm.line, sp.stm.col)
            hold, vals = c
            df = int(hold.sum())
            if not df:
                null = full
            elif hold[:cov.npar].all() and not np.any(vals[:cov.npar]) and not hold[cov.npar:].any():
                if self.dist == "multinomial":      # the cumulative link GLM
                    from ..stats import ordinal as O
                    null = -2 * O.fit(Xk, y.astype(int), w, offset, len(self.mult_labels), self.cumlink).loglik
                    rows.append(CT.row(sp, full, null, df, CT.mixture_of(hold, vals, P)))
                    continue
                if self.dist not in ("binary", "binomial", "poisson"):
                    raise SasError(f"COVTEST without any G-side variance is not supported yet with "
                                   f"DIST={self.dist.upper()}.", sp.stm.line, sp.stm.col)
                gm = GL.fit(Xk, y, w, offset, self.fam, self.link, np.zeros(Xk.shape[1], dtype=bool), "noscale")
                null = -2 * gm.loglik_full
            elif self.dist == "multinomial":
                raise SasError("With DIST=MULTINOMIAL, COVTEST supports only tests that remove every G-side "
                               "parameter (GLM, ZEROG) yet.", sp.stm.line, sp.stm.col)
            else:
                agq0, cov0, th0, hold0 = self._covtest_reduced(agq, cov, vals[:cov.npar], hold[:cov.npar], Z, codes,
                                                              Xk, y, w, offset)
                if type(cov0) is M.UN and hold0.any() and not hold0.all():
                    raise SasError("COVTEST holding some of the TYPE=UN parameters is not supported yet with "
                                   "METHOD=QUAD/LAPLACE (use TYPE=CHOL, or a test that removes the last random "
                                   "effect).", sp.stm.line, sp.stm.col)
                try:
                    r0 = M.fit(agq0, res.beta, th0, k0=vals[cov.npar] if extra else k0,
                               hold=np.concatenate([hold0, hold[cov.npar:]]), maxiter=self.nlopts.get("maxiter", 200))
                except (np.linalg.LinAlgError, FloatingPointError, ValueError) as e:
                    raise SasError(f"The COVTEST null model could not be fitted: {e}", sp.stm.line, sp.stm.col)
                null = -2 * r0.loglik
            rows.append(CT.row(sp, full, null, df, CT.mixture_of(hold, vals, P)))
        self.emit(CT.table(rows, "ml"))

    def _hypotheses(self, beta, covb, dfs, data, rpart=None):
        """CONTRAST (one table for all of them, after the Type III tests), then ESTIMATE and LSMEANS in order;
        then STORE.  ``rpart`` (a hypotheses.RandomPart) gives coefficients after '|' their BLUPs (modes)."""
        self._fitted = (beta, covb, dfs, data)
        hyps = getattr(self, "hyps", [])
        ct = H.contrast_table(self.s, PROC, [stm for kw, stm in hyps if kw == "contrast"], self.design, beta, covb,
                              dfs, getattr(self, "df_adjust", None), random=rpart, random_df=dfs.get(-1, math.inf),
                              nonpositional=True)
        if ct is not None:
            self.emit(ct)
        # at the first ESTIMATE statement: the unadjusted ones in one Estimates table, then a table for each
        # adjusted one, as the documentation's ESTIMATE statement describes
        done = False
        for kw, stm in hyps:
            if kw not in ("contrast", "estimate"):
                self._hypothesis(kw, stm, beta, covb, dfs, data)
            elif kw == "estimate" and not done:
                done = True
                est = [self._estimate(st_, beta, covb, dfs, rpart) for kw_, st_ in hyps if kw_ == "estimate"]
                plain = [e for e in est if e[1] is None]
                if plain:
                    flags = [any(f[k] for _, _, f in plain) for k in range(3)]
                    cols = [Column("Label")] + H._stat_columns(math.inf, *flags, True)
                    self.emit(Table(PROC, "Estimates", "Estimates", cols, [r for rows, _, _ in plain for r in rows]))
                for _, table, _ in est:
                    if table is not None:
                        self.emit(table)

    def _hypothesis(self, kw, stm, beta, covb, dfs, data):
        means = H.covariate_means(self.design, self.classes, data)
        if kw in ("lsmeans", "slice"):
            adj = getattr(self, "df_adjust", None)
            df_of = (lambda L: adj(np.atleast_2d(L), 1.0, None)[0]) if adj is not None else None
            for t in H.lsmeans_tables(self.s, PROC, stm, self.design, self.classes, data, means, beta, covb, self.link,
                                      df_for=lambda k: dfs.get(k, math.inf), df_of=df_of, slice_adjust=adj,
                                      slices="glimmix", glimmix=True, statement=kw,
                                      exact_dunnett=self.glm_mode and self.dist == "normal"):
                self.emit(t)
            return
        if kw == "lsmestimate":
            adj = getattr(self, "df_adjust", None)
            df_of = (lambda L: adj(np.atleast_2d(L), 1.0, None)[0]) if adj is not None else None
            self.emit(H.lsmestimate_table(self.s, PROC, stm, self.design, self.classes, data, means, beta, covb,
                                          self.link, df_for=lambda k: dfs.get(k, math.inf), df_of=df_of))

    def _estimate(self, stm, beta, covb, dfs, rpart):
        """One ESTIMATE statement: (its rows, its own table when ADJUST= asks for one, else None, and whether it
        asked for CL, ILINK and EXP)."""
        subject, stm = H.random_coefficient_options(stm, rpart)
        o = H.hypothesis_options(self.s, stm, "estimate", {"exp", "alpha", "cl", "ilink", "e", "divisor", "singular",
                                                           "adjust"}, ignored=["e", "singular"])
        alpha = float(o.get("alpha", 0.05))
        adjust = str(o.get("adjust", "t")).lower()
        adjust = {"bon": "bonferroni", "sid": "sidak", "sch": "scheffe"}.get(adjust, adjust)
        if adjust not in ("t", "none", "bonferroni", "sidak", "scheffe"):
            raise SasError(f"ESTIMATE ADJUST={adjust.upper()} is not supported yet (BON, SIDAK, SCHEFFE and T are).",
                           stm.line, stm.col)
        rows = []
        Ls = []
        for label, L, rc in H.parse_rows(stm.items, self.design, stm, random=rpart or False, nonpositional=True):
            if not H.estimable(L, self.design):
                # SAS prints Non-est for a linear combination that is not estimable
                self.s.log.note(f"The ESTIMATE row '{label}' is not estimable.")
                rows.append({"Label": label, "Estimate": None, "StdErr": None, "_display": {"Estimate": "Non-est"}})
                continue
            est, se = H.estimate_row(label, L, rc, rpart, subject, stm, beta, covb)
            # with random-effect coefficients: the DF of the fixed part, or the random solutions' without one
            d = H.row_ddf(L, self.design, dfs) if np.any(L) or not rc else dfs.get(-1, math.inf)
            if getattr(self, "df_adjust", None) is not None and np.any(L):
                d = self.df_adjust(np.atleast_2d(L), 1.0, d)[0]
            r = {"Label": label}
            r.update(H._stat_cols(est, se, d, alpha, o.has("cl"), o.has("ilink"), self.link, o.has("exp"), True))
            rows.append(r)
            Ls.append(L)
        cols = [Column("Label")] + H._stat_columns(math.inf, o.has("cl"), o.has("ilink"), o.has("exp"), True)
        if adjust not in ("t", "none") and rows and all(r_.get("Estimate") is not None for r_ in rows):
            # the adjustment is over the rows of this ESTIMATE statement (Scheffe with rank(L) numerator DF)
            rank = int(np.linalg.matrix_rank(np.array(Ls)))
            cols += H._adjust_rows(rows, adjust, rank + 1, alpha, o.has("cl"))
            return rows, Table(PROC, "Estimates", "Estimates", cols, rows), None
        return rows, None, (o.has("cl"), o.has("ilink"), o.has("exp"))

    def _gmatrix(self, G, rnames, g, gcorr):
        q = G.shape[0]
        for want, name, title, M_ in ((g, "G", "Estimated G Matrix", G),
                                      (gcorr, "GCorr", "Estimated G Correlation Matrix",
                                       G / np.sqrt(np.outer(np.diag(G), np.diag(G))))):
            if not want:
                continue
            rows = [{"Effect": rnames[i], "Row": i + 1, **{f"Col{j + 1}": M_[i, j] for j in range(q)}} for i in range(q)]
            cols = [Column("Effect"), Column("Row", None, "INT")] + [Column(f"Col{j + 1}", None, "10.4") for j in range(q)]
            self.emit(Table(PROC, name, title, cols, rows))

    def _random_solution(self, res, rnames, uniq, subj_vars, dfs):
        rows = []
        df = dfs.get(-1, math.inf)
        ro = getattr(self, "_ropts", None)
        cl = ro is not None and ro.has("cl")
        alpha = float(ro.get("alpha", 0.05)) if cl and isinstance(ro.get("alpha", 0.05), float) else 0.05
        q = st.t.ppf(1 - alpha / 2, df) if df != math.inf else st.norm.ppf(1 - alpha / 2)
        for k, key in enumerate(uniq):
            label = " ".join(str(v if not isinstance(v, float) or not v.is_integer() else int(v)) for v in key)
            for i, nm in enumerate(rnames):
                est = float(res.modes[k, i])
                se = math.sqrt(max(float(res.mode_var[k, i, i]), 0.0))
                t = est / se if se > 0 else math.nan
                rows.append({"Effect": nm, "Subject": f"{self.subject_text} {label}", "Estimate": est,
                             "StdErrPred": se, "DF": df, "tValue": t,
                             "Probt": 2 * (st.t.sf(abs(t), df) if df != math.inf else st.norm.sf(abs(t)))})
                if cl:      # RANDOM CL (ALPHA=): t limits with the solution's DF
                    rows[-1].update({"Alpha": alpha, "Lower": est - q * se, "Upper": est + q * se})
        cols = [Column("Effect"), Column("Subject"), Column("Estimate", None, "10.4"),
                Column("StdErrPred", "Std Err\nPred", "10.4"), Column("DF", None, "DFMT"),
                Column("tValue", "t Value", "8.2"), Column("Probt", "Pr > |t|", "PVALUE6.4")]
        if cl:
            cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
        self.emit(Table(PROC, "SolutionR", "Solution for Random Effects", cols, rows))

    def _empirical_cov(self, Omega, D, Sinv, e, n):
        """The EMPIRICAL= sandwich for residual-based estimation (pseudo-likelihood, GLM mode): per-subject
        scores (bias-corrected for ROOT/FIRORES/FIROEEQ), then the classical or MBN sandwich."""
        kind, o = self.empirical
        U = corrected_scores(D, Sinv, e, Omega, kind, **({"r": o["r"]} if kind == "firoeeq" and o else {}))
        return sandwich(Omega, U, "mbn" if kind == "mbn" else "classical", k=Omega.shape[0], f=n,
                        **(o if kind == "mbn" else {}))

    def _pl_parms(self, lm, npar):
        """PARMS under pseudo-likelihood: the grid is searched on the first pseudo linear mixed model."""
        points, mask, noiter, _ = parse_parms(self.parms, npar)     # nothing is profiled here
        if len(points) == 1:
            return points[0], mask, noiter
        best, table = grid_search(PROC, points, lm.objective, "-2 Res Log PL" if lm.method == "reml" else "-2 Log PL")
        self.emit(table)
        return best, mask, noiter

    def _quad_parms(self, gd, cov, beta, theta0, k0, method, qpoints):
        """PARMS for quadrature: starting values (the best point of a grid, with a Parameter Search table),
        HOLD= and NOITER (all covariance parameters held; the fixed effects are still estimated)."""
        extra = k0 is not None
        npar = cov.npar + (1 if extra else 0)
        points, mask, noiter, _ = parse_parms(self.parms, npar)     # nothing is profiled here
        if noiter:
            mask = np.ones(npar, dtype=bool)
        if mask is not None and mask[:cov.npar].any() and not mask[:cov.npar].all() and \
                isinstance(cov, M.UN):
            raise SasError("HOLD= on some of the TYPE=UN parameters is not supported yet with METHOD=QUAD/LAPLACE "
                           "(hold all of them, or use TYPE=CHOL or VC).", self.parms.line, self.parms.col)
        if len(points) > 1:
            agq = M.AGQ(gd, cov, 1 if method == "laplace" else (qpoints or 1))

            def m2ll(pt):
                if extra:
                    setattr(gd.fam, M.scale_attr(gd.fam), pt[-1])
                return -2 * float(agq.subject_loglik(beta, cov.G(pt[:cov.npar])).sum())
            best, table = grid_search(PROC, points, m2ll, "-2 Log L")
            self.emit(table)
        else:
            best = points[0]
        return best[:cov.npar], (best[-1] if extra else None), mask

    def _rside_spec(self, stm, ds):
        """RANDOM _RESIDUAL_ / SUBJECT= TYPE= (or RANDOM effect / RESIDUAL): the R-side structure."""
        o = Options(stm.options or [], RANDOM_OPTS, "RANDOM")
        for k in ("g", "gcorr", "solution", "s"):
            if o.has(k):
                raise SasError(f"The RANDOM option {k.upper()} is not available for an R-side (_RESIDUAL_) effect.",
                               stm.line, stm.col)
        group = None
        if o.has("group"):
            group = ds.colname(str(o.get("group")))
            if group is None:
                raise SasError(f"Variable {str(o.get('group')).upper()} not found.", stm.line, stm.col)
        kind = str(o.get("type", "vc")).lower()
        if isinstance(o.get("type"), A.Group):
            g = o.get("type")
            kind = type_text(g)
        coords = sp_coords(o, stm, ds, kind) if sp_kind(kind) else []
        from ..stats import lmm as LM
        if kind not in ("vc", "simple", "cs", "ar(1)", "toep", "un", "csh", "arh(1)") and not sp_kind(kind) \
                and not LM.is_extra_kind(kind):
            raise SasError(f"R-side TYPE={kind.upper()} is not supported yet (VC, CS, AR(1), TOEP, UN, CSH, ARH(1), "
                           "ANTE(1), TOEPH, TOEPH(n), UNR, ARMA(1,1), SP(POW|EXP|GAU|SPH|LIN) are).", stm.line, stm.col)
        words = [str(it.value).lower() for it in stm.items if isinstance(it, A.Word)]
        effect = None
        rest = [w for w in words if w not in _RESID_WORDS]
        if rest:
            if len(rest) > 1:
                raise SasError("An R-side RANDOM effect must be a single CLASS variable.", stm.line, stm.col)
            effect = ds.colname(rest[0])
            if effect is None:
                raise SasError(f"Variable {rest[0].upper()} not found.", stm.line, stm.col)
        subj, text = None, None
        node = o.nodes.get("subject", o.nodes.get("sub"))
        if node is not None:
            subj, text = subject_vars(ds, node, stm, allow_intercept=True)
        if kind not in ("vc", "simple") and not sp_kind(kind) and subj is None:
            raise SasError(f"R-side TYPE={kind.upper()} needs SUBJECT=.", stm.line, stm.col)
        if sp_kind(kind) and group is not None:
            raise SasError(f"R-side TYPE={kind.upper()} with GROUP= is not supported yet.", stm.line, stm.col)
        return {"kind": "vc" if kind == "simple" else kind, "effect": effect, "subj": subj, "subj_text": text,
                "stmt": stm, "group": group, "coords": coords}

    def _rside_positions(self, rside, data, classes, codes, K, n):
        """Grid positions of the observations within their subject (the R-side effect's level, or the order
        of the observations) and the R structure of that size."""
        from ..stats import lmm as LM
        if rside["effect"] is not None:
            cv = classes.get(rside["effect"])
            if cv is None:
                raise SasError(f"The R-side effect {rside['effect']} must be a CLASS variable.",
                               rside["stmt"].line, rside["stmt"].col)
            pos = cv.codes(data[rside["effect"]])
            T = len(cv.levels)
        else:
            pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
            T = int(pos.max()) + 1
        if len(np.unique(codes.astype(np.int64) * T + pos)) != n:
            raise SasError("An R-side position occurs more than once within a subject.", rside["stmt"].line,
                           rside["stmt"].col)
        g = rside.get("group")
        if g is None and rside["coords"]:
            c = np.zeros((K, T, len(rside["coords"])))
            c[codes, pos] = np.column_stack([np.asarray(data[v], dtype=float) for v in rside["coords"]])
            return pos, T, LM.SPs(T, c, sp_kind(rside["kind"]))
        if g is None:
            rs = LM.make_struct("vc", 1, ["Residual"]) if rside["kind"] == "vc" else LM.make_struct(rside["kind"], T)
            return pos, T, rs
        # GROUP=: one copy of the parameters per group level ("type 1" labels); a VC residual may change group
        # from observation to observation (SAS names its parameters "Residual (VC)"), other structures need the
        # group constant within a subject
        from .modeling import group_levels
        gcodes, glabels = group_levels(g, classes, data, data)
        if rside["kind"] == "vc":
            base = LM.ScalarResid(T, "Residual (VC)")
            gk = np.zeros((K, T), dtype=int)
            gk[codes, pos] = gcodes
        else:
            base = LM.make_struct(rside["kind"], T)
            per = pd.Series(gcodes).groupby(codes)
            if (per.nunique() > 1).any():
                raise SasError(f"GROUP={g} varies within a subject; this is supported only with TYPE=VC.",
                               rside["stmt"].line, rside["stmt"].col)
            gk = per.first().to_numpy().astype(int)
        return pos, T, LM.Grouped(base, gk, glabels)

    def _nobs_table(self, n):
        """Number of Observations; with FREQ also the sums of frequencies read and used."""
        fi = self.freq_info
        et = getattr(self, "_events_trials", None)
        # events/trials: SAS adds the numbers of events and trials (the GLIMMIX documentation's multicenter
        # example: 155 events in 503 trials)
        extra = [("Number of Events", et[0]), ("Number of Trials", et[1])] if et is not None else []
        if fi is None:
            return nobs_table(PROC, self.ds.nobs, n, extra)
        used_rows = len(np.unique(fi.rows[self.used]))
        return nobs_table(PROC, fi.original.nobs, used_rows,
                          [("Sum of Frequencies Read", fi.freq_read), ("Sum of Frequencies Used", n)] + extra)

    def _var_y(self, sc):
        """var[Y | random effects] as a function of (mu, weight) at the final estimates; ``sc`` is the fitted
        scale (normal: residual variance; gamma, inverse Gaussian: phi; negative binomial: k; beta: phi)."""
        d, fam = self.dist, self.fam
        if d == "normal":
            return lambda mu, w: np.full(np.shape(mu), float(sc)) / w
        if d in ("gamma", "invgauss"):
            return lambda mu, w: float(sc) * fam.variance(mu) / w
        if d == "exponential":
            return lambda mu, w: mu ** 2 / w
        if d == "negbin":
            return lambda mu, w: (mu + float(sc) * mu ** 2) / w
        if d == "beta":
            return lambda mu, w: mu * (1 - mu) / (1 + float(sc)) / w
        return lambda mu, w: fam.variance(mu) / w

    def _check_outputs(self, rside, nested):
        """Statistics beyond PRED and RESID need the G-side model of one SUBJECT= effect (checked before the fit)."""
        for req in getattr(self, "outputs", []):
            extra = [s_ for s_ in req.resolved(True) if s_.kind not in ("pred", "resid")]
            if extra and (rside is not None or nested):
                raise SasError(f"The OUTPUT statistic {extra[0].kind.upper()} is not supported yet with "
                               + ("an R-side RANDOM statement" if rside is not None else
                                  "several RANDOM statements with different SUBJECT= effects")
                               + " (PRED and RESID are).", req.line, req.col)

    def _prediction_rows(self, model):
        """Observations not used in the fit whose predictors are all present (a missing response, typically):
        their X, offset, Z and subject code (-1 for a subject without data in the fit)."""
        sp = getattr(self, "_pred_spec", None)
        ds = self.ds
        rows = np.nonzero(~self.used)[0]
        if sp is None or not len(rows):
            return None
        ok = np.ones(len(rows), dtype=bool)
        data = {}
        for v in sp["vars"]:
            col = ds.column(v).to_numpy()[rows]
            if v in self.classes:
                ok &= self.classes[v].codes(col) >= 0
                data[v] = col
            elif v in sp["subj_vars"]:
                ok &= ~pd.isna(col)
                data[v] = col
            else:
                colf = pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(dtype=float)
                ok &= ~np.isnan(colf)
                data[v] = colf
        if not ok.any():
            return None
        rows = rows[ok]
        data = {k: v[ok] for k, v in data.items()}
        X = D.build(data, self.classes, sp["effects"], intercept=sp["intercept"], template=self.design).X[:, sp["keep"]]
        off = data[sp["offset_var"]] if sp["offset_var"] else np.zeros(len(rows))
        Z = codes = None
        if model.Z is not None:
            Z = np.hstack([D.build(data, self.classes, g["effects"], intercept=g["intercept"], keep_empty=True,
                                   constructed=self.constructed).X
                           for g in sp["gspecs"]])
            index = {tuple(k): i for i, k in enumerate(sp["uniq"])}
            keys = list(zip(*[data[v] for v in sp["subj_vars"]]))
            codes = np.array([index.get(tuple(k), -1) for k in keys], dtype=int)
        return rows, X, off, Z, codes

    def _write_outputs(self, comp):
        """OUTPUT OUT=: the input data (or the ID variables) with the requested statistics of the fitted model
        (a glimmix_output.Computed); observations not used get missing values, except predictions for
        observations with a missing response."""
        from ..data.dataset import Dataset, normalise_frame
        from .glimmix_output import PREDICTIVE
        model = comp.m
        reqs = getattr(self, "outputs", [])
        if not reqs:
            return
        ds = self.ds
        idx = np.nonzero(self.used)[0]
        fi = self.freq_info
        new = None
        if fi is not None:              # one output row per input observation, not per frequency copy
            ds, idx = fi.original, fi.rows[idx]
        else:
            new = self._prediction_rows(model)
        for req in reqs:
            ids = getattr(self, "id_vars", None)
            frame = ds.df.copy() if not ids else ds.df[ids].copy()
            if req.novar and not ids:
                frame = frame.iloc[:, :0]
            taken = {c.lower() for c in frame.columns}
            for st_ in req.resolved(comp.q > 0):
                full = np.full(ds.nobs, np.nan)
                full[idx] = comp.used(st_, req.alpha)
                if new is not None and st_.kind in PREDICTIVE:
                    rows, X, off, Z, codes = new
                    full[rows] = comp.new(st_, X, off, Z, codes, req.alpha)
                name = st_.name
                if name.lower() in taken:
                    if req.nounique:
                        continue
                    k = 1
                    while f"{name}{k}".lower() in taken:
                        k += 1
                    name = f"{name}{k}"
                taken.add(name.lower())
                frame[name] = full
            if req.nomiss:
                keep_rows = np.zeros(ds.nobs, dtype=bool)
                keep_rows[idx] = True
                frame = frame[keep_rows].reset_index(drop=True)
            upper = {c.upper() for c in frame.columns}
            meta = {k: v for k, v in ds.meta.items() if k in upper}
            self.s.put_dataset(req.out, Dataset(normalise_frame(frame), meta))

    # ------------------------------------------------------------------ helpers
    def _dist_label(self):
        if getattr(self, "glogit", False):
            return "Multinomial (nominal)"
        return "Lognormal" if getattr(self, "lognormal", False) else _DIST_LABEL[self.dist]

    def _subject_vars(self, subj, rnd):
        from .modeling import subject_vars
        cols, self.subject_text = subject_vars(self.ds, subj, rnd)
        return cols

    def _model_info(self, yname, offset_var, subj_vars, method, popts):
        dist_name = self._dist_label()
        link_label = self.cumlink.sas if self.dist == "multinomial" else self.link.sas
        rows = [("Data Set", getattr(self.ds, "display_name", self.ref.display)), *_response_rows(yname),
                ("Response Distribution", dist_name), ("Link Function", link_label),
                ("Variance Function", "Default")]
        if offset_var:
            rows.append(("Offset Variable", offset_var))
        if self.weight_var:
            rows.append(("Weight Variable", self.weight_var))
        # SAS: "Variance Matrix Blocked By" with processing by subjects; "Not blocked" for a G-side RANDOM statement
        # without SUBJECT=; "Diagonal" for R-side effects on their own without SUBJECT=
        vm = ("Variance Matrix Blocked By", self.subject_text) if self.subject_text else \
            ("Variance Matrix", "Not blocked" if getattr(self, "no_subject", False) else "Diagonal")
        rows += [vm, ("Estimation Technique", "Maximum Likelihood"),
                 ("Degrees of Freedom Method", self._ddfm_label())]
        if method in ("quad", "laplace"):
            rows.insert(-1, ("Likelihood Approximation", "Gauss-Hermite Quadrature" if method == "quad" else "Laplace"))
        else:
            rows[[r[0] for r in rows].index("Estimation Technique")] = (
                "Estimation Technique", ("Restricted Maximum Likelihood" if method.startswith("r") else
                                         "Maximum Likelihood") if self._normal_lmm() else
                {"rspl": "Residual PL", "mspl": "Maximum PL", "rmpl": "Residual MPL", "mmpl": "Maximum MPL"}[method])
        if self.empirical is not None:
            rows.append(("Fixed Effects SE Adjustment", "Sandwich - " + _EMP_LABEL[self.empirical[0]]))
        elif self._ddfm() == "kr":
            rows.append(("Fixed Effects SE Adjustment", "Kenward-Roger"))
        self.emit(Table(PROC, "ModelInfo", "Model Information", [Column("Label", ""), Column("Value", "")],
                        [{"Label": a, "Value": b} for a, b in rows], kind="kv"))

    def _ddfm(self):
        # SAS: BETWITHIN is the default for models with only R-side random effects and a SUBJECT= option
        rside_only = getattr(self, "rside", None) is not None and not [r for r in self.randoms if not _is_rside(r)]
        default = "betwithin" if rside_only and self.rside["subj"] else "contain"
        v = str(self.mopts.get("ddfm", default)).lower()
        m = {"bw": "betwithin", "betwithin": "betwithin", "contain": "contain", "con": "contain",
             "residual": "residual", "res": "residual", "none": "none", "kr": "kr", "kenwardroger": "kr",
             "satterthwaite": "satterth", "satterth": "satterth", "sat": "satterth"}.get(v)
        if m in ("kr", "satterth") and (not self.method.endswith("pl") or self.glm_mode):
            raise SasError(f"DDFM={v.upper()} needs a pseudo-likelihood method and random effects in PROC GLIMMIX "
                           "(as in SAS, it is not available with METHOD=QUAD/LAPLACE).", self.model.line,
                           self.model.col)
        if m is None:
            raise SasError(f"DDFM={v.upper()} is not supported yet in PROC GLIMMIX (CONTAIN, BETWITHIN, RESIDUAL, NONE, "
                           "KENWARDROGER and SATTERTHWAITE are).", self.model.line, self.model.col)
        return m

    def _ddfm_label(self):
        from ..stats.store import DDF
        return DDF.LABELS[self._ddfm()]

    def convergence_status(self, converged):
        """SAS's convergence line, or the WARNING that the fit did not converge."""
        if converged:
            self.emit(Table(PROC, "ConvergenceStatus", "", [Column("Reason", "")],
                            [{"Reason": "Convergence criterion (GCONV=1E-8) satisfied."}], kind="kv"))
        else:
            self.s.log.warning("The GLIMMIX procedure did not converge; the estimates below may not be reliable.")

    def dims_table(self, dims):
        self.emit(Table(PROC, "Dimensions", "Dimensions", [Column("Descr", ""), Column("Value", "", "INT")],
                        [{"Descr": a, "Value": b} for a, b in dims], kind="kv"))

    def ic_table(self, m2ll, k, n, nsub):
        """Fit Statistics of a maximum likelihood fit: -2 log L and the information criteria for k parameters,
        n observations (AICC) and nsub subjects (BIC, CAIC, HQIC)."""
        rows = [("-2 Log Likelihood", m2ll), ("AIC  (smaller is better)", m2ll + 2 * k),
                ("AICC (smaller is better)", m2ll + 2 * k * n / (n - k - 1) if n - k - 1 > 0 else math.nan),
                ("BIC  (smaller is better)", m2ll + k * math.log(nsub)),
                ("CAIC (smaller is better)", m2ll + k * (math.log(nsub) + 1)),
                ("HQIC (smaller is better)", m2ll + 2 * k * math.log(math.log(nsub)) if nsub > 2 else math.nan)]
        self.emit(Table(PROC, "FitStatistics", "Fit Statistics", [Column("Descr", ""), Column("Value", "", "12.2")],
                        [{"Descr": a, "Value": b} for a, b in rows], kind="kv"))

    def _fit_stats(self, res, p, t, K, n, agq, method, y, w):
        # one subject (a RANDOM statement without SUBJECT=): n of BIC/CAIC/HQIC as PROC MIXED takes it, the levels
        # of the first random effect
        self.ic_table(-2 * res.loglik, p + t, n, K if K > 1 else getattr(self, "_ic_one_subject", K))
        if self.dist == "multinomial":
            return
        # conditional distribution at the empirical Bayes modes
        d = agq.d
        b = res.modes
        eta = np.einsum("ktp,p->kt", d.X, res.beta) + d.off + np.einsum("ktq,kq->kt", d.Z, b)
        mu = self.link.inv(eta)
        mask = d.mask
        yy, ww, mm = d.y[mask], d.w[mask], mu[mask]
        if isinstance(self.fam, Binomial):
            mm = np.clip(mm, 1e-15, 1 - 1e-15)
        phi_c = res.scale if self.dist in ("gamma", "beta", "invgauss") else 1.0
        cond = -2 * (self.fam.loglik_full(yy, mm, ww, phi_c))
        pear = float(np.sum(ww * (yy - mm) ** 2 / self.fam.variance(mm)))
        crow = [("-2 log L(" + (self.model.response[1] if self.model.response[0] == "var" else "y") + " | r. effects)", cond),
                ("Pearson Chi-Square", pear), ("Pearson Chi-Square / DF", pear / n)]
        self.emit(Table(PROC, "CondFitStatistics", "Fit Statistics for Conditional Distribution",
                        [Column("Descr", ""), Column("Value", "", "12.2")], [{"Descr": a, "Value": b} for a, b in crow],
                        kind="kv"))

    def _cov_parms(self, res, cov, subj_vars, p):
        rows = []
        se = [float(v) if v > 0 else None for v in np.sqrt(np.maximum(np.diag(res.cov)[p:], 0.0))]
        psub = getattr(self, "param_subjects", None) or []
        for k, (nm, est, e) in enumerate(zip(cov.names(), res.theta, se)):
            rows.append({"CovParm": nm, "Subject": psub[k] if k < len(psub) and psub[k] else self.subject_text,
                         "Estimate": est, "StdErr": e})
        if res.scale is not None:
            rows.append({"CovParm": "Scale", "Subject": "", "Estimate": res.scale, "StdErr": se[-1]})
        subj_col = [Column("Subject")] if any(r_["Subject"] for r_ in rows) else []
        if not subj_col:
            for r_ in rows:
                del r_["Subject"]
        self.emit(Table(PROC, "CovParms", "Covariance Parameter Estimates",
                        [Column("CovParm", "Cov Parm")] + subj_col + [Column("Estimate", None, "10.4"),
                         Column("StdErr", "Standard\nError", "10.4")], rows))

    def _labels(self, j):
        c = self.design.columns[j]
        out = {"Effect": c.effect}
        for v in self._level_vars():
            out[v] = c.levels.get(v, "")
        return out

    def _level_vars(self):
        """The CLASS variables, then the constructed effects (whose columns are numbered like levels)."""
        return [co.name for co in self.copts] + list(getattr(self, "constructed", None) or {})

    def _class_cols(self):
        used = []
        for c in self.design.columns:
            for v in c.levels:
                if v not in used:
                    used.append(v)
        return [Column(v, v) for v in self._level_vars() if v in used]

    def t_row(self, b, se, df, alpha):
        """Estimate, StdErr, DF, t and its p-value (normal when DF is infinite), and with MODEL CL the limits."""
        t = b / se if se > 0 else math.nan
        r = {"Estimate": b, "StdErr": se, "DF": df, "tValue": t,
             "Probt": 2 * (st.t.sf(abs(t), df) if df != math.inf else st.norm.sf(abs(t)))}
        if self.mopts.has("cl"):
            qq = st.t.ppf(1 - alpha / 2, df) if df != math.inf else st.norm.ppf(1 - alpha / 2)
            r.update({"Alpha": alpha, "Lower": b - qq * se, "Upper": b + qq * se})
        return r

    def _solutions(self, beta, covb, dfs, scale=None, title="Solutions for Fixed Effects", cutpoints=None):
        """The fixed-effects table; ``cutpoints`` = (estimates, standard errors, DF) of a cumulative model's
        intercepts, printed first as Intercept rows labelled by the response level."""
        rows = []
        alpha = float(self.mopts.get("alpha", 0.05))
        ycol = []
        if cutpoints is not None:
            yn = self.ds.colname(self.model.response[1])
            ycol = [Column(yn)]
            for lab, b, se, df in zip(self.mult_labels, *cutpoints):
                r = {**{k: "" for k in (self._labels(0) if len(beta) else {})}, "Effect": "Intercept", yn: lab,
                     **self.t_row(b, se, df, alpha)}
                ycol_name = yn
                rows.append(r)
        for j in range(len(beta)):
            r = self._labels(j)
            if cutpoints is not None:
                r[ycol_name] = ""
            df = dfs[self.design.effect_of_col[j]]
            if self.design.aliased[j]:
                r.update({"Estimate": 0.0, "StdErr": None, "DF": None, "tValue": None, "Probt": None})
            else:
                b, se = beta[j], math.sqrt(max(covb[j, j], 0.0))
                if getattr(self, "df_adjust", None) is not None:
                    e_ = np.zeros((1, len(beta)))
                    e_[0, j] = 1.0
                    df = self.df_adjust(e_, 1.0, df)[0]
                r.update(self.t_row(b, se, df, alpha))
            rows.append(r)
        if scale is not None:                  # (estimate, standard error) of the GLM-mode Scale row
            rows.append({**{k: "" for k in self._labels(0)}, "Effect": "Scale", "Estimate": scale[0],
                         "StdErr": scale[1], "DF": None, "tValue": None, "Probt": None})
        cols = [Column("Effect")] + ycol + self._class_cols() + [
            Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4"), Column("DF", None, "DFMT"),
            Column("tValue", "t Value", "8.2"), Column("Probt", "Pr > |t|", "PVALUE6.4")]
        if self.mopts.has("cl"):
            cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
        self.emit(Table(PROC, "ParameterEstimates", title, cols, rows))

    def _type3(self, beta, covb, dfs):
        self._covb_tables(covb)
        self.emit(H.type3_table(PROC, "Type III Tests of Fixed Effects", self.design, beta, covb, dfs,
                                self.mopts.has("chisq"), getattr(self, "df_adjust", None)))

    def _covb_tables(self, covb):
        """MODEL COVB / CORRB: the matrices behind the tests (the sandwich with EMPIRICAL, adjusted with KR).
        Not for DIST=MULTINOMIAL (its intercepts are kept apart)."""
        if not (self.mopts.has("covb") or self.mopts.has("corrb")):
            return
        if self.dist == "multinomial":
            self.s.log.warning("The MODEL options COVB and CORRB are not supported with DIST=MULTINOMIAL; "
                               "they are ignored.")
            return
        for t in fixed_matrix_tables(PROC, self.mopts, self.design, self.copts, covb):
            self.emit(t)

    def _odds_ratios(self, beta, covb, dfs, data):
        """SAS's default Odds Ratio Estimates (MODEL / ODDSRATIO; logit and cumulative logit links): for a CLASS
        main effect A, differences of A's least-squares means against its last level (other CLASS variables
        averaged with equal weights, continuous variables at their means); for a continuous variable x, the
        least-squares means at x-bar + 1 against x-bar, at each level combination of the CLASS variables that
        share an effect with x.  Each row names the two conditions in the columns v and _v."""
        import itertools
        if not ((self.dist in ("binary", "binomial") and self.link.name == "logit") or
                (self.dist == "multinomial" and self.cumlink.name == "cumlogit")):
            self.s.log.note("Odds ratios are computed only for the logit and cumulative logit links; the ODDSRATIO "
                            "option has no effect here.")
            return
        diff_first = self.or_diff_first
        design, classes = self.design, self.classes
        order = []
        for eff in design.effects:
            for v in eff.all_vars():
                if v not in order:
                    order.append(v)
        means = {v: float(np.mean(data[v])) for v in order if v not in classes}
        comparisons = []            # (setting 1, setting 0)
        mains = {e.factors[0] for e in design.effects if len(e.all_vars()) == 1}
        for v in order:
            if v in classes:
                if v in mains:
                    labs = classes[v].labels
                    ref = labs[0] if diff_first else labs[-1]
                    comparisons += [({v: lab}, {v: ref}) for lab in labs if lab != ref]
                continue
            partners = [u for u in order if u in classes and
                        any(v in e.all_vars() and u in e.all_vars() for e in design.effects)]
            for combo in itertools.product(*[classes[u].labels for u in partners]):
                s0 = dict(zip(partners, combo))
                s1 = dict(s0)
                s0[v], s1[v] = means[v], means[v] + 1.0
                comparisons.append((s1, s0))
        shown = [v for v in order if any(v in s1 for s1, _ in comparisons)]
        alpha = float(self.mopts.get("alpha", 0.05))
        rows = []
        for s1, s0 in comparisons:
            L = H.lsm_row(design, classes, s1, means, product=True) - H.lsm_row(design, classes, s0, means, product=True)
            # CLASS variables not in the comparison are averaged over (blank); continuous ones sit at their means
            row = {v: s1.get(v, "" if v in classes else means[v]) for v in shown}
            row.update({"_" + v: s0.get(v, "" if v in classes else means[v]) for v in shown})
            ks = {design.effect_of_col[j] for j in np.nonzero(np.abs(L) > 1e-12)[0]} - {-1}
            if not H.estimable(L, design) or not ks:
                row.update({"Estimate": None, "DF": None, "Lower": None, "Upper": None})
            else:
                est = float(L @ beta)
                se = math.sqrt(max(float(L @ covb @ L), 0.0))
                df = min(dfs.get(k, math.inf) for k in ks)
                qq = st.t.ppf(1 - alpha / 2, df) if df != math.inf else st.norm.ppf(1 - alpha / 2)
                row.update({"Estimate": math.exp(est), "DF": df, "Lower": math.exp(est - qq * se),
                            "Upper": math.exp(est + qq * se)})
            rows.append(row)
        if not rows:
            return
        cols = [Column(v, v, None if v in classes else "BEST8.") for v in shown] + \
            [Column("_" + v, "_" + v, None if v in classes else "BEST8.") for v in shown] + \
            [Column("Estimate", "Estimate", "8.3"), Column("DF", None, "DFMT"),
             Column("Lower", f"{100 * (1 - alpha):g}% Confidence\nLimits", "8.3"), Column("Upper", "", "8.3")]
        self.emit(Table(PROC, "OddsRatios", "Odds Ratio Estimates", cols, rows))

    def _oddsratio_diff(self) -> bool:
        """ODDSRATIO(DIFF=FIRST | LAST): True when the CLASS odds ratios compare against the first level.  The
        other suboptions (AT, DIFF=ALL, LABEL, UNIT) are an ERROR naming them."""
        first = False
        for opts in (self.mopts, self.popts):
            g = opts.values.get("oddsratio", opts.values.get("or"))
            if not isinstance(g, A.Group):
                continue
            for it in g.items:
                key = (it.key if isinstance(it, A.Opt) else str(getattr(it, "value", it))).lower()
                val = str(value_of(it.value)).lower() if isinstance(it, A.Opt) else ""
                if key == "diff" and val in ("first", "last"):
                    first = val == "first"
                    continue
                raise SasError(f"The ODDSRATIO suboption {key.upper()}{'=' + val.upper() if val else ''} is not "
                               "supported yet (DIFF=FIRST and DIFF=LAST are).", g.line, g.col)
        return first

    # ------------------------------------------------------------------ denominator degrees of freedom
    def _ddf(self, design, Z, codes, K, n, data, effects, r_terms, subj_vars):
        method = self._ddfm()
        X = design.X[:, ~design.aliased]
        rankX = X.shape[1]
        out = {-1: math.inf}
        if method == "none":
            return {k: math.inf for k in range(-1, len(effects))}
        if method == "residual":
            d = n - rankX
            return {k: d for k in range(-1, len(effects))}
        within = {}
        for k in range(-1, len(effects)):
            cols = [j for j in range(design.X.shape[1]) if design.effect_of_col[j] == k and not design.aliased[j]]
            varies = False
            for j in cols:
                col = design.X[:, j]
                s = pd.Series(col).groupby(codes)
                if np.any(s.max().to_numpy() - s.min().to_numpy() > 1e-12):
                    varies = True
            within[k] = varies
        if method in ("kr", "satterth"):
            method = "betwithin"    # placeholders; every test gets its own KR / Satterthwaite DF (self.df_adjust)
        if method == "betwithin":
            rs = getattr(self, "rside", None)
            all_between = rs is not None and rs["kind"] == "un" and not [r for r in self.randoms if not _is_rside(r)]
            rank_between = sum(1 for k in within if not within[k] for j in range(design.X.shape[1])
                               if design.effect_of_col[j] == k and not design.aliased[j])
            rank_within = rankX - rank_between
            db = K - rank_between
            dw = n - K - rank_within
            # SAS: with only an R-side TYPE=UN, every fixed effect gets the between-subject DF
            return {k: (dw if within[k] and not all_between else db) for k in within}
        # containment: the rank contribution of the random terms (effect x subject) that contain the effect
        terms = [("", tv | set(subj_vars), Z[:, cols]) for tv, cols in r_terms]
        contrib = []
        prev = np.zeros((n, 0))
        for name, vars_, cols in terms:
            r_before = _block_rank(np.hstack([prev]), X, codes, K)
            r_after = _block_rank(np.hstack([prev, cols]), X, codes, K)
            contrib.append(r_after - r_before)
            prev = np.hstack([prev, cols])
        resid_df = n - _block_rank(prev, X, codes, K)
        for k in range(-1, len(effects)):
            vars_k = set() if k < 0 else set(effects[k].all_vars())
            cands = [c for (name, tv, _), c in zip(terms, contrib) if vars_k <= tv and (k >= 0 or True)]
            if k >= 0:
                cands = [c for (name, tv, _), c in zip(terms, contrib) if vars_k and vars_k <= tv]
            out[k] = min(cands) if cands else resid_df
        return out


_DIST_LABEL = {"binary": "Binary", "binomial": "Binomial", "poisson": "Poisson", "normal": "Gaussian",
               "negbin": "Negative Binomial", "gamma": "Gamma", "exponential": "Exponential", "beta": "Beta",
               "multinomial": "Multinomial (ordered)", "invgauss": "Inverse Gaussian"}
_EMP_LABEL = {"classical": "Classical", "mbn": "MBN", "root": "Root", "firores": "FIRORES", "firoeeq": "FIROEEQ"}


def _empirical_kind(popts, proc):
    """EMPIRICAL | EMPIRICAL=CLASSICAL | EMPIRICAL=MBN<(R= D= NODF)> -> (kind, options) or None."""
    if not popts.has("empirical"):
        return None
    v = popts.values.get("empirical")
    if v is None or v is True:
        return "classical", {}
    if isinstance(v, A.Group):
        kind = v.name.lower()
        o = {}
        if kind == "firoeeq":
            nums = [x for x in v.items if isinstance(x, A.Word) and x.kind == "number"]
            return kind, ({"r": float(nums[0].value)} if nums else {})
        for it in v.items:
            if isinstance(it, A.Opt) and it.key.lower() in ("r", "d"):
                o[it.key.lower()] = float(value_of(it.value))
            elif isinstance(it, A.Word) and str(it.value).lower() == "nodf":
                o["nodf"] = True
            else:
                raise SasError(f"EMPIRICAL={v.raw.upper()}: unknown MBN option.", proc.line, proc.col)
        if kind != "mbn":
            raise SasError(f"EMPIRICAL={kind.upper()} is not supported yet (CLASSICAL, MBN, ROOT, FIRORES and FIROEEQ "
                           "are).", proc.line, proc.col)
        return kind, o
    kind = str(v).lower()
    if kind not in ("classical", "mbn", "root", "firores", "firoeeq"):
        raise SasError(f"EMPIRICAL={kind.upper()} is not supported yet (CLASSICAL, MBN, ROOT, FIRORES and FIROEEQ "
                       "are).", proc.line, proc.col)
    return kind, {}


def _response_rows(yname):
    """Model Information's response rows: events/trials gives "Response Variable (Events)" and "(Trials)"."""
    if isinstance(yname, str) and "/" in yname:
        ev, tr = yname.split("/", 1)
        return [("Response Variable (Events)", ev), ("Response Variable (Trials)", tr)]
    return [("Response Variable", yname)]


class _AnyOptions:
    """The options of several RANDOM statements: an option is on when any statement has it."""

    def __init__(self, opts):
        self.opts = list(opts)

    def has(self, k):
        return any(o.has(k) for o in self.opts)

    def get(self, k, default=None):
        return next((o.get(k) for o in self.opts if o.has(k)), default)


_RESID_WORDS = {"_residual_", "_resid_", "resid", "residual"}


def _id_vars(stmts, ds) -> list[str] | None:
    """ID statement: the variables written to OUTPUT data sets instead of all input variables."""
    if not stmts:
        return None
    out = []
    for stm in stmts:
        for it in stm.items:
            name = str(getattr(it, "value", ""))
            col = ds.colname(name)
            if col is None:
                raise SasError(f"Variable {name.upper()} in the ID statement not found" +
                               (" (the automatic variables _XBETA_, _ZGAMMA_, ... are not supported yet)."
                                if name.startswith("_") else "."), stm.line, stm.col)
            if col not in out:
                out.append(col)
    return out


def _is_rside(stm) -> bool:
    """An R-side RANDOM statement: _RESIDUAL_ as the effect, or the RESIDUAL (RSIDE) option."""
    if any(isinstance(it, A.Word) and str(it.value).lower() in _RESID_WORDS for it in stm.items):
        return True
    return any(isinstance(o, A.Word) and str(o.value).lower() in ("residual", "rside", "resid")
               for o in (stm.options or []))


def _n_bounds(cov, side: int) -> int:
    """How many covariance parameters have a lower (side 0) or upper (side 1) boundary in the optimisation."""
    blocks = cov.blocks if isinstance(cov, M.BlockCov) else [cov]
    n = 0
    for b in blocks:
        b = b.block if isinstance(b, M.Repeated) else b
        if isinstance(b, M.FromLMM):
            n += sum(1 for bd in b.struct.bounds() if bd[side] is not None)
        elif side == 0:
            n += sum(1 for nm in b.names() if _is_variance(nm))
    return n


def _lower_bounded(cov) -> list[bool]:
    """Per covariance parameter of a quadrature structure: does it have a lower bound of 0 (a variance)?"""
    out = []
    for b in (cov.blocks if isinstance(cov, M.BlockCov) else [cov]):
        b = b.block if isinstance(b, M.Repeated) else b
        if isinstance(b, M.FromLMM):
            out += [bd[0] == 0.0 for bd in b.struct.bounds()]
        else:
            out += [_is_variance(nm) for nm in b.names()]
    return out


def _is_variance(name: str) -> bool:
    if name.startswith("UN(") or name.startswith("CHOL("):
        i, j = name[name.index("(") + 1:-1].split(",")
        return i == j
    return name not in ("CS",)


def _block_rank(Zcols: np.ndarray, X: np.ndarray, codes: np.ndarray, K: int) -> int:
    """rank([X, Z]) where Z's columns are replicated per subject block: rank(Z_blocks) + rank(X resid).
    Blocks of the same size are decomposed together (batched SVD)."""
    n = X.shape[0]
    q = Zcols.shape[1]
    if q == 0:
        return int(np.linalg.matrix_rank(X))
    order = np.argsort(codes, kind="stable")
    Xr = X.astype(float).copy()
    rz = 0
    starts = np.searchsorted(codes[order], np.arange(K))
    ends = np.append(starts[1:], n)
    sizes = ends - starts
    for size in np.unique(sizes):
        if size == 0:
            continue
        which = np.nonzero(sizes == size)[0]
        idx = order[starts[which][:, None] + np.arange(size)[None, :]]          # blocks x size
        Zi = Zcols[idx]                                                          # blocks x size x q
        u, sv, _ = np.linalg.svd(Zi, full_matrices=False)
        keep = sv > 1e-10 * np.maximum(sv.max(axis=1, keepdims=True), 1e-300)
        rz += int(keep.sum())
        U = u * keep[:, None, :]
        Xi = Xr[idx]                                                             # blocks x size x p
        Xr[idx] = Xi - np.einsum("bsr,btr,btp->bsp", U, U, Xi, optimize=True)
    return rz + int(np.linalg.matrix_rank(Xr, tol=1e-8 * max(1.0, np.abs(X).max())))


def _sas_e(r: float) -> str:
    """A convergence criterion as SAS prints it in the Convergence Status: 1E-6, 1.11022E-8."""
    text = f"{r:.6G}"
    if "E" in text:
        mant, exp = text.split("E")
        text = f"{mant}E{int(exp)}"
    return text


def _pl_criteria(popts, proc):
    """PCONV= (default 1E8 times the machine epsilon 2^-53, which SAS prints as 1.11022E-8), ABSPCONV= (off
    by default) and MAXOPT= (default 50) of the doubly iterative pseudo-likelihood methods."""
    def positive(name, default, kind=float):
        if not popts.has(name):
            return default
        try:
            v = kind(float(popts.get(name)))
        except (TypeError, ValueError):
            v = -1
        if v <= 0:
            raise SasError(f"The PROC GLIMMIX option {name.upper()}= needs a positive number.", proc.line, proc.col)
        return v
    return positive("pconv", 1e8 * 2.0 ** -53), positive("abspconv", None), positive("maxopt", 50, int)


def _nloptions(session, stm) -> dict:
    """NLOPTIONS: MAXITER= (the optimiser's iteration limit) is honoured.  The other options steer SAS's own
    optimiser (TECHNIQUE=, GCONV=, ABSGCONV=, ...); sasglm's quasi-Newton method always runs to the optimum,
    so they are named in a WARNING and ignored."""
    out = {}
    ignored = []
    for it in stm.items + list(stm.options or []):
        if isinstance(it, A.Opt) and it.key.lower() in ("maxiter", "maxit"):
            v = value_of(it.value)
            if not isinstance(v, float) or v < 0:
                raise SasError("NLOPTIONS MAXITER= needs a nonnegative integer.", it.line, it.col)
            out["maxiter"] = int(v)
        elif isinstance(it, A.Opt):
            ignored.append(it.key.upper() + "=")
        elif isinstance(it, A.Word) and it.kind == "name":
            ignored.append(str(it.value).upper())
    if ignored:
        session.log.warning(f"NLOPTIONS {', '.join(ignored)} not supported and ignored: sasglm's quasi-Newton "
                            "optimiser runs to the optimum.")
    return out
