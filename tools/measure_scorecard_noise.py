"""The scorecard's noise at a profile (issue 21, item 19): the spread over seeds of the same stage-2 runs.

Not part of the test suite. Runs the profile's Section 5 chapter's stage-2 systems (params/<profile>/
sec5_main_results.yaml) once per seed through the library's job layer (`alma_core.jobs.core` ensure_trained /
ensure_evaluated, as notebooks/sec5_main_results.ipynb does) into a scratch store, then prints, per metric, the
largest max-minus-min spread over seeds of a system's average (en→xx, xx→en, and the mean of the two: the
averages the scorecard's figures are made of). Record the printed `noise` in params/<profile>/scorecard.yaml.
Run on a shared CPU as

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python tools/measure_scorecard_noise.py --profile tiny --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alma_core.jobs import core as jobs  # noqa: E402
from alma_core.params.schemas import load_params  # noqa: E402

AVERAGES = ("en-xx", "xx-en", "both")
COUNTS = ("truncated",)  # a count of cut-off outputs the evaluator records, not a score any claim reads


def seed_scores(params: Any, seed: int) -> Any:
    """Sec. 5: the chapter's stage-2 systems trained and evaluated with one seed (scores of that seed only)."""
    one = params.model_copy(update={"seeds": [seed]})
    trained = jobs.ensure_trained(one)
    systems = [s for s in one.systems if s.train is not None]
    scores, _runs = jobs.ensure_evaluated(one, trained, systems)
    return scores.assign(seed=seed)


def averages(scores: Any) -> Any:
    """Sec. 5: each (seed, system, metric)'s mean over languages per direction, and the mean of the two directions."""
    import pandas as pd

    rows = scores[(scores["lang"] != "avg") & ~scores["metric"].isin(COUNTS)].dropna(subset=["value"])
    per = rows.groupby(["seed", "system", "metric", "direction"])["value"].mean().unstack("direction")
    per["both"] = (per["en-xx"] + per["xx-en"]) / 2
    return pd.DataFrame(per[list(AVERAGES)]).stack().rename("value").reset_index()


def spreads(avg: Any) -> dict[str, dict[str, Any]]:
    """Per metric: the largest max-minus-min over seeds of one system's average, and which system/average it was."""
    grouped = avg.groupby(["metric", "system", "direction"])["value"]
    spread = (grouped.max() - grouped.min()).reset_index()
    out: dict[str, dict[str, Any]] = {}
    for metric, rows in spread.groupby("metric"):
        top = rows.loc[rows["value"].idxmax()]
        out[str(metric)] = {"spread": round(float(top["value"]), 4), "system": top["system"],
                            "average": top["direction"]}
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure and print the noise (JSON): per metric the spread, plus the command's settings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--store", default="/tmp/scorecard_noise_store", help="scratch store (never the book's)")
    args = parser.parse_args(argv)
    params = load_params(ROOT / "params" / args.profile / "sec5_main_results.yaml")
    params = params.model_copy(update={"store_dir": str(Path(args.store).resolve())})
    start = time.time()
    import pandas as pd

    avg = averages(pd.concat([seed_scores(params, s) for s in args.seeds], ignore_index=True))
    print(avg.pivot_table(index=["metric", "system", "direction"], columns="seed", values="value").to_string())
    result = {"profile": args.profile, "seeds": args.seeds, "date": time.strftime("%Y-%m-%d"),
              "seconds": round(time.time() - start), "spreads": spreads(avg)}
    result["noise"] = {m: v["spread"] for m, v in result["spreads"].items()}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
