"""Distributions and link functions for GLMs, GEEs and GLMMs (vectorised, with derivatives)."""
from __future__ import annotations

import numpy as np
from scipy import special as sp

EPS = 1e-300


# ------------------------------------------------------------------------- links
class Link:
    name = ""
    sas = ""

    def link(self, mu):
        raise NotImplementedError

    def inv(self, eta):
        raise NotImplementedError

    def dmu_deta(self, eta):
        raise NotImplementedError

    def d2mu_deta2(self, eta):
        h = 1e-5
        return (self.dmu_deta(eta + h) - self.dmu_deta(eta - h)) / (2 * h)


class Logit(Link):
    name, sas = "logit", "Logit"

    def link(self, mu):
        return np.log(mu / (1 - mu))

    def inv(self, eta):
        return sp.expit(eta)

    def dmu_deta(self, eta):
        p = sp.expit(eta)
        return p * (1 - p)

    def d2mu_deta2(self, eta):
        p = sp.expit(eta)
        return p * (1 - p) * (1 - 2 * p)


class Probit(Link):
    name, sas = "probit", "Probit"

    def link(self, mu):
        return sp.ndtri(mu)

    def inv(self, eta):
        return sp.ndtr(eta)

    def dmu_deta(self, eta):
        return np.exp(-0.5 * eta ** 2) / np.sqrt(2 * np.pi)

    def d2mu_deta2(self, eta):
        return -eta * self.dmu_deta(eta)


class CLogLog(Link):
    name, sas = "cloglog", "Complementary Log-Log"

    def link(self, mu):
        return np.log(-np.log(1 - mu))

    def inv(self, eta):
        return -np.expm1(-np.exp(eta))

    def dmu_deta(self, eta):
        e = np.exp(eta)
        return e * np.exp(-e)

    def d2mu_deta2(self, eta):
        e = np.exp(eta)
        return e * np.exp(-e) * (1 - e)


class LogLog(Link):
    name, sas = "loglog", "Log-Log"

    def link(self, mu):
        return -np.log(-np.log(mu))

    def inv(self, eta):
        return np.exp(-np.exp(-eta))

    def dmu_deta(self, eta):
        e = np.exp(-eta)
        return e * np.exp(-e)


class Log(Link):
    name, sas = "log", "Log"

    def link(self, mu):
        return np.log(mu)

    def inv(self, eta):
        return np.exp(np.clip(eta, -700, 700))

    def dmu_deta(self, eta):
        return np.exp(np.clip(eta, -700, 700))

    def d2mu_deta2(self, eta):
        return np.exp(np.clip(eta, -700, 700))


class Identity(Link):
    name, sas = "identity", "Identity"

    def link(self, mu):
        return mu

    def inv(self, eta):
        return eta

    def dmu_deta(self, eta):
        return np.ones_like(eta)

    def d2mu_deta2(self, eta):
        return np.zeros_like(eta)


class Power(Link):
    def __init__(self, lam: float):
        self.lam = lam
        self.name = f"power({lam:g})"
        self.sas = f"Power({lam:g})"

    def link(self, mu):
        return np.log(mu) if self.lam == 0 else mu ** self.lam

    def inv(self, eta):
        return np.exp(eta) if self.lam == 0 else eta ** (1 / self.lam)

    def dmu_deta(self, eta):
        if self.lam == 0:
            return np.exp(eta)
        return (1 / self.lam) * eta ** (1 / self.lam - 1)

    def d2mu_deta2(self, eta):
        if self.lam == 0:
            return np.exp(eta)
        a = 1 / self.lam
        return a * (a - 1) * eta ** (a - 2)


class Reciprocal(Power):
    def __init__(self):
        super().__init__(-1.0)
        self.name, self.sas = "reciprocal", "Reciprocal"


LINKS = {"logit": Logit, "probit": Probit, "cloglog": CLogLog, "loglog": LogLog, "log": Log,
         "identity": Identity, "id": Identity, "reciprocal": Reciprocal, "recip": Reciprocal}


def make_link(name: str, power: float | None = None) -> Link:
    if name == "power":
        return Power(power if power is not None else 1.0)
    return LINKS[name]()


