"""Run-time support for compiled DATA steps: SAS functions on scalar values, with SAS's missing
value rules.  Numeric missing is float NaN; character values are right-trimmed str."""
from __future__ import annotations

import datetime as _dt
import math
import random
import re

from scipy import special as _sp
from scipy import stats as _st

from . import formats as F

NAN = float("nan")


class StopStep(Exception):
    """Raised to end the DATA step (STOP, or a SET/INPUT past the end of its data)."""


class Notes:
    """Counts of the run-time conditions SAS reports after a step."""

    def __init__(self):
        self.missing_ops: dict[tuple[int, int], int] = {}
        self.div_zero: dict[tuple[int, int], int] = {}
        self.invalid_math: dict[tuple[int, int], int] = {}
        self.invalid_args: list[str] = []
        self.error_flag = False            # this iteration had a data error: _ERROR_ becomes 1
        self.pending: list[str] = []       # its NOTEs, printed with the PDV dump
        self.error_obs = 0                 # iterations with a data error so far (for ERRORS=)
        self.quiet = False                 # the ERRORS= limit has been reached

    def data_error(self, note: str) -> None:
        """A data error in this iteration: _ERROR_ becomes 1 and the NOTE waits for the PDV dump."""
        self.error_flag = True
        self.pending.append(note)

    def miss(self, where):
        self.missing_ops[where] = self.missing_ops.get(where, 0) + 1
        return NAN


def miss_note(notes: Notes, where):
    notes.missing_ops[where] = notes.missing_ops.get(where, 0) + 1
    return NAN


def isnan(v) -> bool:
    return v != v


# ------------------------------------------------------------------------- arithmetic helpers
def div(a, b, notes, where):
    if a != a or b != b:
        return miss_note(notes, where)
    if b == 0:
        notes.div_zero[where] = notes.div_zero.get(where, 0) + 1
        notes.data_error(f"Division by zero detected at line {where[0]} column {where[1]}.")
        return NAN
    return a / b


def power(a, b, notes, where):
    if a != a or b != b:
        return miss_note(notes, where)
    try:
        r = a ** b
        if isinstance(r, complex):
            raise ValueError
        return float(r)
    except (OverflowError, ValueError, ZeroDivisionError):
        notes.invalid_math[where] = notes.invalid_math.get(where, 0) + 1
        notes.data_error(f'Invalid argument(s) to the exponential operator "**" at line {where[0]} '
                         f'column {where[1]}.')
        return NAN


def key(v):
    """Comparison key: missing sorts below every number."""
    return -math.inf if v != v else v


def lt(a, b):
    return key(a) < key(b)


def le(a, b):
    return key(a) <= key(b)


def gt(a, b):
    return key(a) > key(b)


def ge(a, b):
    return key(a) >= key(b)


def eq(a, b):
    if a != a:
        return b != b
    return a == b


def ne(a, b):
    return not eq(a, b)


def truth(v) -> bool:
    """SAS truth: numeric non-zero and non-missing."""
    if isinstance(v, str):
        v = c2n(v)
    return v == v and v != 0


def b2n(v: bool) -> float:
    return 1.0 if v else 0.0


def c2n(s: str) -> float:
    try:
        return F.read_numeric(s)
    except F.InvalidData:
        return NAN


def n2c(v: float) -> str:
    return F.best(v, 12).strip() if v == v else "."


def n2c_padded(v: float) -> str:
    return F.best(v, 12)


def concat(a: str, b: str) -> str:
    return a + b


def vmin(a, b):
    if a != a:
        return b
    if b != b:
        return a
    return min(a, b)


def vmax(a, b):
    if a != a:
        return b
    if b != b:
        return a
    return max(a, b)


# ------------------------------------------------------------------------- functions
def _nums(args):
    return [a for a in args if a == a]


def f_sum(*args):
    v = _nums(args)
    return float(sum(v)) if v else NAN


def f_mean(*args):
    v = _nums(args)
    return sum(v) / len(v) if v else NAN


def f_n(*args):
    return float(len(_nums(args)))


def f_nmiss(*args):
    return float(sum(1 for a in args if (a != a if not isinstance(a, str) else a == "")))


def f_cmiss(*args):
    return f_nmiss(*args)


def f_min(*args):
    v = _nums(args)
    return min(v) if v else NAN


def f_max(*args):
    v = _nums(args)
    return max(v) if v else NAN


