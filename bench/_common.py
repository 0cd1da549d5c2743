"""What every benchmark script shares: a quiet Session (log and listing to memory), putting a pandas
frame in WORK, and timing a submitted step (best of N).  The scripts run as `python bench/x.py`, so
this module is imported from the script's own folder."""
from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd

from sasglm.data.dataset import Dataset
from sasglm.log import Log
from sasglm.session import Session

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
COURSE_DATA = SHARED / "data"


def quiet_session(course_data: bool = False) -> Session:
    """A Session that prints nothing; with course_data, libref S857 points at ../shared/data."""
    s = Session(log=Log(io.StringIO()), out=io.StringIO(),
                libname_overrides={"s857": str(COURSE_DATA)} if course_data else None)
    if course_data:
        s.assign_override_libs()
    return s


def put(session: Session, name: str, frame: pd.DataFrame) -> None:
    session.put_dataset(name, Dataset(frame), note=False)


def timed(session: Session, src: str, repeat: int = 1) -> float:
    """Seconds for session.submit(src), the best of `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        session.submit(src)
        best = min(best, time.perf_counter() - t0)
    return best
