"""Libraries: WORK in memory; a LIBNAME folder reads .sas7bdat, .xpt, .csv and .parquet files
(names case-insensitive) and writes .parquet atomically (temporary file, then rename)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from .dataset import Dataset, VarMeta, normalise_frame

READ_EXTS = (".sas7bdat", ".parquet", ".xpt", ".csv")


class LibraryError(Exception):
    pass


class Library:
    def __init__(self, name: str, path: str | None = None):
        self.name = name.upper()
        self.path = Path(path) if path is not None else None
        self._mem: dict[str, Dataset] = {}

    @property
    def is_work(self) -> bool:
        return self.path is None

    def exists(self, name: str) -> bool:
        if name.upper() in self._mem:
            return True
        return self._find_file(name) is not None

    def _find_file(self, name: str) -> Path | None:
        if self.path is None or not self.path.is_dir():
            return None
        want = name.lower()
        found: dict[str, Path] = {}
        for p in self.path.iterdir():
            stem, ext = p.stem.lower(), p.suffix.lower()
            if stem == want and ext in READ_EXTS:
                found[ext] = p
        for ext in READ_EXTS:
            if ext in found:
                return found[ext]
        return None

    def names(self) -> list[str]:
        out = set(self._mem)
        if self.path is not None and self.path.is_dir():
            for p in self.path.iterdir():
                if p.suffix.lower() in READ_EXTS:
                    out.add(p.stem.upper())
        return sorted(out)

    def get(self, name: str) -> Dataset:
        key = name.upper()
        if key in self._mem:
            return self._mem[key]
        f = self._find_file(name)
        if f is None:
            raise LibraryError(f"File {self.name}.{key}.DATA does not exist.")
        ds = read_file(f)
        if not self.is_work:
            self._mem[key] = ds      # cache; a write replaces it
        return ds

    def put(self, name: str, ds: Dataset) -> None:
        key = name.upper()
        if self.path is not None:
            write_parquet(ds, self.path / f"{name.lower()}.parquet")
        self._mem[key] = ds

    def delete(self, name: str) -> bool:
        key = name.upper()
        hit = self._mem.pop(key, None) is not None
        if self.path is not None:
            f = self._find_file(name)
            if f is not None and f.suffix.lower() == ".parquet":
                f.unlink()
                hit = True
        return hit


def read_file(path: Path) -> Dataset:
    ext = path.suffix.lower()
    meta: dict[str, VarMeta] = {}
    if ext == ".sas7bdat":
        reader = pd.read_sas(str(path), format="sas7bdat", iterator=True, encoding="latin-1")
        df = reader.read()
        reader.close()
        for c in reader.columns:
            name = c.name.decode() if isinstance(c.name, bytes) else c.name
            is_char = c.ctype in (b"s", "s")
            meta[name.upper()] = VarMeta(name, "C" if is_char else "N", int(c.length),
                                         (c.label.decode("latin-1") if isinstance(c.label, bytes) else c.label) or None,
                                         (c.format.decode() if isinstance(c.format, bytes) else c.format) or None)
    elif ext == ".xpt":
        df = pd.read_sas(str(path), format="xport", encoding="latin-1")
    elif ext == ".parquet":
        import pyarrow.parquet as pq
        table = pq.read_table(str(path))
        df = table.to_pandas()
        md = (table.schema.metadata or {}).get(b"sasglm")
        if md:
            for v in json.loads(md.decode())["vars"]:
                meta[v["name"].upper()] = VarMeta(**v)
    elif ext == ".csv":
        df = pd.read_csv(str(path), keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")
    else:
        raise LibraryError(f"Unsupported file type {path.name}.")
    df = normalise_frame(df)
    return Dataset(df, meta)


def write_parquet(ds: Dataset, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pandas(ds.df, preserve_index=False)
    md = {"vars": [vars(m) for m in ds.ordered_meta()]}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"sasglm": json.dumps(md).encode()})
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".parquet", dir=str(target.parent))
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
