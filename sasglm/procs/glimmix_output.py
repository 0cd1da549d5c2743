"""PROC GLIMMIX OUTPUT statement: which statistics are requested (keywords, keyword options, default names)
and how they are computed from a fitted model.

Every statistic comes from the linearised (pseudo) model at the final estimates, as the GLIMMIX documentation
describes its output statistics ("Notes on Output Statistics"): with the conditional linear predictor
eta = x'b + z'g (BLUP) or the marginal one eta_m = x'b (NOBLUP), Delta = dmu/deta, the pseudo-data's conditional
variance var[P|g] = var[Y|g] / Delta^2 and the weights W = 1 / var[P|g]:

- PRED: eta (Pred), eta_m (PredPA); ILINK: g^-1(eta) (PredMu, PredMuPA).
- STDERR: sqrt of the prediction variance of eta, [x z] C [x z]', with C the prediction covariance of
  (b, g - g_true) from the mixed model equations (C(b,b) the covariance of the fixed effects as printed);
  NOBLUP sqrt(x' C(b,b) x); ILINK the delta method |Delta| StdErr.
- RESID: r = p - eta = (y - mu) / Delta; ILINK y - mu.
- PEARSON: r / sqrt(var[P|g]); NOBLUP r_m / sqrt(var[P]) with var[P] = diag(Z G Z' + var[P|g]); ILINK the same on
  the data scale, (y - mu) / sqrt(var[Y|g]) and r_my / sqrt(var[Y]) with var[Y] = Delta^2 var[P].
- STUDENT: r / sqrt(var[r]) with var[r] = diag(R V^-1 R - R V^-1 X Phi X' V^-1 R) (R = diag(var[P|g]),
  V = Z G Z' + R, Phi the model-based covariance of b); NOBLUP r_m / sqrt(diag(V - X Phi X')).
- LCL, UCL: eta -/+ t(1 - alpha/2, df) StdErr (z when df is infinite); ILINK the limits mapped by g^-1.
- VARIANCE: var[P|g] (Variance), var[P] (VariancePA); ILINK var[Y|g], var[Y].

Marginal statistics evaluate the variance function at the marginal mean, as the documentation says.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats as st

from .. import ast as A
from ..errors import SasError
from ..stats.glmm import _grid, subject_positions
from .common import value_of

# keyword (and its aliases) -> statistic
KEYWORDS = {"pred": "pred", "predicted": "pred", "p": "pred", "stderr": "stderr", "std": "stderr",
            "resid": "resid", "residual": "resid", "r": "resid", "pearson": "pearson", "pears": "pearson",
            "student": "student", "lcl": "lcl", "ucl": "ucl", "variance": "variance", "var": "variance"}
BASE_NAMES = {"pred": "Pred", "stderr": "StdErr", "resid": "Resid", "pearson": "Pearson", "student": "Student",
              "lcl": "LCL", "ucl": "UCL", "variance": "Variance"}
ORDER = ["pred", "stderr", "resid", "pearson", "student", "lcl", "ucl", "variance"]
# statistics that exist for observations without a response (predictions)
PREDICTIVE = {"pred", "stderr", "lcl", "ucl"}


def default_name(kind: str, ilink: bool, noblup: bool) -> str:
    """SAS's default variable names: Pred, PredPA, PredMu, PredMuPA, ... (STUDENT has no ILINK form)."""
    return BASE_NAMES[kind] + ("Mu" if ilink and kind != "student" else "") + ("PA" if noblup else "")


@dataclass
class Stat:
    kind: str
    name: str | None
    ilink: bool
    noblup: bool


@dataclass
class Request:
    out: object
    stats: list[Stat]
    alpha: float = 0.05
    nomiss: bool = False
    novar: bool = False
    nounique: bool = False
    allstats: bool = False
    line: int = 0
    col: int = 0
    ids: list = field(default_factory=list)

    def resolved(self, random_effects: bool) -> list[Stat]:
        """The statistics with their names; ALLSTATS adds every statistic not asked for by keyword (without
        random effects BLUP and NOBLUP coincide and only the conditional forms are added)."""
        out = [Stat(s.kind, s.name or default_name(s.kind, s.ilink, s.noblup), s.ilink, s.noblup)
               for s in self.stats]
        if self.allstats:
            have = {(s.kind, s.ilink and s.kind != "student", s.noblup) for s in out}
            for kind in ORDER:
                # the documentation's order: default, NOBLUP, ILINK, NOBLUP ILINK
                for ilink, noblup in ((False, False), (False, True), (True, False), (True, True)):
                    if (noblup and not random_effects) or (ilink and kind == "student"):
                        continue
                    if (kind, ilink, noblup) not in have:
                        out.append(Stat(kind, default_name(kind, ilink, noblup), ilink, noblup))
        if not out:
            out = [Stat("pred", "Pred", False, False), Stat("resid", "Resid", False, False)]
        return out