def f_std(*args):
    v = _nums(args)
    if len(v) < 2:
        return NAN
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def f_var(*args):
    v = _nums(args)
    if len(v) < 2:
        return NAN
    m = sum(v) / len(v)
    return sum((x - m) ** 2 for x in v) / (len(v) - 1)


def f_range(*args):
    v = _nums(args)
    return max(v) - min(v) if v else NAN


def f_missing(a):
    if isinstance(a, str):
        return 1.0 if a.strip() == "" else 0.0
    return 1.0 if a != a else 0.0


def f_coalesce(*args):
    for a in args:
        if a == a:
            return a
    return NAN


def f_ifn(cond, when_true, when_false, when_missing=None):
    """IFN: true is non-zero and non-missing; a missing condition gives the fourth argument if there
    is one, else the false value."""
    if cond != cond and when_missing is not None:
        return when_missing
    return when_true if (cond == cond and cond != 0) else when_false


def f_ifc(cond, when_true, when_false, when_missing=None):
    return f_ifn(cond, when_true, when_false, when_missing)


def f_coalescec(*args):
    for a in args:
        if a.strip():
            return a
    return ""


def f_round(x, unit=1.0):
    """ROUND: half away from zero, to a multiple of ``unit``; the result is tidied to the decimals
    of the unit (SAS returns 123.46, not 123.46000000000001)."""
    if x != x or unit != unit:
        return NAN
    if unit == 1.0:
        r = math.floor(abs(x) + 0.5)
        return r if x >= 0 else -r
    if unit == 0:
        return x
    q = abs(x) / unit
    r = math.floor(q + 0.5 + 1e-9 * (q > 1e-6)) * unit
    r = r if x >= 0 else -r
    if unit < 1:
        return round(r, _UNIT_DECIMALS.get(unit) or _unit_decimals(unit))
    return r


_UNIT_DECIMALS: dict = {}


def _unit_decimals(unit):
    d = max(0, -int(math.floor(math.log10(abs(unit))))) + 2
    _UNIT_DECIMALS[unit] = d
    return d


def f_int(x):
    return float(math.trunc(x)) if x == x else NAN


def f_ceil(x):
    return float(math.ceil(x - 1e-12)) if x == x else NAN


def f_floor(x):
    return float(math.floor(x + 1e-12)) if x == x else NAN


def f_abs(x):
    return abs(x) if x == x else NAN


def f_mod(a, b):
    if a != a or b != b or b == 0:
        return NAN
    return math.fmod(a, b)


def f_sign(x):
    return NAN if x != x else float((x > 0) - (x < 0))


def _math1(name, fn, domain):
    """A one-argument function: missing in, missing out; outside its domain missing with SAS's
    invalid-argument NOTE naming the function."""
    def f(x, _notes=None):
        if x != x:
            return NAN
        if not domain(x):
            if _notes is not None:
                _notes.invalid_args.append(name)
            return NAN
        return fn(x)
    return f


f_log = _math1("log", math.log, lambda x: x > 0)
f_log10 = _math1("log10", math.log10, lambda x: x > 0)
f_log2 = _math1("log2", math.log2, lambda x: x > 0)
f_exp = _math1("exp", math.exp, lambda x: x < 709.78)
f_sqrt = _math1("sqrt", math.sqrt, lambda x: x >= 0)
f_sin = _math1("sin", math.sin, lambda x: True)
f_cos = _math1("cos", math.cos, lambda x: True)
f_tan = _math1("tan", math.tan, lambda x: True)
f_atan = _math1("atan", math.atan, lambda x: True)
f_arsin = _math1("arsin", math.asin, lambda x: -1 <= x <= 1)
f_arcos = _math1("arcos", math.acos, lambda x: -1 <= x <= 1)
f_gamma = _math1("gamma", math.gamma, lambda x: x > 0)
f_lgamma = _math1("lgamma", math.lgamma, lambda x: x > 0)
f_fact = _math1("fact", lambda x: float(math.factorial(int(x))), lambda x: x >= 0)
f_logit = _math1("logit", lambda p: math.log(p / (1 - p)), lambda p: 0 < p < 1)


def f_logistic(x):
    """SAS's LOGISTIC function: 1 / (1 + exp(-x)), stable for large |x|."""
    if x != x:
        return NAN
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def f_probnorm(x):
    return float(_sp.ndtr(x)) if x == x else NAN


def f_probit(p):
    return float(_sp.ndtri(p)) if p == p and 0 < p < 1 else NAN


