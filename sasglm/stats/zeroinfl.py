"""Zero-inflated Poisson and negative binomial regression by maximum likelihood (no SAS syntax here).

The count part has mean lambda = g^-1(X beta + offset); the zero-inflation probability is
omega = h^-1(Z gamma) for a binary link h.  Pr(Y=0) = omega + (1-omega) p0(lambda) and
Pr(Y=y) = (1-omega) f(y; lambda) for y > 0, where f is the Poisson or the negative binomial
(dispersion k, variance lambda + k lambda^2) probability.  The log likelihood is maximised over
(beta, gamma, log k) by a quasi-Newton method with the analytic gradient and polished by Newton
steps; the covariance is the inverse of the observed information, found by central differences of the
analytic gradient on the reporting scale (beta, gamma, k)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import special as sp


@dataclass
class ZIResult:
    beta: np.ndarray
    gamma: np.ndarray
    k: float | None              # negative binomial dispersion (None for ZIP)
    cov: np.ndarray              # covariance of (beta, gamma[, k])
    loglik: float                # kernel log likelihood (without the log y! terms)
    loglik_full: float
    lam: np.ndarray
    omega: np.ndarray
    converged: bool
    n: int


class ZeroInflated:
    def __init__(self, X, Z, y, offset, count_link, zero_link, negbin: bool, freq=None):
        self.X, self.Z, self.y = X, Z, np.asarray(y, dtype=float)
        self.offset = offset if offset is not None else np.zeros(len(y))
        self.cl, self.zl, self.negbin = count_link, zero_link, negbin
        self.f = np.ones(len(y)) if freq is None else np.asarray(freq, dtype=float)
        self.p, self.q = X.shape[1], Z.shape[1]
        self.zero = self.y == 0
        self.lgy1 = sp.gammaln(self.y + 1)

    def split(self, theta, logk=True):
        b, g = theta[:self.p], theta[self.p:self.p + self.q]
        k = None
        if self.negbin:
            k = float(np.exp(theta[-1])) if logk else float(theta[-1])
        return b, g, k

    def pieces(self, theta, logk=True):
        b, g, k = self.split(theta, logk)
        eta = self.X @ b + self.offset
        zeta = self.Z @ g
        lam = np.maximum(self.cl.inv(eta), 1e-300)
        om = np.clip(self.zl.inv(zeta), 1e-15, 1 - 1e-15)
        return eta, zeta, lam, om, k

    def loglik_terms(self, theta, logk=True):
        eta, zeta, lam, om, k = self.pieces(theta, logk)
        y = self.y
        if self.negbin:
            r = 1.0 / k
            logp0 = -r * np.log1p(k * lam)
            lpos = (sp.gammaln(y + r) - sp.gammaln(r) - self.lgy1 + y * np.log(k * lam)
                    - (y + r) * np.log1p(k * lam))
        else:
            logp0 = -lam
            lpos = y * np.log(lam) - lam - self.lgy1
        p0 = np.exp(logp0)
        l0 = np.log(om + (1 - om) * p0)
        return np.where(self.zero, l0, np.log1p(-om) + lpos)

    def loglik(self, theta, logk=True):
        return float(np.sum(self.f * self.loglik_terms(theta, logk)))

    def grad(self, theta, logk=True):
        eta, zeta, lam, om, k = self.pieces(theta, logk)
        y, zero = self.y, self.zero
        if self.negbin:
            r = 1.0 / k
            p0 = np.exp(-r * np.log1p(k * lam))
            dp0_dlam = -p0 / (1 + k * lam)
            dpos_dlam = (y - lam) / (lam * (1 + k * lam))
            dlogp0_dk = r * r * np.log1p(k * lam) - lam / (k * (1 + k * lam))
            dpos_dk = (-r * r * (sp.digamma(y + r) - sp.digamma(r)) + y / k + r * r * np.log1p(k * lam)
                       - (y + r) * lam / (1 + k * lam))
        else:
            p0 = np.exp(-lam)
            dp0_dlam = -p0
            dpos_dlam = y / lam - 1
        L0 = om + (1 - om) * p0
        dl_dlam = np.where(zero, (1 - om) * dp0_dlam / L0, dpos_dlam)
        dl_dom = np.where(zero, (1 - p0) / L0, -1.0 / (1 - om))
        f = self.f
        gb = self.X.T @ (f * dl_dlam * self.cl.dmu_deta(eta))
        gg = self.Z.T @ (f * dl_dom * self.zl.dmu_deta(zeta))
        out = [gb, gg]
        if self.negbin:
            dl_dk = np.where(zero, (1 - om) * p0 * dlogp0_dk / L0, dpos_dk)
            gk = float(np.sum(f * dl_dk))
            out.append(np.array([gk * k if logk else gk]))
        return np.concatenate(out)

    def hessian(self, theta_k):
        """Observed information's negative: central differences of the analytic gradient, k scale."""
        from .numdiff import jacobian_of_gradient
        return jacobian_of_gradient(lambda t: self.grad(t, logk=False), theta_k, 1e-5)

    def fit(self, beta0, gamma0, k0=1.0, maxiter=200) -> ZIResult:
        th = np.concatenate([beta0, gamma0] + ([np.array([np.log(k0)])] if self.negbin else []))
        fun = lambda t: -self.loglik(t)
        jac = lambda t: -self.grad(t)
        sol = optimize.minimize(fun, th, jac=jac, method="BFGS", options={"gtol": 1e-8, "maxiter": maxiter * 5})
        th = sol.x
        # Newton polishing on the (beta, gamma, k) scale
        tk = th.copy()
        if self.negbin:
            tk[-1] = np.exp(th[-1])
        converged = False
        for _ in range(maxiter):
            g = self.grad(tk, logk=False)
            if np.max(np.abs(g)) < 1e-9 * max(1.0, abs(self.loglik(tk, logk=False))):
                converged = True
                break
            H = self.hessian(tk)
            try:
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            t = 1.0
            base = self.loglik(tk, logk=False)
            while t > 1e-8:
                cand = tk - t * step
                if (not self.negbin or cand[-1] > 0) and self.loglik(cand, logk=False) >= base - 1e-12:
                    break
                t /= 2
            if t <= 1e-8:
                converged = np.max(np.abs(g)) < 1e-5
                break
            tk = cand
        H = self.hessian(tk)
        try:
            cov = np.linalg.inv(-H)
        except np.linalg.LinAlgError:
            cov = np.full(H.shape, np.nan)
        b, g, k = self.split(tk, logk=False)
        eta, zeta, lam, om, _ = self.pieces(tk, logk=False)
        llf = self.loglik(tk, logk=False)
        ker = llf + float(np.sum(self.f * self.lgy1))     # the kernel drops the log y! terms
        return ZIResult(b, g, k, cov, ker, llf, lam, om, converged, int(self.f.sum()))

    def pearson(self, res: ZIResult) -> float:
        lam, om = res.lam, res.omega
        mu = (1 - om) * lam
        if self.negbin:
            var = mu * (1 + lam * (om + res.k))
        else:
            var = mu * (1 + om * lam)
        return float(np.sum(self.f * (self.y - mu) ** 2 / var))