def parse_output(stm) -> Request:
    """OUTPUT <OUT=ds> keyword<(BLUP NOBLUP ILINK NOILINK)><=name> ... </ ALLSTATS ALPHA= NOMISS NOUNIQUE NOVAR
    ILINK NOBLUP>."""
    from .common import dsref_from_value
    req = Request(None, [], line=stm.line, col=stm.col)
    glob = {}
    for o in stm.options or []:
        if isinstance(o, A.Opt) and o.key.lower() == "alpha":
            try:
                req.alpha = float(value_of(o.value))
            except (TypeError, ValueError):
                req.alpha = -1.0
            if not 0 < req.alpha < 1:
                raise SasError("The OUTPUT option ALPHA= must be between 0 and 1.", o.line, o.col)
            continue
        k = str(getattr(o, "value", getattr(o, "key", ""))).lower()
        if isinstance(o, A.Word) and k in ("ilink", "noblup", "noilink", "blup"):
            glob["ilink"] = k == "ilink" if k in ("ilink", "noilink") else glob.get("ilink", False)
            glob["noblup"] = k == "noblup" if k in ("noblup", "blup") else glob.get("noblup", False)
        elif isinstance(o, A.Word) and k in ("allstats", "allstat"):
            req.allstats = True
        elif isinstance(o, A.Word) and k == "nomiss":
            req.nomiss = True
        elif isinstance(o, A.Word) and k == "novar":
            req.novar = True
        elif isinstance(o, A.Word) and k == "nounique":
            req.nounique = True
        else:
            raise SasError(f"The OUTPUT option {k.upper()} is not supported yet (ALLSTATS, ALPHA=, NOMISS, NOUNIQUE, "
                           "NOVAR, ILINK and NOBLUP are).", o.line, o.col)
    items = list(stm.items)
    i = 0
    while i < len(items):
        it = items[i]
        if isinstance(it, A.Opt) and it.key.lower() in ("out", "data"):
            req.out = dsref_from_value(it.value, stm.line, stm.col)
            i += 1
            continue
        mods, name, key = [], None, None
        if isinstance(it, A.Opt):
            key, name = it.key.lower(), str(value_of(it.value))
        elif isinstance(it, A.Group) and it.name:
            key = it.name.lower()
            mods = [str(x.value).lower() for x in it.items if isinstance(x, A.Word)]
            if i + 2 < len(items) and isinstance(items[i + 1], A.Word) and items[i + 1].value == "=":
                name = str(items[i + 2].value)
                i += 2
        elif isinstance(it, A.Word) and it.kind == "name":
            key = str(it.value).lower()
        if key not in KEYWORDS:
            raise SasError(f"The OUTPUT statistic {str(key or '?').upper()} is not supported (PRED, STDERR, RESID, "
                           "PEARSON, STUDENT, LCL, UCL, VARIANCE are).", stm.line, stm.col)
        bad = [m for m in mods if m not in ("ilink", "noblup", "noilink", "blup")]
        if bad:
            raise SasError(f"The OUTPUT keyword option {bad[0].upper()} is not supported (BLUP, NOBLUP, ILINK, "
                           "NOILINK are).", stm.line, stm.col)
        ilink = ("ilink" in mods) if ("ilink" in mods or "noilink" in mods) else glob.get("ilink", False)
        noblup = ("noblup" in mods) if ("noblup" in mods or "blup" in mods) else glob.get("noblup", False)
        req.stats.append(Stat(KEYWORDS[key], name, ilink, noblup))
        i += 1
    if req.out is None:
        req.out = A.DsRef(None, "DATA" + str(stm.line), line=stm.line, col=stm.col)
    if glob and not req.stats and not req.allstats:
        req.stats = [Stat("pred", None, glob.get("ilink", False), glob.get("noblup", False)),
                     Stat("resid", None, glob.get("ilink", False), glob.get("noblup", False))]
    return req


