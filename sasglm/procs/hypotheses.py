"""LSMEANS, ESTIMATE and CONTRAST shared by GENMOD and GLIMMIX: building L from SAS syntax, and the
tables.  Inference is Wald z / chi-square (GENMOD) or t / F with the procedure's DF (GLIMMIX)."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as st

from .. import ast as A
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import glm as GL
from .common import Options, value_of, warn_ignored


# ---------------------------------------------------------------------- Type III Wald F tests
def type3_table(proc, title, design, beta, covb, dfs, chisq, adjust=None, expand=1) -> Table:
    """SAS's Tests3 table of Wald F tests, one row per effect with a testable hypothesis.  DenDF is
    dfs[k]; adjust(L, F, dendf) may return a replacement (dendf, F), as Kenward-Roger and
    Satterthwaite do.  An infinite DenDF gives the chi-square p-value (DDFM=NONE).  ``expand`` = m > 1:
    beta holds m coefficients per design column (parameter-major, as the generalized logit model's), and
    each effect is tested for all m at once."""
    rows = []
    for k, eff in enumerate(design.effects):
        L = GL.type3_L(design, k)
        if expand > 1:
            L = np.kron(L, np.eye(expand))
        W, r = GL.wald_test(L, beta, covb)
        if r == 0:
            continue
        F, dd = W / r, dfs[k]
        if adjust is not None:
            dd, F = adjust(L, F, dd)
        row = {"Effect": eff.name, "NumDF": r, "DenDF": dd, "FValue": F,
               "ProbF": st.f.sf(F, r, dd) if dd != math.inf else st.chi2.sf(W, r)}
        if chisq:
            row.update({"ChiSq": W, "ProbChiSq": st.chi2.sf(W, r)})
        rows.append(row)
    cols = [Column("Effect"), Column("NumDF", "Num DF", "INT"), Column("DenDF", "Den DF", "DFMT"),
            Column("FValue", "F Value", "8.2"), Column("ProbF", "Pr > F", "PVALUE6.4")]
    if chisq:
        cols += [Column("ChiSq", "Chi-Square", "8.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
    return Table(proc, "Tests3", title, cols, rows)


def contrast_table(session, proc, stmts, design, beta, covb, dfs, adjust=None, random=None,
                   random_df=None, nonpositional=False) -> Table | None:
    """One Contrasts table for all CONTRAST statements of a GLIMMIX or MIXED step: each statement is one
    (possibly multi-row) hypothesis L beta = 0 tested by F = W / rank(L) with the DF of the effects it
    involves (the smallest; DF= overrides; adjust as in type3_table).  With ``random`` (a RandomPart)
    coefficients after '|' add BLUPs (L beta + M u = 0; rows without fixed coefficients get ``random_df``)."""
    if not stmts:
        return None
    rows, chisq_any = [], False
    for stmt in stmts:
        subject, stmt = random_coefficient_options(stmt, random)
        o = hypothesis_options(session, stmt, "contrast", {"chisq", "df", "e", "singular", "divisor"},
                               ignored=["e", "singular"])
        parsed = parse_rows(stmt.items, design, stmt, need_label=False, random=random, nonpositional=nonpositional)
        if not parsed:
            raise SasError("The CONTRAST statement needs a label and coefficients.", stmt.line, stmt.col)
        label = parsed[0][0] or "Contrast"
        if random is None:
            L = np.array([Lr for _, Lr in parsed])
            W, r = GL.wald_test(L, beta, covb)
            has_random = False
        else:
            _, L, adds, V = random_rows(parsed, random, subject, stmt, covb)
            W, r = GL.wald_quadratic(L @ beta + adds, V)
            has_random = any(rc for _, _, rc in parsed)
        dd = row_ddf(L, design, dfs) if np.any(L) or not has_random else (random_df or math.inf)
        F = W / r if r else math.nan
        if adjust is not None and r and not has_random:
            dd, F = adjust(L, F, dd)
        if o.has("df"):
            dd = float(o.get("df"))
        row = {"Label": label, "NumDF": r, "DenDF": dd, "FValue": F,
               "ProbF": (st.f.sf(F, r, dd) if dd != math.inf else st.chi2.sf(W, r)) if r else None}
        if o.has("chisq"):
            chisq_any = True
            row.update({"ChiSq": W, "ProbChiSq": st.chi2.sf(W, r) if r else None})
        rows.append(row)
    cols = [Column("Label"), Column("NumDF", "Num DF", "INT"), Column("DenDF", "Den DF", "DFMT"),
            Column("FValue", "F Value", "8.2"), Column("ProbF", "Pr > F", "PVALUE6.4")]
    if chisq_any:
        cols += [Column("ChiSq", "Chi-Square", "8.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
    return Table(proc, "Contrasts", "Contrasts", cols, rows)


def row_ddf(L, design, dfs) -> float:
    """The effect-based DF of a hypothesis (ESTIMATE row, CONTRAST): the smallest DF among the model effects
    with a nonzero coefficient in L (the intercept's DF when there are none)."""
    L = np.atleast_2d(L)
    used = [k for k in range(len(design.effects)) if np.any(L[:, design.effect_cols(k)] != 0)]
    return min((dfs.get(k, math.inf) for k in used), default=dfs.get(-1, math.inf))


# ---------------------------------------------------------------------- coefficient lists
def parse_rows(items, design, stmt, need_label=True, random=None, nonpositional=False):
    """'label' effect values ... [| random-effect values ...] [, effect values ...] -> [(label, L)], or with
    ``random`` (a RandomPart of the procedure, or False for the same triples without one) [(label, L, random
    coefficients {effect: values} or None)].  Coefficients after '|' name RANDOM-statement effects; without a
    RandomPart they are an ERROR.  With ``nonpositional`` a fixed effect's values may instead be brackets
    [coefficient, levels ...] (GLIMMIX, PLM)."""
    rows = []
    label = None
    i = 0
    coefs: dict = {}
    rcoefs: dict | None = None

    def flush():
        if coefs or rcoefs or label is not None:
            rows.append((label, build_L(design, coefs, stmt), rcoefs or None))

    while i < len(items):
        it = items[i]
        if isinstance(it, A.Word) and it.kind == "string":
            if coefs or rcoefs:
                flush()
                coefs, rcoefs = {}, None
            label = it.value
            i += 1
            continue
        if isinstance(it, A.Word) and it.kind == "op" and it.value == ",":
            flush()
            coefs, rcoefs = {}, None
            label = None
            i += 1
            continue
        if isinstance(it, A.Word) and it.kind == "op" and it.value == "|":
            if not random:
                raise SasError("Random-effect coefficients (after '|') are not supported here (they need G-side "
                               "random effects, and are available in MIXED).", it.line, it.col)
            if rcoefs is not None:
                raise SasError("Invalid coefficient specification: a second '|'.", it.line, it.col)
            rcoefs = {}
            i += 1
            continue
        if isinstance(it, A.Word) and it.kind == "name":
            name = str(it.value)
            j = i + 1
            while j + 1 < len(items) and isinstance(items[j], A.Word) and items[j].kind == "op" and \
                    items[j].value == "*" and isinstance(items[j + 1], A.Word) and items[j + 1].kind == "name":
                name += "*" + str(items[j + 1].value)
                j += 2
            vals, j = _numbers(items, j)
            brackets = []
            while j < len(items) and isinstance(items[j], A.Group) and items[j].name == "[":
                brackets.append(bracket_values(items[j], stmt))
                j += 1
            if brackets:
                if not nonpositional or rcoefs is not None or vals:
                    raise SasError("The nonpositional [coefficient, levels] syntax is supported for the fixed "
                                   "effects of GLIMMIX and PLM ESTIMATE/CONTRAST statements, without positional "
                                   "values for the same effect.", items[i].line, items[i].col)
                vals = NonPositional(brackets)
            (rcoefs if rcoefs is not None else coefs)[name] = vals
            i = j
            continue
        raise SasError("Invalid coefficient specification.", getattr(it, "line", stmt.line), getattr(it, "col", stmt.col))
    flush()
    if need_label and any(lab is None for lab, _, _ in rows):
        rows = [(lab if lab is not None else f"Row {k + 1}", L, rc) for k, (lab, L, rc) in enumerate(rows)]
    div = _divisor(stmt)
    if div != 1.0:
        rows = [(lab, L / div, {k: [v / div for v in vs] for k, vs in rc.items()} if rc else rc)
                for lab, L, rc in rows]
    if random is None:
        return [(lab, L) for lab, L, _ in rows]
    return rows


class NonPositional(list):
    """A fixed effect's coefficients in the nonpositional syntax: [(coefficient, [level values ...]), ...]."""


def bracket_values(group, stmt) -> tuple[float, list[float]]:
    """[coefficient <,> v1 v2 ...] -> (coefficient, [v1, v2, ...]): the levels of the effect's CLASS variables
    as 1-based level indices, values for its continuous variables, in the effect's variable order."""
    items = [w for w in group.items if not (isinstance(w, A.Word) and w.kind == "op" and w.value == ",")]
    vals, j = _numbers(items, 0)
    if j != len(items) or len(vals) < 2:
        raise SasError("A nonpositional coefficient needs [coefficient, level values]; the values must be "
                       "numbers.", group.line, group.col)
    return vals[0], vals[1:]


def level_index(x, v, classes, stmt) -> int:
    """The 0-based level of CLASS variable v from a 1-based level index x of the nonpositional syntax."""
    n = len(classes[v].labels)
    if x != int(x) or not 1 <= x <= n:
        raise SasError(f"Level {x:g} of {v} does not exist ({v} has {n} levels; level indices must be within "
                       "the levels).", stmt.line, stmt.col)
    return int(x) - 1


def _nonpositional_L(design, k, name, entries, stmt) -> np.ndarray:
    """The L entries of effect k from nonpositional [coefficient, levels] entries."""
    eff = design.effects[k]
    classes = getattr(design, "classes", None)
    if classes is None:
        raise SasError("The nonpositional syntax needs the model's CLASS information (an item store written "
                       "by an older version of sasglm lacks it).", stmt.line, stmt.col)
    cons = getattr(design, "constructed", None) or {}
    # the values follow the effect's variables (CLASS variables in CLASS statement order), a constructed effect
    # last: the GLIMMIX documentation's spline example writes group*spl [1, 1 20] for the model effect spl*group
    evars = [v for v in eff.all_vars() if v not in cons] + [v for v in eff.all_vars() if v in cons]
    out = np.zeros(design.X.shape[1])
    cols = design.effect_cols(k)
    for coef, vals in entries:
        if len(vals) != len(evars):
            raise SasError(f"The nonpositional coefficients of {name} need {len(evars)} level value(s) "
                           f"({' '.join(evars)}).", stmt.line, stmt.col)
        want, mult, at = {}, coef, {}
        for v, x in zip(evars, vals):
            if v in classes:
                want[v] = classes[v].labels[level_index(x, v, classes, stmt)]
            elif v in cons:
                # a constructed effect takes the value of its variable: its columns there
                at[v] = dict(zip(cons[v].labels, cons[v].row_at(x)))
            else:
                mult *= x
        hit = [j for j in cols if all(design.columns[j].levels.get(v) == lv for v, lv in want.items())]
        if not hit or (not at and len(hit) != 1):
            raise SasError(f"The level combination {' '.join(f'{v}={lv}' for v, lv in want.items())} of {name} "
                           "does not occur in the data.", stmt.line, stmt.col)
        for j in hit:
            m = mult
            for v, vals_at in at.items():
                m *= vals_at[design.columns[j].levels[v]]
            out[j] += m
    return out


def _numbers(items, j):
    """The signed numbers starting at items[j]: (values, index after them)."""
    vals = []
    while j < len(items):
        w = items[j]
        if isinstance(w, A.Word) and w.kind == "number":
            vals.append(float(w.value))
            j += 1
        elif isinstance(w, A.Word) and w.kind == "op" and w.value in ("-", "+") and j + 1 < len(items) \
                and isinstance(items[j + 1], A.Word) and items[j + 1].kind == "number":
            vals.append((-1 if w.value == "-" else 1) * float(items[j + 1].value))
            j += 2
        else:
            break
    return vals, j


def coefficient_option(options, name: str):
    """A '/ SUBJECT c1 c2 ...' or '/ GROUP c1 ...' coefficient list among the options of an ESTIMATE or
    CONTRAST statement: (the values or None, the other options)."""
    opts = list(options or [])
    for k, it in enumerate(opts):
        if isinstance(it, A.Word) and it.kind == "name" and str(it.value).lower() == name:
            vals, j = _numbers(opts, k + 1)
            if not vals:
                raise SasError(f"The {name.upper()} option needs a list of coefficients.", it.line, it.col)
            return vals, opts[:k] + opts[j:]
    return None, opts


def _divisor(stmt) -> float:
    """DIVISOR=value of an ESTIMATE or CONTRAST statement: every coefficient is divided by it."""
    for it in stmt.options or []:
        if isinstance(it, A.Opt) and it.key.lower() == "divisor":
            v = value_of(it.value)
            try:
                d = float(v)
            except (TypeError, ValueError):
                d = math.nan
            if not d > 0 and not d < 0:
                raise SasError("DIVISOR= needs one nonzero number (a list of divisors is not supported yet).",
                               it.line, it.col)
            return d
    return 1.0


def hypothesis_options(session, stmt, kw: str, known: set[str], unsupported=(), ignored=()) -> Options:
    """The options after the slash of an ESTIMATE or CONTRAST statement: unknown ones and those in
    `unsupported` are ERRORs, those in `ignored` (extra tables not produced yet) a WARNING."""
    o = Options(stmt.options or [], known, kw.upper())
    for name in unsupported:
        if o.has(name):
            raise SasError(f"The {kw.upper()} option {name.upper()} is not supported yet.", stmt.line, stmt.col)
    warn_ignored(session, o, ignored, kw.upper())
    return o


def _effect_index(design, name):
    want = [v.lower() for v in name.split("*")]
    for k, e in enumerate(design.effects):
        if [v.lower() for v in e.factors] == want or sorted(v.lower() for v in e.factors) == sorted(want):
            return k
    return None


def build_L(design, coefs: dict, stmt) -> np.ndarray:
    p = design.X.shape[1]
    L = np.zeros(p)
    for name, vals in coefs.items():
        if name.lower() == "intercept":
            if not design.intercept:
                raise SasError("The model has no intercept.", stmt.line, stmt.col)
            L[0] += vals[0] if vals else 0.0
            continue
        k = _effect_index(design, name)
        if k is None:
            raise SasError(f"Effect {name} is not in the model.", stmt.line, stmt.col)
        if isinstance(vals, NonPositional):
            L += _nonpositional_L(design, k, name, vals, stmt)
            continue
        cols = design.effect_cols(k)
        if len(vals) > len(cols):
            raise SasError(f"Too many coefficients for effect {name} ({len(cols)} levels).", stmt.line, stmt.col)
        for c, v in zip(cols, vals):
            L[c] += v
    return L


def estimable(L, design, tol=1e-6) -> bool:
    """L is estimable when it lies in the row space of X, i.e. is orthogonal to X's null space.  The columns
    are scaled to unit length first, so that covariates such as time^2 do not swamp the tolerance."""
    if not design.aliased.any():
        return True
    cached = getattr(design, "_scaled_null", None)      # (column norms, null-space basis), once per design
    if cached is None or cached[0].shape[0] != design.X.shape[1]:
        X = design.X
        norms = np.sqrt(np.einsum("ij,ij->j", X, X))
        norms[norms == 0] = 1.0
        w, V = np.linalg.eigh((X.T @ X) / np.outer(norms, norms))
        cached = (norms, V[:, w < 1e-10 * max(float(w.max()), 1e-300)])
        design._scaled_null = cached
    norms, null = cached
    Ls = np.asarray(L, dtype=float) / norms
    if null.shape[1] == 0:
        return True
    return bool(np.max(np.abs(Ls @ null)) < tol * max(1e-300, float(np.max(np.abs(Ls)))))


# ---------------------------------------------------------------------- LS-means
def covariate_means(design, classes, data) -> dict:
    """The covariate values of SAS's LS-means: each continuous variable's mean over the observations used,
    and, for an effect with two or more continuous factors (x*z, time*time), the mean of their product
    under the key tuple(factors) -- SAS's default sets such an effect to the mean of the product."""
    means = {v: float(np.mean(a)) for v, a in data.items() if v not in classes}
    for e in design.effects:
        cv = tuple(v for v in e.all_vars() if v not in classes)
        if len(cv) > 1 and all(v in data for v in cv):
            prod = np.ones(len(np.asarray(data[cv[0]])))
            for v in cv:
                prod = prod * np.asarray(data[v], dtype=float)
            means[cv] = float(np.mean(prod))
    return means


def lsmeans_L(design, classes, effect_name, data, used_cols_means, om=False, at=None):
    """Rows of L for every level combination of the effect (SAS's equal-weight construction; OM= uses
    the observed marginal frequencies for the other class variables; AT as in lsm_row)."""
    k = _effect_index(design, effect_name)
    if k is None:
        raise SasError(f"Effect {effect_name} is not in the model.")
    eff = design.effects[k]
    evars = [v for v in eff.all_vars()]
    for v in evars:
        if v not in classes:
            raise SasError(f"LS-means are only available for effects of CLASS variables ({effect_name}).")
    freq = {}
    if om:
        for v, cv in classes.items():
            if v in data:
                codes = cv.codes(data[v])
                cnt = np.bincount(codes[codes >= 0], minlength=len(cv.levels)).astype(float)
                freq[v] = cnt / cnt.sum()
    import itertools
    combos = list(itertools.product(*[range(len(classes[v].levels)) for v in evars]))
    rows = []
    labels = []
    for combo in combos:
        setting = {v: classes[v].labels[i] for v, i in zip(evars, combo)}
        rows.append(lsm_row(design, classes, setting, used_cols_means, freq if om else None, at=at))
        labels.append(setting)
    return rows, labels, evars


def parse_at(stmt, design, classes, kw):
    """The AT option of LSMEANS/LSMESTIMATE: AT MEANS, AT x=value, AT (x1 x2 ...)=(v1 v2 ...).  Returns
    (at, other options): at is None (not given), {} (AT MEANS) or {variable: value}."""
    opts = list(stmt.options or [])
    at, rest, i = None, [], 0
    cons = getattr(design, "constructed", None) or {}
    model_vars = {v.lower(): v for e in design.effects for v in e.all_vars() if v not in classes and v not in cons}
    model_vars.update({u.lower(): u for c in cons.values() for u in c.vars})
    class_vars = {v.lower() for v in classes}

    def check(name, w):
        key = str(name).lower()
        if key in class_vars:
            raise SasError(f"The {kw} AT variable {name} is a CLASS variable; AT sets covariates only.",
                           getattr(w, "line", stmt.line), getattr(w, "col", stmt.col))
        if key not in model_vars:
            raise SasError(f"The {kw} AT variable {name} is not a covariate of the model.",
                           getattr(w, "line", stmt.line), getattr(w, "col", stmt.col))
        return model_vars[key]

    def number(w):
        v = value_of(w) if not isinstance(w, A.Group) else None
        if not isinstance(v, float):
            raise SasError(f"The {kw} AT option needs numeric values: AT variable=value or "
                           "AT (variables)=(values).", getattr(w, "line", stmt.line), getattr(w, "col", stmt.col))
        return v

    while i < len(opts):
        w = opts[i]
        if isinstance(w, A.Word) and w.kind == "name" and str(w.value).lower() == "at":
            if at is not None:
                raise SasError(f"The AT option appears more than once in the {kw} statement.", w.line, w.col)
            nxt = opts[i + 1] if i + 1 < len(opts) else None
            if isinstance(nxt, A.Word) and nxt.kind == "name" and str(nxt.value).lower() == "means":
                at, i = {}, i + 2
            elif isinstance(nxt, A.Opt):
                at, i = {check(nxt.key, nxt): number(nxt.value)}, i + 2
            else:
                raise SasError(f"The {kw} AT option needs MEANS, variable=value or (variables)=(values).",
                               w.line, w.col)
        elif isinstance(w, A.Group) and w.name and w.name.lower() == "at":
            vals = opts[i + 2] if i + 2 < len(opts) else None
            if not (isinstance(opts[i + 1] if i + 1 < len(opts) else None, A.Word) and opts[i + 1].value == "="
                    and isinstance(vals, A.Group) and vals.name is None):
                raise SasError(f"The {kw} AT option needs (variables)=(values).", w.line, w.col)
            names = [x for x in w.items if not (isinstance(x, A.Word) and x.value == ",")]
            values = [x for x in vals.items if not (isinstance(x, A.Word) and x.value == ",")]
            if len(names) != len(values):
                raise SasError(f"The {kw} AT option has {len(names)} variables but {len(values)} values.",
                               w.line, w.col)
            if at is not None:
                raise SasError(f"The AT option appears more than once in the {kw} statement.", w.line, w.col)
            at = {check(n.value, n): number(x) for n, x in zip(names, values)}
            i += 3
        else:
            rest.append(w)
            i += 1
        if at is not None and i < len(opts) and isinstance(opts[i], A.Word) and opts[i].kind == "number":
            raise SasError(f"The {kw} AT option takes one value per variable; use AT (variables)=(values) "
                           "or one statement per value.", opts[i].line, opts[i].col)
    return at, rest


def _lsm_effect(design, classes, name, stmt, kw) -> int:
    """The index of an LSMEANS/LSMESTIMATE effect, which must be in the model with GLM-coded CLASS variables."""
    k = _effect_index(design, name)
    if k is None:
        raise SasError(f"Effect {name} in the {kw} statement is not in the model.", stmt.line, stmt.col)
    if any(classes[v].param != "glm" for v in design.effects[k].all_vars() if v in classes):
        raise SasError("LS-means need the GLM parameterization of the CLASS variables (PARAM=GLM).",
                       stmt.line, stmt.col)
    return k


def lsm_row(design, classes, setting, means, freq=None, at=None, product=False):
    """One LS-mean coefficient row: the CLASS variables in `setting` at their given levels, the other CLASS
    variables averaged with equal weights (or the observed margins `freq`, for OM).  The continuous part of
    an effect is SAS's: without AT, each covariate at its mean and a product of covariates at the mean of
    the product (means[tuple(factors)]); with AT (at = {} for AT MEANS, or {variable: value}) the product of
    the individual values, AT values replacing means.  product=True takes that product rule with the
    continuous values of `setting` (odds ratios at covariate settings)."""
    cont_cache: dict = {}
    cons = getattr(design, "constructed", None) or {}

    def value(v):
        if product and v in setting:
            return setting[v]
        if at and v in at:
            return at[v]
        return means.get(v, 0.0)

    def cont(k):
        if k not in cont_cache:
            cv = [v for v in design.effects[k].all_vars() if v not in classes and v not in cons]
            if at is None and not product and len(cv) > 1 and tuple(cv) in means:
                val = means[tuple(cv)]
            else:
                val = 1.0
                for v in cv:
                    val *= value(v)
            cont_cache[k] = val
        return cont_cache[k]

    def factor(v, lab):
        if v in cons:
            # a constructed effect's columns at its variables' values (their means, or AT values)
            if v not in cont_cache:
                cont_cache[v] = dict(zip(cons[v].labels, cons[v].row({u: value(u) for u in cons[v].vars})))
            return cont_cache[v][lab]
        if v in setting:
            return 1.0 if lab == setting[v] else 0.0
        cvar = classes[v]
        return freq[v][cvar.labels.index(lab)] if freq and v in freq else 1.0 / len(cvar.levels)

    return design.row(factor, cont)


def _slice_vars(stmt, key="slice") -> list[str]:
    """The variables of every SLICE= (SLICEDIFF=) option: SLICE=b, SLICE=(a b), repeated options."""
    out = []
    for it in stmt.options or []:
        if isinstance(it, A.Opt) and it.key.lower() == key:
            v = it.value
            words = v.items if isinstance(v, A.Group) else [v]
            for w in words:
                if isinstance(w, A.Word) and w.kind == "name":
                    out.append(str(w.value))
                else:
                    raise SasError(f"{key.upper()}= needs CLASS variable names.", stmt.line, stmt.col)
        elif isinstance(it, A.Group) and it.name and it.name.lower() == key:
            out.extend(str(w.value) for w in it.items if isinstance(w, A.Word) and w.kind == "name")
    return out


def _slice_var(stmt, key, sv, evars, eff_name) -> str:
    """The LSMEANS effect's variable named by a SLICE=/SLICEDIFF= option (checked)."""
    lower = [v.lower() for v in evars]
    if sv.lower() not in lower:
        raise SasError(f"The {key.upper()}= variable {sv} is not in the LSMEANS effect {eff_name}.",
                       stmt.line, stmt.col)
    if len(evars) < 2:
        raise SasError(f"{key.upper()}= needs an interaction LSMEANS effect ({eff_name} is a main effect).",
                       stmt.line, stmt.col)
    return evars[lower.index(sv.lower())]


def slice_table(proc, stmt, eff_name, evars, labels, ests, beta, cov, df, slice_adjust, per_effect_title,
                hide_effect=False):
    """SLICE=: for each level of a slice variable, the F test that the LS-means of the effect's other
    levels are equal there (rows: differences from the first estimable LS-mean of the slice; the test
    does not depend on that choice).  DenDF is the effect's, adjusted as in CONTRAST (KR, SATTERTH)."""
    tables = []
    for sv in _slice_vars(stmt):
        v = _slice_var(stmt, "slice", sv, evars, eff_name)
        rows = []
        for lev in dict.fromkeys(lab[v] for lab in labels):
            Ls = [e[0] for lab, e in zip(labels, ests) if lab[v] == lev and e is not None]
            rows.append({"Effect": eff_name, v: lev, **_equal_means_test(Ls, beta, cov, df, slice_adjust)})
        cols = [Column("Effect", hidden=hide_effect), Column(v), Column("NumDF", "Num DF", "INT"),
                Column("DenDF", "Den DF", "DFMT"),
                Column("FValue", "F Value", "8.2"), Column("ProbF", "Pr > F", "PVALUE6.4")]
        title = f"Tests of Effect Slices for {eff_name} Sliced By {v}" if per_effect_title else "Tests of Effect Slices"
        tables.append(Table(proc, "Slices", title, cols, rows))
    return tables


def _slice_specs(rest, stmt):
    """The SLICE statement's SLICEBY=/SIMPLE= partitioning rules, taken out of its options: a list of
    (variables, formatted value or None) and the remaining options.  Forms: SLICEBY=b, SLICEBY=a*b,
    SLICEBY(b='2' a='1'), SLICEBY(b, a); several options add up."""
    specs, left = [], []
    items = list(rest or [])
    i = 0

    def star_chain(first, j, seq):
        names = [first]
        while j + 1 < len(seq) and isinstance(seq[j], A.Word) and seq[j].value == "*" and \
                isinstance(seq[j + 1], A.Word) and seq[j + 1].kind == "name":
            names.append(str(seq[j + 1].value))
            j += 2
        return names, j

    def bad(node):
        raise SasError("Invalid SLICEBY= specification (an effect of the SLICE effect's variables, optionally "
                       "with one formatted value: SLICEBY=b, SLICEBY=a*b, SLICEBY(b='2' a='1')).",
                       getattr(node, "line", stmt.line), getattr(node, "col", stmt.col))

    while i < len(items):
        it = items[i]
        if isinstance(it, A.Opt) and it.key.lower() in ("sliceby", "simple"):
            v = it.value
            if isinstance(v, A.Word) and v.kind == "name":
                names, i = star_chain(str(v.value), i + 1, items)
                specs.append((names, None))
                continue
            if isinstance(v, A.Group) and v.name is None:
                seq = list(v.items)
            else:
                bad(it)
        elif isinstance(it, A.Group) and it.name and it.name.lower() in ("sliceby", "simple"):
            seq = list(it.items)
        else:
            left.append(it)
            i += 1
            continue
        j = 0
        while j < len(seq):
            w = seq[j]
            if isinstance(w, A.Word) and w.kind == "op" and w.value == ",":
                j += 1
            elif isinstance(w, A.Opt) and isinstance(w.value, A.Word) and w.value.kind in ("string", "number", "name"):
                specs.append(([w.key], str(w.value.value)))
                j += 1
            elif isinstance(w, A.Word) and w.kind == "name":
                names, j = star_chain(str(w.value), j + 1, seq)
                specs.append((names, None))
            else:
                bad(w)
        i += 1
    return specs, left


def _slice_partitions(specs, evars, labels, eff_name, stmt):
    """The SLICE statement's partitions: (Slice text, indices of the LS-means in it).  Without SLICEBY=
    the effect is partitioned by each of its variables in turn."""
    lower = [v.lower() for v in evars]
    if not specs:
        specs = [([v], None) for v in evars]
    parts = []
    for names, value in specs:
        vs = []
        for n in names:
            if n.lower() not in lower:
                raise SasError(f"The SLICEBY= variable {n} is not in the SLICE effect {eff_name}.", stmt.line, stmt.col)
            vs.append(evars[lower.index(n.lower())])
        if len(set(vs)) == len(evars):
            raise SasError(f"SLICEBY={'*'.join(names)} leaves no variable of {eff_name} to compare.",
                           stmt.line, stmt.col)
        levels = dict.fromkeys(tuple(lab[v] for v in vs) for lab in labels)
        if value is not None:
            want = [lv for lv in levels if str(lv[0]).strip() == value.strip()]
            if not want:
                raise SasError(f"{value} is not a level of {vs[0]} (SLICEBY=).", stmt.line, stmt.col)
            levels = want
        for lv in levels:
            idx = [i for i in range(len(labels)) if tuple(labels[i][v] for v in vs) == lv]
            parts.append((f"{'*'.join(vs)} {' '.join(str(x).strip() for x in lv)}", idx, vs))
    return parts


def _equal_means_test(Ls, beta, cov, df, slice_adjust, chisq=False):
    """The test that the LS-means with coefficient rows Ls are equal (rows: differences from the first; the
    test does not depend on that choice): NumDF, DenDF, FValue, ProbF with DenDF adjusted as in CONTRAST
    (KR, SATTERTH), or with chisq NumDF, ChiSq, ProbChiSq (Wald); missing when nothing is testable."""
    K = np.array([L - Ls[0] for L in Ls[1:]]) if len(Ls) > 1 else np.zeros((0, len(beta)))
    W, r = GL.wald_test(K, beta, cov) if len(K) else (0.0, 0)
    if chisq:
        return {"NumDF": r, "ChiSq": W if r else None, "ProbChiSq": st.chi2.sf(W, r) if r else None}
    if r == 0:
        return {"NumDF": 0, "DenDF": None, "FValue": None, "ProbF": None}
    F, dd = W / r, df
    if slice_adjust is not None:
        dd, F = slice_adjust(K, F, dd)
    return {"NumDF": r, "DenDF": dd, "FValue": F, "ProbF": st.f.sf(F, r, dd) if dd != math.inf else st.chi2.sf(W, r)}


def _slice_test(proc, eff_name, text, Ls, beta, cov, df, slice_adjust, chisq):
    """Table SliceTests of a SLICE statement: the test that the LS-means of one partition are equal
    (F, or a Wald chi-square where the procedure has no denominator DF)."""
    row = {"Slice": text, **_equal_means_test(Ls, beta, cov, df, slice_adjust, chisq)}
    if chisq:
        cols = [Column("Slice"), Column("NumDF", "Num DF", "INT"), Column("ChiSq", "Chi-Square", "10.2"),
                Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4")]
        return Table(proc, "SliceTests", f"Chi-Square Test for {eff_name} Least Squares Means Slice", cols, [row])
    cols = [Column("Slice"), Column("NumDF", "Num DF", "INT"), Column("DenDF", "Den DF", "DFMT"),
            Column("FValue", "F Value", "8.2"), Column("ProbF", "Pr > F", "PVALUE6.4")]
    return Table(proc, "SliceTests", f"F Test for {eff_name} Least Squares Means Slice", cols, [row])


def lsmeans_tables(session, proc, stmt, design, classes, data, means, beta, cov, link, df_for=None,
                   om_default=False, df_of=None, slice_adjust=None, slices=None, glimmix=False,
                   exact_dunnett=False, statement="lsmeans"):
    """Emit the LS-means (and differences) tables for one LSMEANS statement; returns the tables.
    slices: None when the procedure has no SLICE=/SLICEDIFF= here (an ERROR), else "mixed" or "glimmix"
    (the title style of the Tests of Effect Slices table).  glimmix: PROC GLIMMIX's print style (no
    Effect column; a multiple-comparison adjustment named in a subtitle).  exact_dunnett: the fit is a
    linear model without random effects, where SAS names ADJUST=DUNNETT "Dunnett" (else "Dunnett-Hsu",
    its factor-analytic method).  statement="slice": a SLICE statement (the LSMEANS options on the
    partitions that SLICEBY= names: per partition the LS-means with MEANS, the test of their equality
    unless NOF, and their differences with DIFF, ADJUST= or NOF)."""
    is_slice = statement == "slice"
    kwname = statement.upper()
    at, rest = parse_at(stmt, design, classes, kwname)
    specs = []
    if is_slice:
        specs, rest = _slice_specs(rest, stmt)
    o = Options(rest, {"diff", "pdiff", "cl", "ilink", "om", "obsmargins", "alpha", "e", "exp",
                       "oddsratio", "or", "adjust", "bylevel", "means", "cov", "corr",
                       "lines", "plots", "slice", "slicediff", "slicedifftype", "stepdown", "adjdfe"} |
                ({"nof", "nomeans"} if is_slice else set()), kwname)
    if is_slice:
        for bad in ("slice", "slicediff", "slicedifftype"):
            if o.has(bad):
                raise SasError(f"The option {bad.upper()}= does not apply to the SLICE statement (use SLICEBY=).",
                               stmt.line, stmt.col)
    for bad in ("bylevel", "slice", "slicediff", "lines", "stepdown"):
        if (bad == "slice" and slices is not None) or (bad == "slicediff" and glimmix):
            continue
        if o.has(bad):
            raise SasError(f"The {kwname} option {bad.upper()} is not supported yet.", stmt.line, stmt.col)
    adjust = str(o.get("adjust", "t")).lower()
    adjust = {"bon": "bonferroni", "tukey-kramer": "tukey", "sid": "sidak", "sch": "scheffe"}.get(adjust, adjust)
    adjust = {"gt2": "smm"}.get(adjust, adjust)
    if adjust not in ("t", "none", "bonferroni", "tukey", "sidak", "scheffe", "dunnett", "smm"):
        raise SasError(f"{kwname} ADJUST={adjust.upper()} is not supported yet (BON, DUNNETT, SMM, TUKEY, SIDAK, "
                       "SCHEFFE and T are).", stmt.line, stmt.col)
    adjdfe = str(o.get("adjdfe", "source")).lower()
    if adjdfe not in ("source", "row"):
        raise SasError(f"ADJDFE={adjdfe.upper()} is not valid (SOURCE or ROW).", stmt.line, stmt.col)
    diff_kind, control = _diff_kind(o, stmt, adjust)
    warn_ignored(session, o, ["cov", "corr", "e", "plots"], kwname)
    sdtype = str(o.get("slicedifftype", "simple")).lower()
    if sdtype != "simple":
        raise SasError(f"LSMEANS SLICEDIFFTYPE={sdtype.upper()} is not supported yet (SIMPLE is).", stmt.line, stmt.col)
    alpha = float(o.get("alpha", 0.05))
    tstyle = df_for is not None      # mixed models: t tests, an infinite DF printed as Infty
    om = o.has("om") or o.has("obsmargins") or om_default
    names = []
    items = list(stmt.items)
    i = 0
    while i < len(items):
        w = items[i]
        if isinstance(w, A.Word) and w.kind == "name":
            name = str(w.value)
            j = i + 1
            while j + 1 < len(items) and isinstance(items[j], A.Word) and items[j].value == "*":
                name += "*" + str(items[j + 1].value)
                j += 2
            names.append(name)
            i = j
        else:
            raise SasError(f"Invalid {kwname} effect.", stmt.line, stmt.col)
    if is_slice and len(names) != 1:
        raise SasError("The SLICE statement needs exactly one model effect.", stmt.line, stmt.col)
    out = []
    for name in names:
        k = _lsm_effect(design, classes, name, stmt, kwname)
        Ls, labels, evars = lsmeans_L(design, classes, name, data, means, om, at=at)
        if is_slice and len(evars) < 2:
            raise SasError(f"The SLICE effect must be an interaction of CLASS variables ({design.effects[k].name} "
                           "is a main effect).", stmt.line, stmt.col)
        eff_name = design.effects[k].name
        at_cols = [Column(v, None, "10.2") for v in (at or {})]   # AT covariates are shown at their values
        df = df_for(k) if df_for else math.inf
        rows = []
        ests = []
        for L, lab in zip(Ls, labels):
            row = {"Effect": eff_name, **lab, **(at or {})}
            if not estimable(L, design):
                row.update({"Estimate": None, "StdErr": None, "_display": {"Estimate": "Non-est"}})
                rows.append(row)
                ests.append(None)
                continue
            est = float(L @ beta)
            se = math.sqrt(max(float(L @ cov @ L), 0.0))
            dfr = df_of(L) if df_of is not None else df
            row.update(_stat_cols(est, se, dfr, alpha, o.has("cl"), o.has("ilink"), link, o.has("exp"), tstyle))
            rows.append(row)
            ests.append((L, est, se))
        cols = [Column("Effect", hidden=glimmix)] + [Column(v) for v in evars] + at_cols + \
            _stat_columns(df, o.has("cl"), o.has("ilink"), o.has("exp"), tstyle)
        if not is_slice:        # SLICE prints the LS-means per partition (MEANS), below
            out.append(Table(proc, "LSMeans", f"{eff_name} Least Squares Means", cols, rows))
        oddsratio = o.has("oddsratio") or o.has("or")

        def diff_row(a, b, extra):
            """The difference of LS-means a and b (both estimable) as a row of a differences table."""
            L = ests[a][0] - ests[b][0]
            est = float(L @ beta)
            se = math.sqrt(max(float(L @ cov @ L), 0.0))
            row = {**extra, "Effect": eff_name, **labels[a], **{"_" + v: labels[b][v] for v in evars}, **(at or {})}
            dfr = df_of(L) if df_of is not None else df
            row.update(_stat_cols(est, se, dfr, alpha, o.has("cl"), False, link, o.has("exp"), tstyle))
            if oddsratio:
                q = st.t.ppf(1 - alpha / 2, dfr) if dfr != math.inf else st.norm.ppf(1 - alpha / 2)
                row.update({"OddsRatio": math.exp(est), "LowerOR": math.exp(est - q * se),
                            "UpperOR": math.exp(est + q * se)})
            return row

        # multiplicity adjustments use the DF of the effect's Type 3 test (ADJDFE=SOURCE) or each row's
        src_df = df
        if slice_adjust is not None and math.isfinite(df):
            L3 = GL.type3_L(design, k)
            if len(L3) and GL.wald_test(L3, beta, cov)[1]:
                src_df = slice_adjust(L3, 1.0, df)[0]

        def diff_table(name, title, lead, shown, groups):
            """A differences table over groups of (leading columns, pairs of LS-means indices, number of
            LS-means); a multiple-comparison adjustment is made within each group."""
            drows, adj_cols = [], []
            for extra, pairs, kk in groups:
                grows = [diff_row(a, b, extra) for a, b in pairs]
                if adjust not in ("t", "none") and grows:
                    corr = None
                    if adjust == "dunnett":
                        Ld = np.array([ests[a][0] - ests[b][0] for a, b in pairs])
                        C = Ld @ cov @ Ld.T
                        dd = np.sqrt(np.maximum(np.diag(C), 1e-300))
                        corr = C / np.outer(dd, dd)
                    adj_cols = _adjust_rows(grows, adjust, kk, alpha, o.has("cl"),
                                            df=src_df if adjdfe == "source" else None, corr=corr,
                                            dunnett_name="Dunnett" if exact_dunnett else "Dunnett-Hsu")
                drows.extend(grows)
            dcols = lead + [Column("Effect", hidden=glimmix or is_slice)] + [Column(v) for v in shown] + \
                [Column("_" + v, "_" + v) for v in shown] + at_cols + \
                _stat_columns(df, o.has("cl"), False, o.has("exp"), tstyle)
            subtitle = None
            if adj_cols:
                if glimmix:      # GLIMMIX names the adjustment in a subtitle, not in a column
                    adj_cols[0].hidden = True
                    subtitle = f"Adjustment for Multiple Comparisons: {drows[0]['Adjustment']}"
                dcols += adj_cols
            if oddsratio:
                dcols += [Column("OddsRatio", "Odds Ratio", "8.3"), Column("LowerOR", "Lower\nOdds Ratio", "8.3"),
                          Column("UpperOR", "Upper\nOdds Ratio", "8.3")]
            return Table(proc, name, title, dcols, drows, subtitle=subtitle)

        usable = [i for i, e in enumerate(ests) if e is not None]

        def all_pairs(idx):
            return [(a, b) for i, a in enumerate(idx) for b in idx[i + 1:]]

        if is_slice:
            if o.has("diff") or o.has("pdiff"):
                if _diff_kind(o, stmt, adjust)[0] != "all" or adjust == "dunnett":
                    raise SasError("DIFF=CONTROL and ADJUST=DUNNETT are not supported in the SLICE statement yet.",
                                   stmt.line, stmt.col)
            show_means = o.has("means") and not o.has("nomeans")
            show_diffs = o.has("diff") or o.has("pdiff") or oddsratio or o.has("adjust") or o.has("nof")
            chisq = df == math.inf and not tstyle          # GENMOD: Wald chi-square tests
            for text, part, vs in _slice_partitions(specs, evars, labels, eff_name, stmt):
                idx = [i for i in part if ests[i] is not None]
                if show_means:
                    out.append(Table(proc, "Slices", f"{eff_name} Least Squares Means",
                                     [Column("Slice")] + [Column("Effect", hidden=True)] + cols[1:],
                                     [{"Slice": text, **rows[i]} for i in part]))
                if not o.has("nof"):
                    out.append(_slice_test(proc, eff_name, text, [ests[i][0] for i in idx], beta, cov, df,
                                           slice_adjust, chisq))
                if show_diffs:
                    out.append(diff_table("SliceDiffs", f"Simple Differences of {eff_name} Least Squares Means",
                                          [Column("Slice")], [w for w in evars if w not in vs],
                                          [({"Slice": text}, all_pairs(idx), len(idx))]))
            continue
        # ADJUST= modifies the differences, so it implies DIFF (as SAS's LSMEANS documentation says)
        if o.has("diff") or o.has("pdiff") or oddsratio or o.has("adjust"):
            if diff_kind == "control":
                c = _control_index(control, labels, evars, usable, stmt, eff_name)
                pairs = [(a, c) for a in usable if a != c]
            else:
                pairs = all_pairs(usable)
            out.append(diff_table("Diffs", f"Differences of {eff_name} Least Squares Means", [], evars,
                                  [({}, pairs, len(usable))]))
        if slices is not None and o.has("slice"):
            out.extend(slice_table(proc, stmt, eff_name, evars, labels, ests, beta, cov, df, slice_adjust,
                                   slices == "glimmix", glimmix))
        for sv in _slice_vars(stmt, "slicediff"):
            # SLICEDIFF=v: the differences of the LS-means that share a level of v, adjusted per level
            v = _slice_var(stmt, "slicediff", sv, evars, eff_name)
            if adjust == "dunnett":
                raise SasError("ADJUST=DUNNETT is not supported with SLICEDIFF= yet.", stmt.line, stmt.col)
            groups = []
            for lev in dict.fromkeys(lab[v] for lab in labels):
                idx = [i for i in usable if labels[i][v] == lev]
                groups.append(({"Slice": f"{v} {lev}"}, all_pairs(idx), len(idx)))
            out.append(diff_table("SliceDiffs", f"Simple Effect Comparisons of {eff_name} Least Squares Means By {v}",
                                  [Column("Slice", "Simple\nEffect\nLevel")], [w for w in evars if w != v],
                                  groups))
    return out


def lsmestimate_table(session, proc, stmt, design, classes, data, means, beta, cov, link, df_for=None,
                      df_of=None, om_default=False) -> Table:
    """LSMESTIMATE effect ['label'] coefficients [, ['label'] coefficients ...] [/ options]: linear
    combinations of the effect's LS-means (coefficients in the order of the LS-means table; missing
    trailing ones are 0), each tested like an ESTIMATE row.  Table LSMEstimates, "Least Squares Means
    Estimates" (Effect, Label, Estimate, StdErr, DF, tValue, Probt[, Alpha, Lower, Upper][, ...])."""
    at, rest = parse_at(stmt, design, classes, "LSMESTIMATE")
    import dataclasses
    o = hypothesis_options(session, dataclasses.replace(stmt, options=rest), "lsmestimate",
                           {"alpha", "cl", "df", "divisor", "e", "elsm", "exp", "ilink", "om", "obsmargins",
                            "singular", "adjust", "joint", "lower", "upper", "testvalue", "chisq", "stepdown",
                            "bylevel", "plots", "catnames", "cov", "corr"},
                           unsupported=["joint", "lower", "upper", "testvalue", "stepdown", "bylevel",
                                        "chisq"],
                           ignored=["e", "elsm", "singular", "plots", "catnames", "cov", "corr"])
    adjust = str(o.get("adjust", "t")).lower()
    adjust = {"bon": "bonferroni", "sid": "sidak", "sch": "scheffe"}.get(adjust, adjust)
    if adjust not in ("t", "none", "bonferroni", "sidak", "scheffe"):
        raise SasError(f"LSMESTIMATE ADJUST={adjust.upper()} is not supported yet (BON, SIDAK, SCHEFFE and T are).",
                       stmt.line, stmt.col)
    items = list(stmt.items)
    if not items or not (isinstance(items[0], A.Word) and items[0].kind == "name"):
        raise SasError("The LSMESTIMATE statement needs a model effect first.", stmt.line, stmt.col)
    name = str(items[0].value)
    i = 1
    while i + 1 < len(items) and isinstance(items[i], A.Word) and items[i].kind == "op" and items[i].value == "*":
        name += "*" + str(items[i + 1].value)
        i += 2
    k = _lsm_effect(design, classes, name, stmt, "LSMESTIMATE")
    om = o.has("om") or o.has("obsmargins") or om_default
    Ls, _, evars = lsmeans_L(design, classes, name, data, means, om, at=at)
    Lm = np.array(Ls)
    dims = [len(classes[v].levels) for v in evars]
    modes: set = set()          # 'pos' / 'nonpos' per row: the two syntaxes are not mixed in a row
    # rows: ['label'] numbers [divisor=n], separated by commas
    rows_c: list[tuple[str | None, list[float], float]] = []
    label, vals, rdiv = None, [], 1.0
    j = i
    while j < len(items):
        w = items[j]
        if isinstance(w, A.Word) and w.kind == "string":
            if vals:
                rows_c.append((label, vals, rdiv))
                vals, rdiv, modes = [], 1.0, set()
            label = str(w.value)
        elif isinstance(w, A.Group) and w.name == "[":
            # nonpositional [coefficient, level indices]: the LS-mean of that level combination
            coef, lev = bracket_values(w, stmt)
            if len(lev) != len(evars):
                raise SasError(f"The nonpositional coefficients of {name} need {len(evars)} level index(es) "
                               f"({' '.join(evars)}).", w.line, w.col)
            q = int(np.ravel_multi_index([level_index(x, v, classes, w) for x, v in zip(lev, evars)], dims))
            vals.extend([0.0] * (q + 1 - len(vals)))
            vals[q] += coef
            modes.add("nonpos")
        elif isinstance(w, A.Word) and w.kind == "number":
            vals.append(float(w.value))
            modes.add("pos")
        elif isinstance(w, A.Word) and w.kind == "op" and w.value in ("-", "+") and j + 1 < len(items) and \
                isinstance(items[j + 1], A.Word) and items[j + 1].kind == "number":
            vals.append((-1 if w.value == "-" else 1) * float(items[j + 1].value))
            modes.add("pos")
            j += 1
        elif isinstance(w, A.Opt) and w.key.lower() == "divisor" and isinstance(value_of(w.value), float) \
                and value_of(w.value) != 0:
            rdiv = float(value_of(w.value))          # a row's own divisor
        elif isinstance(w, A.Word) and w.kind == "op" and w.value == ",":
            rows_c.append((label, vals, rdiv))
            label, vals, rdiv, modes = None, [], 1.0, set()
        else:
            raise SasError("LSMESTIMATE coefficients must be numbers in the order of the LS-means or "
                           "nonpositional [coefficient, level indices] entries.",
                           getattr(w, "line", stmt.line), getattr(w, "col", stmt.col))
        if len(modes) > 1:
            raise SasError("An LSMESTIMATE row cannot mix positional and nonpositional coefficients.",
                           getattr(w, "line", stmt.line), getattr(w, "col", stmt.col))
        j += 1
    if vals or label is not None:
        rows_c.append((label, vals, rdiv))
    if not rows_c or not any(v for _, v, _ in rows_c):
        raise SasError("The LSMESTIMATE statement needs coefficients.", stmt.line, stmt.col)
    # DIVISOR=value-list after the slash: one per row, the last copied forward, a row's own divisor multiplies it
    dl = [float(d) if isinstance(d, float) and d == d else 1.0 for d in o.get_list("divisor")]
    if any(d == 0 for d in dl):
        raise SasError("DIVISOR= values must be nonzero.", stmt.line, stmt.col)
    alpha = float(o.get("alpha", 0.05))
    cl, ilink, exp = o.has("cl"), o.has("ilink"), o.has("exp")
    eff_name = design.effects[k].name
    df = df_for(k) if df_for else math.inf
    out, used_L = [], []
    for n, (lab, v, rdiv) in enumerate(rows_c):
        if len(v) > len(Lm):
            raise SasError(f"Too many coefficients for the {len(Lm)} LS-means of {eff_name}.", stmt.line, stmt.col)
        c = np.zeros(len(Lm))
        c[:len(v)] = v
        div = (dl[min(n, len(dl) - 1)] if dl else 1.0) * rdiv
        L = (c @ Lm) / div
        row = {"Effect": eff_name, "Label": lab if lab is not None else f"Row {n + 1}"}
        if not all(estimable(Lm[q], design) for q in np.nonzero(c)[0]):
            row.update({"Estimate": None, "StdErr": None, "_display": {"Estimate": "Non-est"}})
            out.append(row)
            continue
        est = float(L @ beta)
        se = math.sqrt(max(float(L @ cov @ L), 0.0))
        dfr = df_of(L) if df_of is not None else df
        if o.has("df"):
            dfr = float(o.get("df"))
        row.update(_stat_cols(est, se, dfr, alpha, cl, ilink, link, exp, df_for is not None))
        out.append(row)
        used_L.append(L)
    cols = [Column("Effect"), Column("Label")] + _stat_columns(df if not o.has("df") else 1.0, cl, ilink, exp,
                                                               df_for is not None)
    if adjust not in ("t", "none") and out and all(r.get("Estimate") is not None for r in out):
        # over the rows of this statement, as for ESTIMATE (Scheffe with rank(L) numerator DF)
        rank = int(np.linalg.matrix_rank(np.array(used_L)))
        cols += _adjust_rows(out, adjust, rank + 1, alpha, cl)
    return Table(proc, "LSMEstimates", "Least Squares Means Estimates", cols, out)


def _diff_kind(o, stmt, adjust):
    """DIFF= / PDIFF=: ('all', None) or ('control', [formatted levels] or None for the first LS-mean).
    ADJUST=DUNNETT compares with a control."""
    v = o.nodes.get("diff", o.nodes.get("pdiff"))
    kind, levels = "all", None
    if isinstance(v, A.Group) and v.name:
        kind = v.name.lower()
        levels = [str(w.value) for w in v.items if isinstance(w, A.Word) and w.kind in ("string", "number", "name")]
    elif isinstance(v, A.Word) and v.kind == "name":
        kind = str(v.value).lower()
    if kind not in ("all", "control"):
        raise SasError(f"LSMEANS DIFF={kind.upper()} is not supported yet (ALL and CONTROL are).", stmt.line, stmt.col)
    if adjust == "dunnett":
        kind = "control"
    return kind, levels


def _control_index(control, labels, evars, usable, stmt, eff_name) -> int:
    """The LS-mean that DIFF=CONTROL('l1' 'l2' ...) names (the levels of the effect's variables in order;
    by default the first estimable LS-mean)."""
    if not control:
        return usable[0]
    if len(control) != len(evars):
        raise SasError(f"DIFF=CONTROL needs one level for each variable of {eff_name}.", stmt.line, stmt.col)
    for i in usable:
        if all(str(labels[i][v]).strip() == c.strip() for v, c in zip(evars, control)):
            return i
    raise SasError(f"The control level ({' '.join(control)}) is not an estimable LS-mean of {eff_name}.",
                   stmt.line, stmt.col)


def _adjust_rows(drows, adjust, k, alpha, cl, df=None, corr=None, dunnett_name="Dunnett-Hsu"):
    """Multiple-comparison adjustment of a family of m differences among k LS-means: Bonferroni, Sidak,
    Scheffe, Tukey(-Kramer) by the studentized range, and Dunnett (comparisons with a control; ``corr`` their
    correlation matrix) by Hsu's factor-analytic method.  ``df``: the DF of the adjustment (the effect's;
    None: each row's own). Adds the Adjustment, Adj P (and, with CL, AdjLower, AdjUpper) columns; returns
    those columns."""
    from ..stats import multcomp as MC
    m = len(drows)
    ses = [r["StdErr"] for r in drows]
    name = {"bonferroni": "Bonferroni", "sidak": "Sidak", "scheffe": "Scheffe", "dunnett": dunnett_name, "smm": "SMM",
            "tukey": "Tukey" if max(ses) - min(ses) <= 1e-8 * max(ses) else "Tukey-Kramer"}[adjust]
    # SMM: the studentized maximum modulus of m independent t statistics (the one-factor model with no factor)
    lam = MC.one_factor(corr) if adjust == "dunnett" else np.zeros(m) if adjust == "smm" else None
    qcache = {}
    row_df = df
    for r in drows:
        df = r.get("DF", math.inf) if row_df is None else row_df
        df = math.inf if df is None else df
        t = abs(r["Estimate"] / r["StdErr"]) if r["StdErr"] > 0 else math.nan
        p = 2 * (st.t.sf(t, df) if df != math.inf else st.norm.sf(t))
        if adjust == "bonferroni":
            adj = min(1.0, m * p)
            q = st.t.ppf(1 - alpha / (2 * m), df) if df != math.inf else st.norm.ppf(1 - alpha / (2 * m))
        elif adjust == "sidak":
            adj = 1 - (1 - p) ** m
            a1 = 1 - (1 - alpha) ** (1 / m)
            q = st.t.ppf(1 - a1 / 2, df) if df != math.inf else st.norm.ppf(1 - a1 / 2)
        elif adjust in ("dunnett", "smm"):
            adj = MC.dunnett_p(t, lam, df)
            if cl and df not in qcache:
                qcache[df] = MC.dunnett_q(alpha, lam, df)
            q = qcache.get(df, math.nan)
        elif adjust == "scheffe":
            adj = float(st.f.sf(t * t / (k - 1), k - 1, df if df != math.inf else 1e12))
            q = math.sqrt((k - 1) * st.f.ppf(1 - alpha, k - 1, df if df != math.inf else 1e12))
        else:
            adj = float(st.studentized_range.sf(math.sqrt(2) * t, k, df))
            if cl and df not in qcache:      # the critical value is slow to find: once per DF
                qcache[df] = float(st.studentized_range.ppf(1 - alpha, k, df)) / math.sqrt(2)
            q = qcache.get(df, math.nan)
        r["Adjustment"] = name
        r["Adjp"] = min(max(adj, 0.0), 1.0)
        if cl:
            r["AdjLower"] = r["Estimate"] - q * r["StdErr"]
            r["AdjUpper"] = r["Estimate"] + q * r["StdErr"]
    cols = [Column("Adjustment"), Column("Adjp", "Adj P", "PVALUE6.4")]
    if cl:
        cols += [Column("AdjLower", "Adj Lower", "10.4"), Column("AdjUpper", "Adj Upper", "10.4")]
    return cols


def _stat_cols(est, se, df, alpha, cl, ilink, link, exp, tstyle=False):
    """One row's statistics: z tests when df is infinite (GENMOD), t tests otherwise; ``tstyle``: the
    mixed-model procedures' form, where an infinite DF (DDFM=NONE) is printed as Infty with a t Value."""
    zname = "z" if df == math.inf and not tstyle else "t"
    stat = est / se if se > 0 else math.nan
    p = 2 * (st.norm.sf(abs(stat)) if df == math.inf else st.t.sf(abs(stat), df))
    row = {"Estimate": est, "StdErr": se}
    if zname == "t":
        row["DF"] = df
    row[f"{zname}Value"] = stat
    row[f"Prob{zname}"] = p
    q = st.norm.ppf(1 - alpha / 2) if df == math.inf else st.t.ppf(1 - alpha / 2, df)
    if cl:
        row.update({"Alpha": alpha, "Lower": est - q * se, "Upper": est + q * se})
    if ilink:
        mu = float(link.inv(np.array([est]))[0])
        row["Mean"] = mu
        row["StdErrMean"] = abs(float(link.dmu_deta(np.array([est]))[0])) * se
        if cl:
            lo = float(link.inv(np.array([est - q * se]))[0])
            hi = float(link.inv(np.array([est + q * se]))[0])
            row["LowerMean"], row["UpperMean"] = min(lo, hi), max(lo, hi)
    if exp:
        row["ExpEstimate"] = math.exp(est)
        if cl:
            row["LowerExp"], row["UpperExp"] = math.exp(est - q * se), math.exp(est + q * se)
    return row


def _stat_columns(df, cl, ilink, exp, tstyle=False):
    z = df == math.inf and not tstyle
    cols = [Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4")]
    if not z:
        cols.append(Column("DF", None, "DFMT"))
    cols += [Column("zValue" if z else "tValue", "z Value" if z else "t Value", "8.2"),
             Column("Probz" if z else "Probt", "Pr > |z|" if z else "Pr > |t|", "PVALUE6.4")]
    if cl:
        cols += [Column("Alpha", None, "5.2"), Column("Lower", None, "10.4"), Column("Upper", None, "10.4")]
    if ilink:
        cols += [Column("Mean", None, "10.4"), Column("StdErrMean", "Standard\nError\nMean", "10.4")]
        if cl:
            cols += [Column("LowerMean", "Lower\nMean", "10.4"), Column("UpperMean", "Upper\nMean", "10.4")]
    if exp:
        cols.append(Column("ExpEstimate", "Exponentiated", "10.4"))
        if cl:
            cols += [Column("LowerExp", "Exponentiated\nLower", "10.4"), Column("UpperExp", "Exponentiated\nUpper", "10.4")]
    return cols


# ---------------------------------------------------------------------- random-effect coefficients
class RandomPart:
    """The G-side random effects of a fitted mixed model as ESTIMATE and CONTRAST see them after '|'.

    ``specs`` are the RANDOM statements on the processing unit (each with Zd, q, m, col0, keymap, uniq and
    effects, as PROC MIXED lays them out); per unit k: the BLUPs b[k] (Q), A[k] = G Z' V^-1 X (Q x p over the
    kept X columns) and B[k] = G - G Z' V^-1 Z G (Q x Q); ``keep`` maps the kept columns into the design."""

    def __init__(self, specs, b, A, B, keep):
        self.specs, self.b, self.A, self.B, self.keep = specs, b, A, B, np.asarray(keep, dtype=bool)

    def _columns(self, name, stmt):
        """(spec, columns of Zd) of a RANDOM effect named in the coefficients."""
        want = [v.lower() for v in name.split("*")]
        for sp in self.specs:
            if want in (["intercept"], ["int"]):
                if sp.intercept:
                    return sp, [j for j in range(sp.q) if sp.Zd.effect_of_col[j] == -1]
                continue
            for k, e in enumerate(sp.effects):
                f = [v.lower() for v in e.factors]
                if f == want or sorted(f) == sorted(want):
                    return sp, [j for j in range(sp.q) if sp.Zd.effect_of_col[j] == k]
        raise SasError(f"Effect {name} is not a RANDOM effect.", stmt.line, stmt.col)

    def vectors(self, rc: dict, subject, stmt) -> np.ndarray:
        """The K x Q coefficients of one row: each RANDOM effect's values on its columns, for every subject of
        its statement weighted by the SUBJECT coefficients (default: equally, 1/S each)."""
        K, Q = self.b.shape
        M = np.zeros((K, Q))
        for name, vals in rc.items():
            sp, cols = self._columns(name, stmt)
            if len(vals) > len(cols):
                raise SasError(f"Too many coefficients for random effect {name} ({len(cols)} levels).",
                               stmt.line, stmt.col)
            S = len(sp.uniq) if sp.uniq is not None else 1
            if subject is not None and sp.uniq is not None:
                if len(subject) > S:
                    raise SasError(f"Too many SUBJECT coefficients ({S} subjects).", stmt.line, stmt.col)
                w = np.zeros(S)
                w[:len(subject)] = subject
            else:
                w = np.full(S, 1.0 / S)
            for k in range(K):
                for l_ in range(sp.m):
                    s_ = sp.keymap[k, l_]
                    if s_ < 0 or w[s_] == 0:
                        continue
                    for c, v in zip(cols, vals):
                        M[k, sp.col0 + l_ * sp.q + c] += w[s_] * v
        return M

    def moments(self, Ms, L, covb):
        """For rows M_1..M_r (with fixed coefficients L, r x p over the design, and the printed covariance covb
        of the fixed effects): the BLUP part of each estimate and the r x r covariance of the prediction errors,
        (L - A) covb (L - A)' + M B M' with A = sum_k M_k A_k (Henderson)."""
        adds = np.array([float(np.sum(M * self.b)) for M in Ms])
        Ak = np.array([np.einsum("kq,kqp->p", M, self.A) for M in Ms])
        A = np.zeros((len(Ms), len(self.keep)))
        A[:, self.keep] = Ak
        E = np.array([[float(np.einsum("kq,kqr,kr->", M1, self.B, M2)) for M2 in Ms] for M1 in Ms])
        Leff = L - A
        return adds, Leff @ covb @ Leff.T + E


class ModeRandomPart(RandomPart):
    """The random effects of a GLMM fitted by maximum likelihood (GLIMMIX QUAD/LAPLACE) after '|': the
    predictions are the conditional modes, and their errors follow the documentation's approximate prediction
    variance (as for RANDOM SOLUTION): g hat_k - g_k ~ J_k (psi hat - psi) + e_k, with J_k the mode's derivative
    in all parameters psi (fixed effects, covariance parameters, scale), their printed covariance C, and e_k
    independent with the inverse Hessian at the mode as variance."""

    def __init__(self, specs, modes, jac, cond_var, cov_all, keep):
        super().__init__(specs, modes, None, None, keep)
        self.jac, self.cond_var, self.cov_all = jac, cond_var, cov_all

    def moments(self, Ms, L, covb):
        adds = np.array([float(np.sum(M * self.b)) for M in Ms])
        p = int(self.keep.sum())
        W = np.array([np.einsum("kq,kqm->m", M, self.jac) for M in Ms])
        W[:, :p] += L[:, self.keep]
        E = np.array([[float(np.einsum("kq,kqr,kr->", M1, self.cond_var, M2)) for M2 in Ms] for M1 in Ms])
        return adds, W @ self.cov_all @ W.T + E


def random_coefficient_statement(hyps):
    """The first ESTIMATE or CONTRAST statement of (keyword, statement) pairs with random-effect coefficients
    (after '|'), or None."""
    return next((stm for kw, stm in hyps if kw in ("estimate", "contrast") and
                 any(isinstance(w, A.Word) and w.kind == "op" and w.value == "|" for w in stm.items)), None)


def estimate_row(label, L, rc, random, subject, stmt, beta, covb) -> tuple[float, float]:
    """The estimate L beta (+ the BLUP part of random coefficients rc) of one ESTIMATE row and its standard
    error (its prediction standard error with random coefficients)."""
    _, _, add, V = random_rows([(label, L, rc)], random, subject, stmt, covb)
    return float(L @ beta + add[0]), math.sqrt(max(float(V[0, 0]), 0.0))


def random_coefficient_options(stmt, random):
    """SUBJECT coefficients of an ESTIMATE or CONTRAST (only with random effects; GROUP coefficients are not
    supported) and the statement with them removed from its options."""
    import copy
    subject, rest = coefficient_option(stmt.options, "subject")
    group, rest = coefficient_option(rest, "group")
    if group is not None:
        raise SasError("GROUP coefficients on ESTIMATE and CONTRAST are not supported yet.", stmt.line, stmt.col)
    if subject is not None and random is None:
        raise SasError("SUBJECT coefficients need random-effect coefficients (after '|') of G-side random "
                       "effects.", stmt.line, stmt.col)
    if subject is None:
        return None, stmt
    new = copy.copy(stmt)
    new.options = rest
    return subject, new


def random_rows(rows, random, subject, stmt, covb):
    """Rows (label, L, random coefficients) -> (labels, L matrix of the fixed coefficients, BLUP additions,
    covariance of the rows): estimate = L beta + add, Var = L covb L' without random coefficients."""
    labels = [lab for lab, _, _ in rows]
    L = np.array([Lr for _, Lr, _ in rows])
    if random is None or not any(rc for _, _, rc in rows):
        if subject is not None:
            raise SasError("SUBJECT coefficients need random-effect coefficients (after '|').", stmt.line, stmt.col)
        return labels, L, np.zeros(len(rows)), L @ covb @ L.T
    Ms = [random.vectors(rc or {}, subject, stmt) for _, _, rc in rows]
    adds, V = random.moments(Ms, L, covb)
    return labels, L, adds, V
