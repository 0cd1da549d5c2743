"""Design matrices with SAS's CLASS conventions (no SAS syntax here: the PROC layer passes a plain
spec).

- CLASS levels are ordered by ORDER= (INTERNAL, FORMATTED, DATA, FREQ), DESCENDING reverses.
- PARAM=GLM: one indicator column per level (less than full rank; the last level ends up aliased);
  PARAM=REF: k-1 indicators, the reference level (default last) omitted; PARAM=EFFECT: k-1 columns
  with -1 for the reference level.
- Effects: continuous x, class A, interactions of any mix (A*B, A*x, x*z), nested A(B), intercept.
- Aliased columns are found by a sweep in model order, as SAS does: a column that is a linear
  combination of earlier columns gets estimate 0, DF 0 and a missing standard error.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ClassVar:
    name: str
    levels: list            # raw values, in level order
    labels: list[str]       # formatted labels, in level order
    param: str = "glm"      # glm | ref | effect
    ref_index: int | None = None   # reference level index for ref/effect
    # raw values that share a level with another raw value (their formatted values agree, as SAS
    # forms CLASS levels from formatted values): raw value -> level index
    alias: dict = field(default_factory=dict)

    def codes(self, values) -> np.ndarray:
        import pandas as pd
        vals = np.asarray(values)
        if vals.dtype.kind in "OUS":
            out = pd.Index(self.levels, dtype=object).get_indexer(vals.astype(object))
        else:
            out = pd.Index(np.asarray(self.levels, dtype=float)).get_indexer(vals.astype(float))
        alias = getattr(self, "alias", None)      # item stores written before aliases existed lack it
        if alias and (out < 0).any():
            miss = np.nonzero(out < 0)[0]
            keys = vals[miss].astype(object) if vals.dtype.kind in "OUS" else vals[miss].astype(float)
            out[miss] = [alias.get(k, -1) for k in keys]
        return out


def _key(v):
    if isinstance(v, float) and v.is_integer():
        return v
    return v


@dataclass
class Effect:
    factors: list[str]      # variable names (class or continuous), in order
    nested: list[str] = field(default_factory=list)   # A(B): factors=[A], nested=[B]

    @property
    def name(self) -> str:
        base = "*".join(self.factors)
        if self.nested:
            base += "(" + "*".join(self.nested) + ")"
        return base

    def all_vars(self) -> list[str]:
        return self.factors + self.nested


@dataclass
class Column:
    effect: str               # effect name ('Intercept' for the intercept)
    levels: dict              # class variable -> level label
    continuous: list[str]     # continuous factors


@dataclass
class Design:
    X: np.ndarray
    columns: list[Column]
    effect_of_col: list[int]          # index into effects (-1 = intercept)
    effects: list[Effect]
    aliased: np.ndarray               # bool per column
    intercept: bool
    classes: dict | None = None       # the CLASS variables (level order), for nonpositional coefficients
    constructed: dict = field(default_factory=dict)   # constructed effects (EFFECT statement) by name

    @property
    def rank(self) -> int:
        return int((~self.aliased).sum())

    def effect_cols(self, k: int) -> np.ndarray:
        return np.array([j for j, e in enumerate(self.effect_of_col) if e == k], dtype=int)

    def row(self, factor, cont=None) -> np.ndarray:
        """One design row for a covariate setting: the intercept column is 1 and every other column
        is the product over its effect's variables of factor(var, level), where level is the column's
        level label for a class variable and None for a continuous one.  With cont, cont(k) is the value of
        effect k's continuous part (for products of covariates) and factor is asked for CLASS variables only."""
        out = np.zeros(len(self.columns))
        for j, col in enumerate(self.columns):
            k = self.effect_of_col[j]
            if k < 0:
                out[j] = 1.0
                continue
            val = 1.0 if cont is None else cont(k)
            for v in self.effects[k].all_vars():
                if cont is None or v in col.levels:
                    val *= factor(v, col.levels.get(v))
            out[j] = val
        return out


def order_levels(values, formatted, order: str = "formatted", descending: bool = False):
    """Return (levels, labels) in SAS order.  ``values`` raw, ``formatted`` their formatted text."""
    levels, labels, _ = order_levels_grouped(values, formatted, order, descending)
    return levels, labels


