"""PROC GLIMMIX COVTEST: likelihood ratio tests of the covariance parameters.

The null model is the full model refitted under the test's constraints: parameters held at given values (a
value list, ZEROG, GLM, DIAGG, DIAGR, INDEP) or equal across the levels of GROUP= (HOMOGENEITY).  Under
pseudo-likelihood the refit is of the final pseudo linear mixed model ("based on the final pseudo-data", as
the GLIMMIX documentation puts it); with QUAD/LAPLACE the quadrature likelihood is maximised again (a GLM when
every G-side parameter is held at 0).  The p-value is the chi-square with DF = number of constraints ("DF"),
or a 50:50 mixture ("MI") when the test sets one variance bounded at 0 to 0 (chi-square 0 and 1) or removes
the last row and column of an unstructured G (chi-square q-1 and q; Stram and Lee 1994)."""
from __future__ import annotations

import re

import numpy as np
from scipy import stats as st

from .. import ast as A
from ..errors import SasError
from ..ods.table import Column, Table

KEYWORDS = {"zerog": "ZeroG", "glm": "GLM", "diagg": "DiagG", "diagr": "DiagR", "indep": "Independence",
            "homogeneity": "Homogeneity"}


class Spec:
    """One COVTEST statement: its label, the test (a keyword or 'values') and the value list."""

    def __init__(self, stm):
        self.stm, self.label, self.kind, self.values = stm, None, None, []
        items = list(stm.items)
        if items and isinstance(items[0], A.Word) and items[0].kind == "string":
            self.label = str(items.pop(0).value)
        sign = 1.0                              # a leading minus sign belongs to the next number
        for it in items:
            kind, val = (it.kind, it.value) if isinstance(it, A.Word) else (None, None)
            if kind == "name" and str(val).lower() in KEYWORDS and self.kind is None:
                self.kind = str(val).lower()
            elif kind == "name":
                raise SasError(f"COVTEST {str(val).upper()} is not supported yet (value lists, ZEROG, GLM, DIAGG, "
                               "DIAGR, INDEP and HOMOGENEITY are).", it.line, it.col)
            elif self.kind not in (None, "values"):
                raise SasError("This COVTEST test specification is not supported yet (value lists, ZEROG, GLM, "
                               "DIAGG, DIAGR, INDEP and HOMOGENEITY are).", stm.line, stm.col)
            elif kind == "op" and val == "-":
                sign = -sign
            elif kind == "number" or (kind == "op" and val == "."):
                self.kind = "values"
                self.values.append(sign * float(val) if kind == "number" else None)
                sign = 1.0
            else:
                raise SasError("This COVTEST test specification is not supported yet (value lists, ZEROG, GLM, "
                               "DIAGG, DIAGR, INDEP and HOMOGENEITY are).", stm.line, stm.col)
        for o in stm.options or []:
            key = (o.key if isinstance(o, A.Opt) else str(getattr(o, "value", ""))).lower()
            raise SasError(f"The COVTEST option {key.upper()} is not supported yet.", stm.line, stm.col)
        if self.kind is None:
            raise SasError("COVTEST needs a test specification (a value list or ZEROG, GLM, DIAGG, DIAGR, INDEP, "
                           "HOMOGENEITY).", stm.line, stm.col)
        if self.label is None:
            self.label = KEYWORDS.get(self.kind, "")


class Params:
    """What a test needs to know about the covariance parameters: names, G-side count, which have a lower
    bound of 0, and the estimates."""

    def __init__(self, names, n_g, lower0, theta):
        self.names, self.n_g, self.lower0 = list(names), n_g, list(lower0)
        self.theta = np.asarray(theta, dtype=float)


def _offdiag(name: str) -> bool:
    m = re.match(r"(UN|CHOL)\((\d+),(\d+)\)", name)
    return bool(m) and m.group(2) != m.group(3)


def _rside_corr(name: str) -> bool:
    return name in ("CS", "AR(1)", "Corr") or name.startswith("TOEP(") and not name.startswith("TOEP(1)") or \
        _offdiag(name) or name.startswith("Corr")