# ------------------------------------------------------------------------- families
class Family:
    name = ""
    sas = ""
    default_link = "identity"
    fixed_scale = True      # dispersion fixed at 1 (binomial, poisson)

    def variance(self, mu):
        raise NotImplementedError

    def dvariance(self, mu):
        h = 1e-6
        return (self.variance(mu + h) - self.variance(mu - h)) / (2 * h)

    def deviance_units(self, y, mu, w):
        raise NotImplementedError

    def loglik_full(self, y, mu, w, phi):
        raise NotImplementedError

    def loglik_kernel(self, y, mu, w, phi):
        return self.loglik_full(y, mu, w, phi)

    def clip(self, mu):
        return mu

    def start_mu(self, y, w):
        return (y + y.mean()) / 2


class Binomial(Family):
    """y is a proportion with ``w`` trials (binary: w = 1)."""
    name, sas, default_link = "binomial", "Binomial", "logit"

    def variance(self, mu):
        return mu * (1 - mu)

    def dvariance(self, mu):
        return 1 - 2 * mu

    def clip(self, mu):
        return np.clip(mu, 1e-15, 1 - 1e-15)

    def deviance_units(self, y, mu, w):
        mu = self.clip(mu)
        t1 = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0)
        t2 = np.where(y < 1, (1 - y) * np.log(np.where(y < 1, 1 - y, 1) / (1 - mu)), 0.0)
        return 2 * w * (t1 + t2)

    def loglik_kernel(self, y, mu, w, phi=1.0):
        mu = self.clip(mu)
        return float(np.sum(w * (y * np.log(mu) + (1 - y) * np.log(1 - mu))))

    def loglik_full(self, y, mu, w, phi=1.0):
        mu = self.clip(mu)
        pw = getattr(self, "prior_weights", None)
        pw = np.ones_like(w) if pw is None or np.shape(pw) != np.shape(w) else pw
        n = w / pw                       # trials; WEIGHT multiplies each observation's contribution
        k = n * y
        comb = sp.gammaln(n + 1) - sp.gammaln(k + 1) - sp.gammaln(n - k + 1)
        return float(np.sum(pw * (comb + k * np.log(mu) + (n - k) * np.log(1 - mu))))

    def start_mu(self, y, w):
        return (w * y + 0.5) / (w + 1)


class Poisson(Family):
    name, sas, default_link = "poisson", "Poisson", "log"

    def variance(self, mu):
        return mu

    def dvariance(self, mu):
        return np.ones_like(mu)

    def clip(self, mu):
        return np.maximum(mu, 1e-300)

    def deviance_units(self, y, mu, w):
        mu = self.clip(mu)
        t = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0)
        return 2 * w * (t - (y - mu))

    def loglik_kernel(self, y, mu, w, phi=1.0):
        mu = self.clip(mu)
        return float(np.sum(w * (y * np.log(mu) - mu)))

    def loglik_full(self, y, mu, w, phi=1.0):
        mu = self.clip(mu)
        return float(np.sum(w * (y * np.log(mu) - mu - sp.gammaln(y + 1))))

    def start_mu(self, y, w):
        return y + 0.5


class Normal(Family):
    name, sas, default_link = "normal", "Normal", "identity"
    fixed_scale = False

    def variance(self, mu):
        return np.ones_like(mu)

    def dvariance(self, mu):
        return np.zeros_like(mu)

    def deviance_units(self, y, mu, w):
        return w * (y - mu) ** 2

    def loglik_full(self, y, mu, w, phi):
        return float(-0.5 * np.sum(w * (y - mu) ** 2 / phi + np.log(2 * np.pi * phi / w)))

    def start_mu(self, y, w):
        return y.astype(float)


class Gamma(Family):
    name, sas, default_link = "gamma", "Gamma", "reciprocal"
    fixed_scale = False
    phi = 1.0           # dispersion, used by the mixed-model quadrature (GLMs pass phi explicitly)

    def variance(self, mu):
        return mu ** 2

    def dvariance(self, mu):
        return 2 * mu

    def deviance_units(self, y, mu, w):
        return 2 * w * (-np.log(y / mu) + (y - mu) / mu)

    def loglik_full(self, y, mu, w, phi):
        nu = w / phi
        return float(np.sum(nu * np.log(nu * y / mu) - nu * y / mu - np.log(y) - sp.gammaln(nu)))

    def start_mu(self, y, w):
        return y.astype(float)