def order_levels_grouped(values, formatted, order: str = "formatted", descending: bool = False, plain=None):
    """Return (levels, labels, alias) in SAS order.  ``values`` raw, ``formatted`` their formatted text.

    SAS forms levels from formatted values: raw values that format alike are one level.  Each level is
    represented by its smallest raw value; ``alias`` maps the other raw values of a level to its index.
    ORDER=INTERNAL sorts by that smallest raw value, DATA by first appearance, FREQ by descending count,
    FORMATTED by the formatted text (numeric values printed without a format sort by value; ``plain``
    says so up front for a numeric variable without a format, None checks the labels)."""
    import pandas as pd
    vals = np.asarray(values)
    is_char = vals.dtype.kind in "OUS"
    ser = pd.Series(vals.astype(object) if is_char else vals, dtype=object if is_char else float)
    codes, uniq = pd.factorize(ser, use_na_sentinel=False)
    fmt = np.asarray(formatted, dtype=object)
    first_pos = np.full(len(uniq), -1)
    order_idx = np.unique(codes, return_index=True)
    first_pos[order_idx[0]] = order_idx[1]
    cnt = np.bincount(codes, minlength=len(uniq))
    raw = np.asarray(uniq, dtype=object if is_char else float).tolist()
    # group the distinct raw values by formatted text (usually one raw value per label)
    gcode, glab = pd.factorize(pd.Series(fmt[first_pos], dtype=object), use_na_sentinel=False)
    G = len(glab)
    grouped = G != len(raw)
    if not grouped:
        rep = np.arange(G)          # labels are distinct, so gcode is the identity
    else:
        rep = np.full(G, -1)
        for i in sorted(range(len(raw)), key=lambda i: _sort_key(raw[i])):
            if rep[gcode[i]] < 0:
                rep[gcode[i]] = i   # the smallest raw value of each group represents it
    gpos = np.full(G, len(vals))
    np.minimum.at(gpos, gcode, first_pos)
    gcnt = np.bincount(gcode, weights=cnt, minlength=G)
    levels = [raw[r] for r in rep]
    labels = [str(x) for x in glab]
    if order == "data":
        idx = list(np.argsort(gpos, kind="stable"))
    elif order == "freq":
        idx = list(np.lexsort((gpos, -gcnt)))
    elif order == "internal" or (not grouped and (plain or (
            plain is None and all(isinstance(k, float) for k in levels)
            and all(lab == _plain(k) for k, lab in zip(levels, labels))))):
        # INTERNAL, or FORMATTED for numeric values printed without a format: by value
        idx = sorted(range(G), key=lambda g: _sort_key(levels[g]))
    else:
        idx = sorted(range(G), key=lambda g: labels[g])
    if descending:
        idx.reverse()
    where = np.empty(G, dtype=int)
    where[idx] = np.arange(G)
    alias = {raw[i]: int(where[gcode[i]]) for i in range(len(raw)) if grouped and rep[gcode[i]] != i}
    return [levels[g] for g in idx], [labels[g] for g in idx], alias


def _plain(v):
    from ..datastep.formats import best
    return best(v, 12).strip()


def _sort_key(k):
    if isinstance(k, float):
        return (-1, 0.0, "") if k != k else (0, k, "")      # a missing level (CLASS / MISSING) sorts first
    return (1, 0.0, str(k))