@dataclass
class Model:
    """The fitted model in the form the statistics need (kept columns of X only)."""
    X: np.ndarray               # n x p, observations used
    beta: np.ndarray
    covb: np.ndarray            # covariance of beta as printed (model-based or empirical)
    covb_model: np.ndarray      # model-based covariance of beta (studentized residuals)
    offset: np.ndarray
    y: np.ndarray
    w: np.ndarray
    link: object
    var_y: object               # mu, w -> var[Y | random effects]
    df: float
    Z: np.ndarray | None = None     # n x q
    codes: np.ndarray | None = None
    modes: np.ndarray | None = None     # K x q
    G: np.ndarray | None = None         # q x q
    # maximum likelihood (QUAD/LAPLACE): inverse negative Hessians at the modes (K x q x q), the modes'
    # derivatives in all parameters (K x q x P) and the covariance of all parameters (P x P, beta first)
    cond_var: np.ndarray | None = None
    mode_jac: np.ndarray | None = None
    cov_all: np.ndarray | None = None


class Computed:
    """Statistics of the observations used in the fit (``used``) and predictions for further observations with
    a complete set of predictors (``new``: X, offset, Z and subject code, -1 for a subject not in the fit)."""

    def __init__(self, m: Model):
        self.m = m
        self.q = 0 if m.Z is None else m.Z.shape[1]
        eta_m = m.X @ m.beta + m.offset
        eta_c = eta_m + (np.einsum("nq,nq->n", m.Z, m.modes[m.codes]) if self.q else 0.0)
        self.eta = {False: eta_c, True: eta_m}
        self._pred_cov = self._cond_V = None

    # ---------------------------------------------------------------- variances of the pseudo model
    def _var_p(self, eta):
        """var[P | g] = var[Y | g] / Delta^2 at the linear predictor eta."""
        m = self.m
        mu = m.link.inv(eta)
        d = m.link.dmu_deta(eta)
        return m.var_y(mu, m.w) / d ** 2

    def _subject_V(self):
        """Per subject at the conditional linearisation: padded X, Z, R = var[P | g] and V^-1 with
        V = Z G Z' + R (identity on the padding); computed once."""
        if self._cond_V is None:
            m = self.m
            K = int(m.codes.max()) + 1
            pos, T = subject_positions(m.codes, K)
            Xg = _grid(m.X, m.codes, pos, K, T)
            Zg = _grid(m.Z, m.codes, pos, K, T)
            Rg = _grid(self._var_p(self.eta[False]), m.codes, pos, K, T, fill=1.0)
            V = np.einsum("ktq,qr,ksr->kts", Zg, m.G, Zg, optimize=True) + np.eye(T)[None] * Rg[:, :, None]
            self._cond_V = (pos, Xg, Zg, Rg, np.linalg.inv(V))
        return self._cond_V

    def prediction_cov(self):
        """Per subject C21 = Cov(g hat - g, b hat) (q x p) and C22 = Var(g hat - g).

        Maximum likelihood: the documentation's approximate prediction variance (Booth and Hobert's conditional
        mean squared error of prediction), C22 = Gamma^-1 + D C D' and C21 = D C[:, beta], with Gamma the
        negative Hessian at the mode, D the mode's derivative in all parameters (fixed effects, covariance
        parameters, scale) and C their covariance as printed (the sandwich with EMPIRICAL).  Pseudo-likelihood:
        the mixed model equations at the final linearisation, with C(b, b) the printed covariance."""
        if self._pred_cov is None and self.m.mode_jac is not None:
            m = self.m
            J, C = m.mode_jac, m.cov_all
            JC = np.einsum("kqm,mn->kqn", J, C)
            self._pred_cov = (JC[:, :, :m.X.shape[1]], m.cond_var + np.einsum("kqn,krn->kqr", JC, J))
        if self._pred_cov is None:
            m = self.m
            pos, Xg, Zg, Rg, Vinv = self._subject_V()
            GZV = np.einsum("qr,ktr,kts->kqs", m.G, Zg, Vinv, optimize=True)
            GZVZG = np.einsum("kqs,ksr,rm->kqm", GZV, Zg, m.G, optimize=True)
            GZVX = np.einsum("kqs,ksp->kqp", GZV, Xg)
            C22 = m.G[None] - GZVZG + np.einsum("kqp,pr,kmr->kqm", GZVX, m.covb, GZVX, optimize=True)
            C21 = -np.einsum("kqp,pr->kqr", GZVX, m.covb)
            self._pred_cov = (C21, C22)
        return self._pred_cov

    def stderr(self, X, Z=None, codes=None, noblup=False):
        m = self.m
        v = np.einsum("ij,jk,ik->i", X, m.covb, X)
        if self.q and not noblup:
            C21, C22 = self.prediction_cov()
            known = codes >= 0
            c21 = np.zeros((len(X), self.q, X.shape[1]))
            c22 = np.broadcast_to(m.G, (len(X), self.q, self.q)).copy()
            c21[known], c22[known] = C21[codes[known]], C22[codes[known]]
            v = v + 2 * np.einsum("iq,iqp,ip->i", Z, c21, X) + np.einsum("iq,iqr,ir->i", Z, c22, Z)
        return np.sqrt(np.maximum(v, 0.0))

    # ---------------------------------------------------------------- one statistic
    def used(self, s: Stat, alpha: float = 0.05) -> np.ndarray:
        m = self.m
        eta = self.eta[s.noblup or not self.q]
        link = m.link
        mu = link.inv(eta)
        d = link.dmu_deta(eta)
        if s.kind == "pred":
            return mu if s.ilink else eta
        if s.kind in ("stderr", "lcl", "ucl"):
            se = self.stderr(m.X, m.Z, m.codes, s.noblup)
            return self._limits(s, eta, se, d, alpha)
        if s.kind == "resid":
            return (m.y - mu) if s.ilink else (m.y - mu) / d
        vp = self._var_p(eta)
        marg = s.noblup and self.q
        if marg:
            zgz = np.einsum("nq,qr,nr->n", m.Z, m.G, m.Z)
            vp = vp + zgz
        if s.kind == "variance":
            return vp * d ** 2 if s.ilink else vp
        if s.kind == "pearson":
            return (m.y - mu) / np.sqrt(vp * d ** 2) if s.ilink else (m.y - mu) / d / np.sqrt(vp)
        # student
        r = (m.y - mu) / d
        h = np.einsum("ij,jk,ik->i", m.X, m.covb_model, m.X)
        vr = vp - h if (marg or not self.q) else self._var_conditional_resid()
        return np.where(vr > 0, r / np.sqrt(np.where(vr > 0, vr, 1.0)), np.nan)

    def _var_conditional_resid(self):
        """diag(R V^-1 R - R V^-1 X Phi X' V^-1 R), the variance of the conditional residual."""
        m = self.m
        pos, Xg, Zg, Rg, Vinv = self._subject_V()
        RVR = Rg ** 2 * np.einsum("ktt->kt", Vinv)
        RVX = np.einsum("kt,kts,ksp->ktp", Rg, Vinv, Xg)
        q = RVR - np.einsum("ktp,pr,ktr->kt", RVX, m.covb_model, RVX)
        return q[m.codes, pos]

    def _limits(self, s, eta, se, d, alpha):
        if s.kind == "stderr":
            return se * np.abs(d) if s.ilink else se
        m = self.m
        t = st.t.ppf(1 - alpha / 2, m.df) if math.isfinite(m.df) else st.norm.ppf(1 - alpha / 2)
        lo, hi = eta - t * se, eta + t * se
        if s.ilink:
            a, b = self.m.link.inv(lo), self.m.link.inv(hi)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
        return lo if s.kind == "lcl" else hi

    def new(self, s: Stat, X, off, Z, codes, alpha: float = 0.05) -> np.ndarray:
        """Predictions (PRED, STDERR, LCL, UCL) for observations not used in the fit."""
        m = self.m
        eta = X @ m.beta + off
        if self.q and not s.noblup:
            b = np.zeros((len(X), self.q))
            known = codes >= 0
            b[known] = m.modes[codes[known]]
            eta = eta + np.einsum("nq,nq->n", Z, b)
        if s.kind == "pred":
            return m.link.inv(eta) if s.ilink else eta
        se = self.stderr(X, Z, codes, s.noblup or not self.q)
        return self._limits(s, eta, se, m.link.dmu_deta(eta), alpha)