class Beta(Family):
    """Beta distribution for proportions in (0, 1) with precision phi: Var = mu (1 - mu) / (1 + phi)
    (GLIMMIX DIST=BETA; not an exponential family, so its scores are its own)."""
    name, sas, default_link = "beta", "Beta", "logit"
    fixed_scale = False
    phi = 1.0

    def variance(self, mu):
        return mu * (1 - mu) / (1 + self.phi)

    def dvariance(self, mu):
        return (1 - 2 * mu) / (1 + self.phi)

    def clip(self, mu):
        return np.clip(mu, 1e-12, 1 - 1e-12)

    def loglik_units(self, y, mu, w):
        a, b = mu * self.phi, (1 - mu) * self.phi
        return w * (sp.gammaln(self.phi) - sp.gammaln(a) - sp.gammaln(b) + (a - 1) * np.log(y)
                    + (b - 1) * np.log1p(-y))

    def loglik_full(self, y, mu, w, phi=None):
        if phi is not None:
            self.phi = phi
        return float(np.sum(self.loglik_units(y, self.clip(mu), w)))

    def dll_dmu(self, y, mu, w):
        """First and second derivatives of log f with respect to mu."""
        a, b = mu * self.phi, (1 - mu) * self.phi
        s = w * self.phi * (np.log(y) - np.log1p(-y) - sp.digamma(a) + sp.digamma(b))
        s2 = -w * self.phi ** 2 * (sp.polygamma(1, a) + sp.polygamma(1, b))
        return s, s2

    def start_mu(self, y, w):
        return np.clip(y.astype(float), 0.01, 0.99)


class Exponential(Gamma):
    """The gamma distribution with its dispersion fixed at 1 (GLIMMIX DIST=EXPONENTIAL)."""
    name, sas, default_link = "exponential", "Exponential", "log"
    fixed_scale = True
    phi = 1.0


class InvGauss(Family):
    name, sas, default_link = "igaussian", "Inverse Gaussian", "power(-2)"
    fixed_scale = False
    phi = 1.0           # dispersion, used by the mixed-model quadrature (GLMs pass phi explicitly)

    def variance(self, mu):
        return mu ** 3

    def dvariance(self, mu):
        return 3 * mu ** 2

    def deviance_units(self, y, mu, w):
        return w * (y - mu) ** 2 / (y * mu ** 2)

    def loglik_full(self, y, mu, w, phi):
        return float(-0.5 * np.sum(w * (y - mu) ** 2 / (phi * y * mu ** 2) + np.log(2 * np.pi * phi * y ** 3 / w)))

    def start_mu(self, y, w):
        return y.astype(float)


class NegBin(Family):
    """Negative binomial with dispersion k: Var = mu + k mu^2 (k estimated by ML)."""
    name, sas, default_link = "negbin", "Negative Binomial", "log"
    fixed_scale = False

    def __init__(self, k: float = 1.0):
        self.k = k

    def variance(self, mu):
        return mu + self.k * mu ** 2

    def dvariance(self, mu):
        return 1 + 2 * self.k * mu

    def clip(self, mu):
        return np.maximum(mu, 1e-300)

    def deviance_units(self, y, mu, w):
        k = self.k
        mu = self.clip(mu)
        t1 = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0)
        t2 = (y + 1 / k) * np.log((y + 1 / k) / (mu + 1 / k))
        return 2 * w * (t1 - t2)

    def loglik_full(self, y, mu, w, phi=None, k=None):
        k = self.k if k is None else k
        mu = self.clip(mu)
        r = 1 / k
        return float(np.sum(w * (sp.gammaln(y + r) - sp.gammaln(r) - sp.gammaln(y + 1)
                                 + y * np.log(k * mu) - (y + r) * np.log(1 + k * mu))))

    def loglik_kernel(self, y, mu, w, phi=None):
        k = self.k
        mu = self.clip(mu)
        r = 1 / k
        return float(np.sum(w * (y * np.log(k * mu / (1 + k * mu)) - r * np.log(1 + k * mu))))

    def start_mu(self, y, w):
        return y + 0.5


FAMILIES = {"binomial": Binomial, "bin": Binomial, "b": Binomial, "binary": Binomial,
            "poisson": Poisson, "poi": Poisson, "p": Poisson, "normal": Normal, "nor": Normal, "n": Normal,
            "gaussian": Normal, "gamma": Gamma, "gam": Gamma, "g": Gamma, "igaussian": InvGauss, "ig": InvGauss,
            "invgauss": InvGauss, "negbin": NegBin, "nb": NegBin}
