"""Nonlinear mixed models: the marginal likelihood of subjects with normal random effects by adaptive
Gauss-Hermite quadrature (PROC NLMIXED's default integration), maximised by a quasi-Newton search.

The model is given as a callable: ``loglik(params, u)`` returns the conditional log likelihood of every
observation (an ``n x m`` array) for ``m`` values of the random effects per observation (``u`` is a list of
``q`` arrays ``n x m``).  The random effects of subject k are N(mean_k(params), cov(params)).  No SAS syntax
here: the PROC turns programming statements into the callable.

Derivatives in the random effects (for the modes and the scaling of the quadrature) come exactly from
second-order forward differentiation (:class:`Jet`); derivatives in the parameters by central differences
of the marginal likelihood."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import special

from .numdiff import central_gradient, select_qpoints


# ---------------------------------------------------------------------- second-order forward derivatives
class Jet:
    """A value with its gradient and Hessian in q variables: v (shape s), g (s + (q,)), h (s + (q, q))."""
    __array_priority__ = 100

    def __init__(self, v, g, h):
        self.v, self.g, self.h = v, g, h

    @staticmethod
    def variable(v, j, q):
        v = np.asarray(v, dtype=float)
        g = np.zeros(v.shape + (q,))
        g[..., j] = 1.0
        return Jet(v, g, np.zeros(v.shape + (q, q)))

    def _lift(self, o):
        if isinstance(o, Jet):
            return o
        o = np.asarray(o, dtype=float)
        q = self.g.shape[-1]
        return Jet(o, np.zeros(o.shape + (q,)), np.zeros(o.shape + (q, q)))

    def chain(self, f0, f1, f2):
        """f(self) from f, f', f'' at self.v."""
        f1e, f2e = np.asarray(f1)[..., None], np.asarray(f2)[..., None, None]
        gg = self.g[..., :, None] * self.g[..., None, :]
        return Jet(f0, f1e * self.g, f1e[..., None] * self.h + f2e * gg)

    def __add__(self, o):
        o = self._lift(o)
        return Jet(self.v + o.v, self.g + o.g, self.h + o.h)
    __radd__ = __add__

    def __neg__(self):
        return Jet(-self.v, -self.g, -self.h)

    def __sub__(self, o):
        return self + (-self._lift(o))

    def __rsub__(self, o):
        return self._lift(o) + (-self)

    def __mul__(self, o):
        o = self._lift(o)
        a, b = self.v[..., None], o.v[..., None]
        cross = self.g[..., :, None] * o.g[..., None, :]
        return Jet(self.v * o.v, a * o.g + b * self.g, a[..., None] * o.h + b[..., None] * self.h + cross +
                   np.swapaxes(cross, -1, -2))
    __rmul__ = __mul__

    def reciprocal(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = 1.0 / self.v
        return self.chain(r, -r * r, 2 * r * r * r)

    def __truediv__(self, o):
        o = self._lift(o)
        return self * o.reciprocal()

    def __rtruediv__(self, o):
        return self._lift(o) * self.reciprocal()

    def __pow__(self, o):
        if isinstance(o, Jet):
            return exp(o * log(self))
        k = np.asarray(o, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.chain(self.v ** k, k * self.v ** (k - 1), k * (k - 1) * self.v ** (k - 2))

    def __rpow__(self, o):
        return exp(self * np.log(np.asarray(o, dtype=float)))


def value(x):
    return x.v if isinstance(x, Jet) else x


def _unary(fn, d1, d2):
    def f(x):
        if isinstance(x, Jet):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return x.chain(fn(x.v), d1(x.v), d2(x.v))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(np.asarray(x, dtype=float))
    return f


exp = _unary(np.exp, np.exp, np.exp)
log = _unary(np.log, lambda v: 1 / v, lambda v: -1 / v ** 2)
log10 = _unary(np.log10, lambda v: 1 / (v * math.log(10)), lambda v: -1 / (v ** 2 * math.log(10)))
sqrt = _unary(np.sqrt, lambda v: 0.5 / np.sqrt(v), lambda v: -0.25 / v ** 1.5)
absf = _unary(np.abs, np.sign, np.zeros_like)
_phi = lambda v: np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)      # noqa: E731
probnorm = _unary(special.ndtr, _phi, lambda v: -v * _phi(v))
lgamma = _unary(special.gammaln, special.digamma, lambda v: special.polygamma(1, v))
_lg = lambda v: special.expit(v)                                    # noqa: E731
logistic = _unary(_lg, lambda v: _lg(v) * (1 - _lg(v)), lambda v: _lg(v) * (1 - _lg(v)) * (1 - 2 * _lg(v)))


def where(mask, a, b):
    """Elementwise choice that carries derivatives."""
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.where(mask, a, b)
    ref = a if isinstance(a, Jet) else b
    a, b = ref._lift(a), ref._lift(b)
    shape = np.broadcast_shapes(np.shape(mask), a.v.shape, b.v.shape)
    m = np.broadcast_to(mask, shape)
    q = ref.g.shape[-1]
    bv = lambda x, extra: np.broadcast_to(x, shape + extra)          # noqa: E731
    return Jet(np.where(m, bv(a.v, ()), bv(b.v, ())),
               np.where(m[..., None], bv(a.g, (q,)), bv(b.g, (q,))),
               np.where(m[..., None, None], bv(a.h, (q, q)), bv(b.h, (q, q))))


# ---------------------------------------------------------------------- the model
@dataclass
class NLModel:
    loglik: Callable                 # (params, u list) -> n x m conditional log likelihood (float or Jet)
    starts: np.ndarray               # first observation of each subject (observations grouped by subject)
    q: int                           # number of random effects (0: no RANDOM statement)
    re_mean: Callable | None = None  # params -> K x q
    re_cov: Callable | None = None   # params -> q x q, or K x q x q when it varies by subject
    rep: np.ndarray | None = None    # subject replicate counts (REPLICATE)
    n: int = 0

    @property
    def K(self) -> int:
        return len(self.starts)

    def subject_of_obs(self) -> np.ndarray:
        sid = np.zeros(self.n, dtype=int)
        sid[self.starts[1:]] = 1
        return np.cumsum(sid)


@dataclass
class Quadrature:
    """Adaptive Gauss-Hermite rule over q random effects with npts points per dimension (product rule)."""
    q: int
    npts: int
    z: np.ndarray = field(init=False)      # m x q standard-normal nodes
    logw: np.ndarray = field(init=False)   # log weights divided by the standard normal density at the nodes

    def __post_init__(self):
        z1, w1 = hermegauss(self.npts)
        w1 = w1 / w1.sum()
        grids = np.meshgrid(*([z1] * self.q), indexing="ij")
        self.z = np.stack([g.ravel() for g in grids], axis=1)
        wg = np.meshgrid(*([w1] * self.q), indexing="ij")
        w = np.prod(np.stack([g.ravel() for g in wg], axis=1), axis=1)
        self.logw = np.log(w) + 0.5 * np.sum(self.z ** 2, axis=1) + 0.5 * self.q * math.log(2 * math.pi)


class Marginal:
    """The marginal log likelihood of an :class:`NLModel` at given parameters, with the subjects' modes kept
    from the previous evaluation as the next starting point."""

    def __init__(self, model: NLModel, npts: int):
        self.m = model
        self.npts = npts
        self.quad = Quadrature(model.q, npts) if model.q else None
        self.sid = model.subject_of_obs()
        self.modes = None
        self.rep = model.rep if model.rep is not None else np.ones(model.K)

    def set_points(self, npts):
        self.npts = npts
        self.quad = Quadrature(self.m.q, npts)

    def _sum_subjects(self, a):
        return np.add.reduceat(a, self.m.starts, axis=0)

    def _h(self, params, U, mu, Sinv, logdet, jet=False):
        """The log joint density of (y_k, u_k) at U (K x m x q): a K x m array (a Jet when jet)."""
        q = self.m.q
        Uo = U[self.sid]
        if jet:
            us = [Jet.variable(Uo[:, :, j], j, q) for j in range(q)]
        else:
            us = [Uo[:, :, j] for j in range(q)]
        ll = self.m.loglik(params, us)
        d = U - mu[:, None, :]
        quad = (-0.5 * np.einsum("kmq,kqr,kmr->km", d, Sinv, d)
                - 0.5 * (q * math.log(2 * math.pi) + logdet)[:, None])
        if jet:
            if not isinstance(ll, Jet):
                ll = us[0]._lift(np.broadcast_to(ll, Uo.shape[:2]))
            v = self._sum_subjects(ll.v)
            g = self._sum_subjects(ll.g) - np.einsum("kqr,kmr->kmq", Sinv, d)
            h = self._sum_subjects(ll.h) - Sinv[:, None, :, :]
            return Jet(v + quad, g, h)
        ll = np.broadcast_to(ll, Uo.shape[:2])
        return self._sum_subjects(ll) + quad

    def _modes(self, params, mu, Sinv, logdet):
        """Newton's method for every subject's mode of the joint density; returns modes (K x q) and the
        negative Hessian there (K x q x q)."""
        K, q = self.m.K, self.m.q
        u = self.modes.copy() if self.modes is not None and self.modes.shape == (K, q) else mu.copy()
        cur = self._h(params, u[:, None, :], mu, Sinv, logdet, jet=True)
        for _ in range(100):
            g, H = cur.g[:, 0, :], -cur.h[:, 0, :, :]
            bad = ~np.all(np.isfinite(H.reshape(K, -1)), axis=1) | ~np.isfinite(cur.v[:, 0])
            H = np.where(bad[:, None, None], Sinv, H)
            g = np.where(bad[:, None], 0.0, g)
            # a non-concave point: fall back to the prior's curvature for that subject's step
            ev = np.linalg.eigvalsh(H)
            H = np.where((ev.min(axis=1) <= 0)[:, None, None], H + (np.abs(ev.min(axis=1)) + 1.0)[:, None, None]
                         * np.eye(q)[None], H)
            step = np.linalg.solve(H, g[..., None])[..., 0]
            t = np.ones(K)
            for _ in range(30):
                trial = u + t[:, None] * step
                new = self._h(params, trial[:, None, :], mu, Sinv, logdet, jet=True)
                worse = ~(new.v[:, 0] >= cur.v[:, 0] - 1e-12 * np.abs(cur.v[:, 0])) | ~np.isfinite(new.v[:, 0])
                if not worse.any():
                    break
                t = np.where(worse, t * 0.5, t)
            u = trial
            cur = new
            if np.max(np.abs(t[:, None] * step)) < 1e-10 * (1 + np.max(np.abs(u))):
                break
        self.modes = u
        return u, -cur.h[:, 0, :, :]

    def subject_loglik(self, params) -> np.ndarray:
        """The log marginal likelihood of every subject (K,), without replicate weights."""
        m = self.m
        if m.q == 0:
            ll = np.asarray(m.loglik(params, []), dtype=float).reshape(m.n, -1)[:, 0]
            return self._sum_subjects(ll)
        S = np.asarray(m.re_cov(params), dtype=float)
        S = np.broadcast_to(S.reshape((-1, m.q, m.q)), (m.K, m.q, m.q))       # each subject's covariance
        try:
            L = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            return np.full(m.K, -np.inf)
        logdet = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
        Sinv = np.linalg.inv(S)
        mu = np.broadcast_to(np.asarray(m.re_mean(params), dtype=float), (m.K, m.q)).copy()
        u, H = self._modes(params, mu, Sinv, logdet)
        try:
            C = np.linalg.cholesky(np.linalg.inv(H))          # K x q x q: scale of the rule at each mode
        except np.linalg.LinAlgError:
            return np.full(m.K, -np.inf)
        logdetC = np.sum(np.log(np.diagonal(C, axis1=1, axis2=2)), axis=1)
        U = u[:, None, :] + np.einsum("kqr,mr->kmq", C, self.quad.z)
        h = self._h(params, U, mu, Sinv, logdet)
        t = h + self.quad.logw[None, :]
        mx = np.max(t, axis=1)
        with np.errstate(invalid="ignore"):
            return mx + np.log(np.sum(np.exp(t - mx[:, None]), axis=1)) + logdetC

    def negloglik(self, params) -> float:
        with np.errstate(all="ignore"):
            v = -float(np.sum(self.rep * self.subject_loglik(params)))
            if not np.isfinite(v) and self.modes is not None:
                # the modes kept from the previous evaluation can be a poor start: search again from the prior
                self.modes = None
                v = -float(np.sum(self.rep * self.subject_loglik(params)))
        return v if np.isfinite(v) else math.inf


def choose_qpoints(marg: Marginal, params, qtol=1e-4, maxpts=31) -> int:
    """The number of quadrature points SAS chooses at the starting values (numdiff.select_qpoints)."""
    def at(n):
        marg.set_points(n)
        return marg.negloglik(params)
    n = select_qpoints(at, qtol, maxpts)
    marg.set_points(n)
    return n


@dataclass
class OptResult:
    x: np.ndarray
    f: float
    g: np.ndarray
    converged: bool
    history: list                      # (iter, calls, f, diff, maxgrad, slope)
    message: str
    active: np.ndarray


def minimize(f, x0, lower=None, upper=None, maxiter=200, gconv=1e-8, absgconv=1e-6):
    """Quasi-Newton (BFGS on the inverse Hessian) with a backtracking line search, simple bounds by
    projection (active bounds held), convergence on GCONV (g'Hg/|f|) or the largest gradient."""
    n = len(x0)
    lower = np.full(n, -np.inf) if lower is None else np.asarray(lower, dtype=float)
    upper = np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=float)
    calls = [0]

    def fc(x):
        calls[0] += 1
        return f(x)
    x = np.clip(np.asarray(x0, dtype=float), lower, upper)
    fx = fc(x)
    if not np.isfinite(fx):
        return OptResult(x, fx, np.full(n, np.nan), False, [], "The objective is not finite at the starting "
                         "values.", np.zeros(n, dtype=bool))
    g = central_gradient(fc, x, fx, lower=lower, upper=upper)
    Hinv = np.eye(n)
    history = []
    first = True
    converged, message = False, "Maximum number of iterations exceeded."

    def active_set(x, g):
        return ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
    for it in range(1, maxiter + 1):
        act = active_set(x, g)
        gp = np.where(act, 0.0, g)
        Hr = Hinv.copy()
        Hr[act, :] = 0
        Hr[:, act] = 0
        d = -Hr @ gp
        slope = float(gp @ d)
        if slope >= 0:
            Hinv = np.eye(n)
            d = -gp
            slope = float(gp @ d)
        if first:
            d = d / max(1.0, float(np.max(np.abs(d))))      # a cautious first step on the identity
            slope = float(gp @ d)
        # step to the nearest bound at most
        tmax = 1.0
        for j in range(n):
            if d[j] < 0 and np.isfinite(lower[j]):
                tmax = min(tmax, (x[j] - lower[j]) / -d[j]) if x[j] > lower[j] else 0.0
            if d[j] > 0 and np.isfinite(upper[j]):
                tmax = min(tmax, (upper[j] - x[j]) / d[j]) if x[j] < upper[j] else 0.0
        t = tmax if tmax > 0 else 1.0
        ok = False
        for _ in range(60):
            xn = np.clip(x + t * d, lower, upper)
            fn = fc(xn)
            if np.isfinite(fn) and fn <= fx + 1e-4 * t * slope:
                ok = True
                break
            t *= 0.5
        if not ok:
            if first:
                message = "The line search failed at the first iteration."
            else:
                # no decrease possible: converged only when the gradient criterion holds at SAS's own level
                gcrit = float(gp @ Hr @ gp) / max(abs(fx), 1e-6)
                if 0 <= gcrit <= gconv or float(np.max(np.abs(gp))) < absgconv:
                    converged, message = True, "GCONV convergence criterion satisfied."
                else:
                    message = (f"The line search cannot decrease the objective function any further, but the "
                               f"largest gradient is {float(np.max(np.abs(gp))):.4g}.")
            break
        gn = central_gradient(fc, xn, fn, lower=lower, upper=upper)
        if not np.all(np.isfinite(gn)):
            x, fx = xn, fn
            message = "The gradient cannot be computed at the current point (the objective is not defined around it)."
            break
        s, y = xn - x, gn - g
        diff = fx - fn
        x, fx, g = xn, fn, gn
        sy = float(s @ y)
        if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            if first:
                Hinv = np.eye(n) * sy / float(y @ y)
            rho = 1.0 / sy
            V = np.eye(n) - rho * np.outer(s, y)
            Hinv = V @ Hinv @ V.T + rho * np.outer(s, s)
        first = False
        act = active_set(x, g)
        gp = np.where(act, 0.0, g)
        history.append((it, calls[0], fx, diff, float(np.max(np.abs(gp))) if n else 0.0, slope))
        crit = float(gp @ Hinv @ gp) / max(abs(fx), 1e-6)
        if (0 <= crit <= gconv * 1e-4) or float(np.max(np.abs(gp))) < absgconv * 1e-2:
            converged, message = True, "GCONV convergence criterion satisfied."
            break
    return OptResult(x, fx, g, converged, history, message, active_set(x, g))