def build(data: dict, classes: dict[str, ClassVar], effects: list[Effect], intercept: bool = True,
          sweep_tol: float = 1e-9, keep_empty: bool = False, template: Design | None = None,
          constructed: dict | None = None) -> Design:
    """``data``: variable name -> numpy array (float for continuous, raw values for class).  The CLASS
    variables of each effect are first put in CLASS statement order (the order of ``classes``), as SAS
    renames B*A to A*B when A precedes B in the CLASS statement; the effects are changed in place.

    Under the GLM coding an effect has a column for each combination of its CLASS levels that occurs in the
    data (empty columns are not generated for fixed effects, as SAS documents); ``keep_empty`` keeps them all
    (random effects in MIXED and GLIMMIX), and ``template`` (the fit's design) gives new data exactly the
    fit's columns (predictions, scoring).  ``constructed`` maps the names of constructed effects (EFFECT
    statement) to objects with ``labels`` (one per column) and ``columns(data)`` (n x columns); in an effect
    they behave like a CLASS variable whose level columns are those columns (a template brings its own)."""
    canonical_order(effects, classes)
    if constructed is None and template is not None:
        constructed = getattr(template, "constructed", None)
    constructed = constructed or {}
    n = len(next(iter(data.values()))) if data else 0
    cols: list[np.ndarray] = []
    meta: list[Column] = []
    owner: list[int] = []
    if intercept:
        cols.append(np.ones(n))
        meta.append(Column("Intercept", {}, []))
        owner.append(-1)
    codes = {name: cv.codes(data[name]) for name, cv in classes.items() if name in data}
    bases = {}
    for k, eff in enumerate(effects):
        cls = [v for v in eff.all_vars() if v in classes]
        cons = [v for v in eff.factors if v in constructed]
        cont = [v for v in eff.factors if v not in classes and v not in constructed]
        cont_prod = np.ones(n)
        for v in cont:
            cont_prod = cont_prod * np.asarray(data[v], dtype=float)
        if not cls and not cons:
            cols.append(cont_prod)
            meta.append(Column(eff.name, {}, cont))
            owner.append(k)
            continue
        for v in cons:
            if v not in bases:
                bases[v] = constructed[v].columns(data)
        # the effect's CLASS and constructed variables, in effect order (the rightmost runs fastest); a
        # constructed effect's "levels" are its columns, numbered from 1
        lvars = [v for v in eff.all_vars() if v in classes or v in constructed]
        level_sets = []
        for v in lvars:
            if v in constructed:
                level_sets.append(list(range(len(constructed[v].labels))))
                continue
            cv = classes[v]
            nlev = len(cv.levels)
            if cv.param == "glm" or v in eff.nested:
                idxs = list(range(nlev))
            else:
                ref = cv.ref_index if cv.ref_index is not None else nlev - 1
                idxs = [i for i in range(nlev) if i != ref]
            level_sets.append(idxs)

        def label(v, li):
            return constructed[v].labels[li] if v in constructed else classes[v].labels[li]

        occurring = wanted = None
        if template is not None:
            wanted = {tuple(c.levels.get(v) for v in lvars)
                      for c, o in zip(template.columns, template.effect_of_col) if o == k}
        elif not keep_empty and len(cls) > 1 and all(classes[v].param == "glm" or v in eff.nested for v in cls):
            # the level combinations that occur in the data (one mixed-radix code per observation)
            cc = np.column_stack([codes[v] for v in cls])
            ok = np.all(cc >= 0, axis=1)
            dims = [len(classes[v].levels) for v in cls]
            occurring = set(np.unique(np.ravel_multi_index(cc[ok].T, dims)).tolist()) if ok.any() else set()
        for combo in itertools.product(*level_sets):
            if wanted is not None:
                if tuple(label(v, li) for v, li in zip(lvars, combo)) not in wanted:
                    continue
            elif occurring is not None:
                ccombo = [li for v, li in zip(lvars, combo) if v in classes]
                if int(np.ravel_multi_index(ccombo, [len(classes[v].levels) for v in cls])) not in occurring:
                    continue
            col = cont_prod.copy()
            for v, li in zip(lvars, combo):
                if v in constructed:
                    col = col * bases[v][:, li]
                    continue
                cv = classes[v]
                c = codes[v]
                if cv.param == "effect" and v not in eff.nested:
                    ref = cv.ref_index if cv.ref_index is not None else len(cv.levels) - 1
                    col = col * ((c == li).astype(float) - (c == ref).astype(float))
                else:
                    col = col * (c == li).astype(float)
            cols.append(col)
            meta.append(Column(eff.name, {v: label(v, li) for v, li in zip(lvars, combo)}, cont + cons))
            owner.append(k)
    X = np.column_stack(cols) if cols else np.zeros((n, 0))
    aliased = sweep_aliased(X, sweep_tol)
    return Design(X, meta, owner, effects, aliased, intercept, classes, dict(constructed))


def canonical_order(effects: list[Effect], classes) -> None:
    """Sort the CLASS variables of each effect's crossed list, and of its nested list, into CLASS statement
    order (SAS's renaming rule for crossed and nested effects: B*A(E D) becomes A*B(D E)); continuous
    variables keep their places.  The level combinations of the effect then run with the rightmost CLASS
    variable fastest, as SAS orders the parameters."""
    rank = {name: i for i, name in enumerate(classes)}
    for eff in effects:
        for attr in ("factors", "nested"):
            vs = getattr(eff, attr)
            pos = [i for i, v in enumerate(vs) if v in rank]
            if len(pos) > 1:
                ordered = sorted((vs[i] for i in pos), key=lambda v: rank[v])
                new = list(vs)
                for i, v in zip(pos, ordered):
                    new[i] = v
                setattr(eff, attr, new)


