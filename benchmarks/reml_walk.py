"""Follow the ``reml`` argument through one fit: the modules it passes and how often it returns.

Every call of a mixedtools function that takes a ``reml`` argument is recorded in call order, with
the module that made it. A *stay* is a run of consecutive such calls in one module; a *return* is a
stay in a module that the walk had already left once. A *hand-over* is a call from one module into
another; it goes *down* when it follows the stages of a fit (the fit drives the optimiser and the
polish, which ask the covariance structure) and *climbs back* when a later stage calls an earlier
one or one covariance structure calls the other. A fit whose stages hand over in one direction
has no climbs.

Run: ``python benchmarks/reml_walk.py``.
"""

from __future__ import annotations

import inspect
import sys
from collections import Counter

import mixedtools as mt

MODELS = {
    "sleepstudy (x | g), one factor": ("reaction ~ days + (days | subject)", "sleepstudy"),
    "penicillin, crossed": ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin"),
}


# Stage of each module (old flat names and new ones): lower numbers drive higher ones; the
# protocol module (the quantities every structure returns) is used by all stages.
STAGE = {
    "lmer": 0, "fit": 0, "lmer_results": 0, "results": 0,
    "_optimize": 1, "optimize": 1, "polish": 1, "ddf": 1,
    "reml": 3, "pls": 3,
    "engine": 4,
}  # fmt: skip


def _stage(module: str) -> int | None:
    return STAGE.get(module.rsplit(".", 1)[-1])


def walk(formula: str, data) -> tuple[list[str], list[tuple[str, str]]]:
    """Modules of the mixedtools functions taking ``reml`` that one fit calls, and the callers."""
    calls, handovers = [], []

    def profile(frame, event, arg):
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        code = frame.f_code
        arguments = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if module.startswith("mixedtools") and "reml" in arguments:
            calls.append(module)
            caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
            if caller.startswith("mixedtools") and caller != module:
                handovers.append((caller, module))

    sys.setprofile(profile)
    try:
        mt.lmer(formula, data)
    finally:
        sys.setprofile(None)
    return calls, handovers


def _climbs(handovers) -> int:
    count = 0
    for caller, callee in handovers:
        a, b = _stage(caller), _stage(callee)
        upward = a is not None and b is not None and b < a
        between_structures = a == b == STAGE["pls"]
        if upward or between_structures:
            count += 1
    return count


def summarise(calls: list[str], handovers) -> dict:
    stays = [m for i, m in enumerate(calls) if i == 0 or calls[i - 1] != m]
    entered = Counter(stays)
    returns = len(stays) - len(entered)  # stays in a module the walk had already left
    return {
        "calls": len(calls),
        "stays": len(stays),
        "modules": len(entered),
        "returns": returns,
        "hand-overs": len(handovers),
        "climbs back": _climbs(handovers),
        "most entered": ", ".join(f"{m.split('.')[-1]} x{n}" for m, n in entered.most_common(3)),
        "path": " > ".join(m.removeprefix("mixedtools.") for m in stays),
    }


def main() -> None:
    print(f"mixedtools from {inspect.getsourcefile(mt)}")
    for name, (formula, data_name) in MODELS.items():
        row = summarise(*walk(formula, mt.datasets.load(data_name)))
        print(f"\n{name}: {formula}")
        for key, value in row.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
