"""A SAS data set: a pandas frame (numeric columns float64 with NaN for missing, character
columns object dtype holding right-trimmed str) plus per-variable metadata."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class VarMeta:
    name: str
    type: str = "N"              # 'N' or 'C'
    length: int = 8
    label: str | None = None
    format: str | None = None
    informat: str | None = None

    @property
    def is_char(self) -> bool:
        return self.type == "C"


@dataclass
class Dataset:
    df: pd.DataFrame
    meta: dict[str, VarMeta] = field(default_factory=dict)   # key: upper-case name
    label: str | None = None
    sorted_by: list[tuple[str, bool]] | None = None

    def __post_init__(self):
        for c in self.df.columns:
            if c.upper() not in self.meta:
                col = self.df[c]
                if is_numeric_series(col):
                    self.meta[c.upper()] = VarMeta(c, "N", 8)
                else:
                    lens = col.dropna().map(len)
                    self.meta[c.upper()] = VarMeta(c, "C", int(lens.max()) if len(lens) and lens.max() > 0 else 1)

    @property
    def nobs(self) -> int:
        return len(self.df)

    @property
    def columns(self) -> list[str]:
        return list(self.df.columns)

    def var(self, name: str) -> VarMeta | None:
        return self.meta.get(name.upper())

    def colname(self, name: str) -> str | None:
        m = self.meta.get(name.upper())
        return m.name if m else None

    def column(self, name: str) -> pd.Series:
        return self.df[self.meta[name.upper()].name]

    def copy(self) -> "Dataset":
        return Dataset(self.df.copy(), {k: VarMeta(**vars(v)) for k, v in self.meta.items()},
                       self.label, list(self.sorted_by) if self.sorted_by else None)

    def ordered_meta(self) -> list[VarMeta]:
        return [self.meta[c.upper()] for c in self.df.columns]


def is_numeric_series(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) or \
        pd.api.types.is_bool_dtype(s.dtype)


def normalise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns to float64; everything else to object str (missing -> '')."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.astype("float64").to_numpy()
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            epoch = pd.Timestamp("1960-01-01")
            days = (s - epoch).dt.total_seconds() / 86400.0
            out[c] = days.astype("float64").to_numpy()
        else:
            vals = s.astype(object).to_numpy()
            arr = np.empty(len(vals), dtype=object)
            for i, v in enumerate(vals):
                if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
                    arr[i] = ""
                elif isinstance(v, bytes):
                    arr[i] = v.decode("latin-1").rstrip()
                else:
                    arr[i] = str(v).rstrip()
            out[c] = arr
    return pd.DataFrame(out, columns=list(df.columns))