def sweep_aliased(X: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Columns that are linear combinations of earlier columns (sweep of X'X in column order)."""
    return sweep_dependent(X.T @ X, tol)


def sweep_dependent(A: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Rows/columns of a symmetric nonnegative definite matrix that depend on earlier ones (SAS's sweep in
    order: a pivot that has fallen below tol times its original diagonal is skipped)."""
    p = A.shape[0]
    aliased = np.zeros(p, dtype=bool)
    diag0 = np.diag(A).copy()
    A = A.copy()
    for k in range(p):
        d = A[k, k]
        if diag0[k] <= 0 or d <= tol * max(diag0[k], 1e-300):
            aliased[k] = True
            continue
        # sweep on k
        row = A[k, :].copy()
        col = A[:, k].copy()
        A -= np.outer(col, row) / d
        A[k, :] = row / d
        A[:, k] = col / d
        A[k, k] = -1.0 / d
    return aliased


def g2_solve(A: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """A^- b with the sweep's generalised inverse: rows that depend on earlier ones get 0."""
    dep = sweep_dependent(A, tol)
    x = np.zeros(len(b))
    keep = ~dep
    if keep.any():
        x[keep] = np.linalg.solve(A[np.ix_(keep, keep)], b[keep])
    return x


def ginv_sym(A: np.ndarray, aliased: np.ndarray) -> np.ndarray:
    """Generalised inverse that is the inverse on the non-aliased block and zero elsewhere."""
    p = A.shape[0]
    keep = ~aliased
    out = np.zeros((p, p))
    if keep.any():
        sub = A[np.ix_(keep, keep)]
        out[np.ix_(keep, keep)] = np.linalg.inv(sub)
    return out


def parse_effects(tokens: list, class_names: set[str]) -> list[Effect]:
    """Effects from a flat token list: names, '*', '|', '@n', '(' nested ')'.
    ``tokens`` items: ('name', str) | ('op', str) | ('nested', [names]) | ('number', x)."""
    i = 0
    out: list[Effect] = []
    while i < len(tokens):
        kind, val = tokens[i]
        if kind == "name":
            eff = Effect([val])
            j = i + 1
            if j < len(tokens) and tokens[j][0] == "nested":
                eff.nested = list(tokens[j][1])
                j += 1
            chain = [eff]
            ops = []
            while j < len(tokens) and tokens[j][0] == "op" and tokens[j][1] in ("*", "|"):
                op = tokens[j][1]
                if j + 1 >= len(tokens) or tokens[j + 1][0] != "name":
                    raise ValueError("an effect name must follow '" + op + "'")
                nxt = Effect([tokens[j + 1][1]])
                j += 2
                if j < len(tokens) and tokens[j][0] == "nested":
                    nxt.nested = list(tokens[j][1])
                    j += 1
                chain.append(nxt)
                ops.append(op)
            maxdeg = None
            if j < len(tokens) and tokens[j][0] == "op" and tokens[j][1] == "@":
                maxdeg = int(tokens[j + 1][1])
                j += 2
            out.extend(_expand_chain(chain, ops, maxdeg))
            i = j
            continue
        raise ValueError(f"unexpected {val!r} in the effect list")
    return out


def _expand_chain(chain: list[Effect], ops: list[str], maxdeg):
    if "|" not in ops:
        factors, nested = [], []
        for e in chain:
            factors.extend(e.factors)
            nested.extend(e.nested)
        return [Effect(factors, nested)]
    # bar: all interactions, ordered by degree then position (SAS expands A|B|C to A B A*B C A*C B*C A*B*C)
    groups = [[chain[0]]]
    for op, e in zip(ops, chain[1:]):
        if op == "*":
            groups[-1].append(e)
        else:
            groups.append([e])
    units = []
    for g in groups:
        f, nst = [], []
        for e in g:
            f.extend(e.factors)
            nst.extend(e.nested)
        units.append(Effect(f, nst))
    # SAS order: A B A*B C A*C B*C A*B*C
    result: list[Effect] = []
    for idx in range(len(units)):
        new = [Effect(list(units[idx].factors), list(units[idx].nested))]
        for prev in list(result):
            comb = Effect(prev.factors + units[idx].factors, prev.nested + units[idx].nested)
            new.append(comb)
        result.extend(new)
    if maxdeg is not None:
        result = [e for e in result if len(e.factors) <= maxdeg]
    # drop effects with a repeated variable (A|A)
    return [e for e in result if len(set(v.lower() for v in e.factors)) == len(e.factors)]