def f_probchi(x, df):
    return float(_st.chi2.cdf(x, df)) if x == x and df == df else NAN


def f_probt(x, df):
    return float(_st.t.cdf(x, df)) if x == x and df == df else NAN


def f_probf(x, d1, d2):
    return float(_st.f.cdf(x, d1, d2)) if x == x else NAN


def f_tinv(p, df):
    return float(_st.t.ppf(p, df)) if p == p else NAN


def f_cinv(p, df):
    return float(_st.chi2.ppf(p, df)) if p == p else NAN


_DISTS = {
    "NORMAL": lambda a: _st.norm(*(a or [])), "NORM": lambda a: _st.norm(*(a or [])),
    "T": lambda a: _st.t(*a), "CHISQ": lambda a: _st.chi2(*a), "CHISQUARE": lambda a: _st.chi2(*a),
    "F": lambda a: _st.f(*a), "EXPONENTIAL": lambda a: _st.expon(scale=a[0] if a else 1),
    "EXPO": lambda a: _st.expon(scale=a[0] if a else 1),
    "UNIFORM": lambda a: _st.uniform(a[0] if a else 0, (a[1] - a[0]) if a else 1),
    "POISSON": lambda a: _st.poisson(a[0]), "BINOMIAL": lambda a: _st.binom(int(a[1]), a[0]),
    "GAMMA": lambda a: _st.gamma(a[0], scale=a[1] if len(a) > 1 else 1),
    "BETA": lambda a: _st.beta(a[0], a[1]), "LOGISTIC": lambda a: _st.logistic(*(a or [])),
    "BERNOULLI": lambda a: _st.bernoulli(a[0]),
}


def _dist(name, params):
    maker = _DISTS.get(str(name).strip().upper())
    if maker is None:
        return None
    return maker([p for p in params])


def f_cdf(name, x, *params):
    d = _dist(name, params)
    if d is None or x != x:
        return NAN
    return float(d.cdf(x))


def f_pdf(name, x, *params):
    d = _dist(name, params)
    if d is None or x != x:
        return NAN
    if hasattr(d, "pmf") and not hasattr(d, "pdf"):
        return float(d.pmf(x))
    try:
        return float(d.pdf(x))
    except AttributeError:
        return float(d.pmf(x))


def f_quantile(name, p, *params):
    d = _dist(name, params)
    if d is None or p != p:
        return NAN
    return float(d.ppf(p))


# ------------------------------------------------------------------------- random numbers
class RandomState:
    def __init__(self):
        self.rng = random.Random(0)
        self.seeded = False

    def seed(self, s):
        if not self.seeded:
            s = int(s) if s == s else 0
            self.rng.seed(s if s > 0 else random.SystemRandom().randrange(1, 2 ** 31))
            self.seeded = True


RNG = RandomState()


def f_ranuni(seed):
    RNG.seed(seed)
    return RNG.rng.random()


def f_rannor(seed):
    RNG.seed(seed)
    return RNG.rng.gauss(0.0, 1.0)