def constraints(spec: Spec, P: Params):
    """(held mask, held values) for the hold-type tests; None for HOMOGENEITY."""
    n = len(P.names)
    hold = np.zeros(n, dtype=bool)
    vals = P.theta.copy()
    g = np.arange(n) < P.n_g
    if spec.kind == "values":
        if len(spec.values) > n:
            raise SasError(f"COVTEST lists {len(spec.values)} values; the model has {n} covariance parameters.",
                           spec.stm.line, spec.stm.col)
        for i, v in enumerate(spec.values):
            if v is not None:
                hold[i], vals[i] = True, v
    elif spec.kind in ("zerog", "glm"):
        if spec.kind == "glm" and P.n_g < n and not all(nm in ("Residual", "Scale") for nm in P.names[P.n_g:]):
            raise SasError("COVTEST GLM with an R-side covariance structure is not supported yet.",
                           spec.stm.line, spec.stm.col)
        hold[g], vals[g] = True, 0.0
    elif spec.kind in ("diagg", "diagr", "indep"):
        for i, nm in enumerate(P.names):
            side_g = g[i]
            if side_g and spec.kind == "diagr" or not side_g and spec.kind == "diagg":
                continue
            if _offdiag(nm):
                hold[i], vals[i] = True, 0.0
            elif _rside_corr(nm):
                raise SasError(f"COVTEST {spec.kind.upper()} with the covariance parameter {nm} is not supported yet "
                               "(VC, UN and CHOL structures are).", spec.stm.line, spec.stm.col)
    else:
        return None
    return hold, vals


def pvalue(chisq: float, df: int, mixture):
    """Pr > ChiSq: mixture = None (chi-square with df) or the (df_a, df_b) of a 50:50 mixture."""
    if df == 0 or chisq <= 0:
        return 1.0
    if mixture is None:
        return float(st.chi2.sf(chisq, df))
    a, b = mixture
    pa = float(st.chi2.sf(chisq, a)) if a > 0 else 0.0
    return 0.5 * pa + 0.5 * float(st.chi2.sf(chisq, b))


def mixture_of(hold, vals, P: Params):
    """The 50:50 chi-square mixture SAS uses for this test, or None."""
    idx = [i for i in range(len(hold)) if hold[i]]
    if not idx or any(vals[i] != 0 for i in idx):
        return None
    if len(idx) == 1 and P.lower0[idx[0]]:
        return (0, 1)
    # the last row and column of an unstructured G: UN(q,1) ... UN(q,q)
    names = [P.names[i] for i in idx]
    m = [re.match(r"(UN|CHOL)\((\d+),(\d+)\)", nm) for nm in names]
    if all(m) and len({x.group(1) for x in m}) == 1 and len({x.group(2) for x in m}) == 1:
        q = int(m[0].group(2))
        rows = [re.match(r"(UN|CHOL)\((\d+),(\d+)\)", nm) for nm in P.names[:P.n_g]]
        qmax = max((int(x.group(2)) for x in rows if x), default=0)
        if q == qmax and q > 1 and sorted(int(x.group(3)) for x in m) == list(range(1, q + 1)) and \
                m[0].group(1) == "UN":
            return (q - 1, q)
    return None


def table(rows, kind: str):
    """The CovTests table; ``kind`` is 'reml', 'ml', 'rspl' or 'mspl' (the objective of the fit)."""
    sub = {"reml": "Based on the Restricted Likelihood", "ml": "Based on the Likelihood",
           "rspl": "Based on the Residual Pseudo-Likelihood", "mspl": "Based on the Pseudo-Likelihood"}[kind]
    head = {"reml": "-2 Res Log Like", "ml": "-2 Log Like", "rspl": "-2 Res Log P-Like",
            "mspl": "-2 Log P-Like"}[kind]
    notes = []
    if any(r["Note"] == "DF" for r in rows):
        notes.append("DF: P-value based on a chi-square with DF degrees of freedom.")
    if any(r["Note"] == "MI" for r in rows):
        notes.append("MI: P-value based on a mixture of chi-squares.")
    return Table("GLIMMIX", "CovTests", "Tests of Covariance Parameters", [
        Column("Label"), Column("DF", None, "INT"), Column("Objective", head, "10.2"),
        Column("ChiSq", None, "10.2"), Column("ProbChiSq", "Pr > ChiSq", "PVALUE6.4"), Column("Note")],
        rows, subtitle=sub, footnotes=notes)


def row(spec: Spec, full_m2ll: float, null_m2ll: float, df: int, mixture):
    chisq = max(null_m2ll - full_m2ll, 0.0)
    return {"Label": spec.label, "DF": df, "Objective": null_m2ll, "ChiSq": chisq,
            "ProbChiSq": pvalue(chisq, df, mixture), "Note": "MI" if mixture is not None else "DF"}