def f_rand(name, *params):
    n = str(name).strip().upper()
    r = RNG.rng
    if n in ("UNIFORM",):
        if params:
            return params[0] + (params[1] - params[0]) * r.random()
        return r.random()
    if n in ("NORMAL", "NORM"):
        mu = params[0] if params else 0.0
        sd = params[1] if len(params) > 1 else 1.0
        return r.gauss(mu, sd)
    if n in ("BERNOULLI",):
        return 1.0 if r.random() < params[0] else 0.0
    if n in ("BINOMIAL",):
        return float(sum(1 for _ in range(int(params[1])) if r.random() < params[0]))
    if n in ("POISSON",):
        lam, k, p = params[0], 0, math.exp(-params[0])
        s, u = p, r.random()
        while u > s:
            k += 1
            p *= lam / k
            s += p
        return float(k)
    if n in ("EXPONENTIAL", "EXPO"):
        return r.expovariate(1.0) * (params[0] if params else 1.0)
    if n == "GAMMA":
        return r.gammavariate(params[0], params[1] if len(params) > 1 else 1.0)
    if n == "TABLE":
        u, acc = r.random(), 0.0
        for i, p in enumerate(params):
            acc += p
            if u < acc:
                return float(i + 1)
        return float(len(params) + 1)
    if n == "LOGISTIC":
        u = r.random()
        loc = params[0] if params else 0.0
        scale = params[1] if len(params) > 1 else 1.0
        return loc + scale * math.log(u / (1 - u))
    if n in ("LOGNORMAL", "LOGN"):
        return math.exp(r.gauss(params[0] if params else 0.0, params[1] if len(params) > 1 else 1.0))
    if n in ("T",):
        return r.gauss(0, 1) / math.sqrt(r.gammavariate(params[0] / 2, 2.0) / params[0])
    if n in ("CHISQ", "CHISQUARE"):
        return r.gammavariate(params[0] / 2, 2.0)
    if n == "BETA":
        return r.betavariate(params[0], params[1])
    if n == "WEIBULL":
        return r.weibullvariate(params[1] if len(params) > 1 else 1.0, params[0])
    if n == "CAUCHY":
        return (params[0] if params else 0.0) + (params[1] if len(params) > 1 else 1.0) * \
            math.tan(math.pi * (r.random() - 0.5))
    if n in ("GEOMETRIC", "GEOM"):
        k = 1
        while r.random() >= params[0]:
            k += 1
        return float(k)
    if n in ("NEGBINOMIAL", "NEGB"):
        p, k_ = params[0], int(params[1])
        fails = 0
        succ = 0
        while succ < k_:
            if r.random() < p:
                succ += 1
            else:
                fails += 1
        return float(fails)
    from ..errors import SasError
    raise SasError(f"The RAND function does not support the distribution '{name}'.")


def call_streaminit(seed):
    RNG.seeded = False
    RNG.seed(seed)


# ------------------------------------------------------------------------- character functions
def f_substr(s, pos, length=None):
    if pos != pos:
        return ""
    p = int(pos) - 1
    if p < 0:
        p = 0
    if length is None or length != length:
        return s[p:]
    return s[p:p + int(length)]


def f_substrn(s, pos, length=None):
    return f_substr(s, pos, length)


def f_upcase(s):
    return s.upper()


def f_lowcase(s):
    return s.lower()


def f_propcase(s, delims=" "):
    out, up = [], True
    for ch in s:
        out.append(ch.upper() if up else ch.lower())
        up = ch in delims
    return "".join(out)


def f_trim(s):
    return s.rstrip()


def f_strip(s):
    return s.strip()


def f_left(s):
    return s.lstrip()


def f_right(s):
    return s


def _tostr(v):
    if isinstance(v, str):
        return v.strip()
    return n2c(v) if v == v else "."


def f_cats(*args):
    return "".join(_tostr(a) for a in args)


def f_catt(*args):
    return "".join((a.rstrip() if isinstance(a, str) else n2c_padded(a)) for a in args)


def f_cat(*args):
    return "".join((a if isinstance(a, str) else n2c_padded(a)) for a in args)


def f_catx(sep, *args):
    parts = [_tostr(a) for a in args]
    parts = [p for p, a in zip(parts, args) if p != "" and not (not isinstance(a, str) and a != a)]
    return sep.strip().join(parts) if sep.strip() else sep.join(parts)


def f_compress(s, chars=None, mods=""):
    if chars is None:
        return s.replace(" ", "")
    mods = (mods or "").lower()
    drop = set(chars)
    if "d" in mods:
        drop |= set("0123456789")
    if "a" in mods:
        drop |= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if "s" in mods:
        drop |= set(" \t\n\r\f\v")
    if "k" in mods:
        return "".join(c for c in s if c in drop)
    return "".join(c for c in s if c not in drop)


def f_index(s, sub):
    sub = sub.rstrip() if sub.strip() else sub
    return float(s.find(sub) + 1)


def f_find(s, sub, mods="", start=1):
    if isinstance(mods, (int, float)):
        start, mods = mods, ""
    if "t" in str(mods).lower():
        s, sub = s.rstrip(), sub.rstrip()
    if "i" in str(mods).lower():
        s, sub = s.lower(), sub.lower()
    st = int(start) - 1 if start == start else 0
    return float(s.find(sub, max(st, 0)) + 1)


def f_indexc(s, chars):
    for i, c in enumerate(s):
        if c in chars:
            return float(i + 1)
    return 0.0


def f_scan(s, n, delims=None):
    if n != n:
        return ""
    if delims is None:
        delims = " !$%&()*+,-./;<^|"
    parts = [p for p in re.split("[" + re.escape(delims) + "]+", s) if p != ""]
    k = int(n)
    if k > 0 and k <= len(parts):
        return parts[k - 1]
    if k < 0 and -k <= len(parts):
        return parts[k]
    return ""


def f_countw(s, delims=None):
    if delims is None:
        delims = " !$%&()*+,-./;<^|"
    return float(len([p for p in re.split("[" + re.escape(delims) + "]+", s) if p != ""]))


def f_tranwrd(s, a, b):
    return s.replace(a, b) if a else s


def f_translate(s, to, frm):
    table = {ord(f): (to[i] if i < len(to) else " ") for i, f in enumerate(frm)}
    return s.translate(table)


def f_length(s):
    s = s.rstrip()
    return float(len(s)) if s else 1.0


def f_lengthn(s):
    return float(len(s.rstrip()))


def f_lengthc(s):
    return float(len(s))


def f_reverse(s):
    return s[::-1]


def f_repeat(s, n):
    return s * (int(n) + 1)


def f_byte(n):
    return chr(int(n))


def f_rank(s):
    return float(ord(s[0])) if s else 0.0


# ------------------------------------------------------------------------- dates
def _today():
    return F.date_to_sas(_dt.date.today())


def f_today():
    return _today()


def f_mdy(m, d, y):
    try:
        yy = int(y)
        if yy < 100:
            yy += 1900 if yy >= 26 else 2000
        return F.date_to_sas(_dt.date(yy, int(m), int(d)))
    except (ValueError, TypeError, OverflowError):
        return NAN


def _date(v):
    return F.sas_to_date(v)


def f_year(v):
    d = _date(v)
    return float(d.year) if d else NAN


def f_month(v):
    d = _date(v)
    return float(d.month) if d else NAN


def f_day(v):
    d = _date(v)
    return float(d.day) if d else NAN


def f_weekday(v):
    d = _date(v)
    return float(d.isoweekday() % 7 + 1) if d else NAN


def f_qtr(v):
    d = _date(v)
    return float((d.month - 1) // 3 + 1) if d else NAN


def _interval(name):
    n = str(name).strip().lower()
    return n.rstrip("s") if n.endswith("s") and n not in ("days",) else n.rstrip("s")


def f_intck(interval, a, b):
    da, db = _date(a), _date(b)
    if da is None or db is None:
        return NAN
    iv = _interval(interval)
    if iv == "day":
        return float((db - da).days)
    if iv == "week":
        # count Sundays crossed
        sa = (da.toordinal()) // 7
        sb = (db.toordinal()) // 7
        return float(sb - sa)
    if iv == "month":
        return float((db.year - da.year) * 12 + db.month - da.month)
    if iv == "qtr":
        return float((db.year - da.year) * 4 + (db.month - 1) // 3 - (da.month - 1) // 3)
    if iv == "year":
        return float(db.year - da.year)
    return NAN


def f_intnx(interval, start, n, align="b"):
    d = _date(start)
    if d is None or n != n:
        return NAN
    iv, k = _interval(interval), int(n)
    al = str(align).strip().lower()[:1] or "b"
    if iv == "day":
        return start + k
    if iv == "week":
        base = d - _dt.timedelta(days=(d.isoweekday() % 7)) + _dt.timedelta(weeks=k)
        if al == "e":
            base += _dt.timedelta(days=6)
        return F.date_to_sas(base)
    months = {"month": 1, "qtr": 3, "year": 12}.get(iv)
    if months is None:
        return NAN
    if iv == "qtr":
        m0 = ((d.month - 1) // 3) * 3
    elif iv == "year":
        m0 = 0
    else:
        m0 = d.month - 1
    total = d.year * 12 + m0 + k * months
    y, m = divmod(total, 12)
    first = _dt.date(y, m + 1, 1)
    if al == "b":
        return F.date_to_sas(first)
    nxt_total = total + months
    ny, nm = divmod(nxt_total, 12)
    last = _dt.date(ny, nm + 1, 1) - _dt.timedelta(days=1)
    if al == "e":
        return F.date_to_sas(last)
    if al == "m":
        return F.date_to_sas(first + (last - first) // 2)
    # same day
    import calendar
    day = min(d.day, calendar.monthrange(y, m + 1)[1])
    return F.date_to_sas(_dt.date(y, m + 1, day))


def f_datdif(a, b, basis="act/act"):
    return b - a if a == a and b == b else NAN


def f_yrdif(a, b, basis="act/act"):
    return (b - a) / 365.25 if a == a and b == b else NAN
