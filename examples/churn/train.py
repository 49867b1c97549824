#!/usr/bin/env python3
"""The churn "pipeline", run as one mlgrid Command job (standard library only).

Stages, in order, each failing the job when it fails:

1. prepare  - copy the training data into the job's `prepared` output: the baseline rows, plus (after drift)
              the rows of the drifted window of the live data, so the new model learns the new situation;
2. train    - fit a decision stump (one feature, one threshold) that maximises balanced accuracy: tiny, but
              it is real training on real rows, and its result depends on the data;
3. evaluate - report its balanced accuracy on the drifted window (or on the training data);
4. register - register the model folder as the next version of the model, with the job's own token
              (MLGRID_JOB_TOKEN, which mlgrid accepts for a model version PUT in the job's workspace while the
              job runs). The version inherits the job's lineage, and ModelRegistered is raised.

    python3 train.py --baseline data/baseline.csv [--live data/live.csv --window-start ISO --window-end ISO]
                     --prepared OUT_DIR --model-dir OUT_DIR [--register NAME] [--tag key=value ...]
"""
import argparse
import csv
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone

NUMERIC = ["tenure_months", "monthly_charges", "support_calls"]
API_VERSION = "2022-10-01"


def log(stage, message):
    print(f"[{stage}] {message}", flush=True)


def parse_time(text):
    """ISO 8601 with a Z or an offset (Python < 3.11 does not read 'Z')."""
    t = text.strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def prepare(args):
    rows = read_rows(args.baseline)
    log("prepare", f"{len(rows)} baseline rows from {args.baseline}")
    window = []
    if args.live and args.window_start and args.window_end:
        start, end = parse_time(args.window_start), parse_time(args.window_end)
        window = [r for r in read_rows(args.live) if start <= parse_time(r["ts"]) < end]
        log("prepare", f"{len(window)} rows of the drifted window [{args.window_start}, {args.window_end})")
        if not window:
            raise SystemExit("prepare: the drifted window holds no rows; nothing new to learn from")
    os.makedirs(args.prepared, exist_ok=True)
    out = os.path.join(args.prepared, "train.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows + window)
    log("prepare", f"wrote {len(rows) + len(window)} rows to {out}")
    return rows + window, window


def balanced_accuracy(rows, feature, threshold, above):
    tp = fn = tn = fp = 0
    for r in rows:
        predicted = (float(r[feature]) > threshold) == above
        actual = r["churned"] == "1"
        if actual and predicted:
            tp += 1
        elif actual:
            fn += 1
        elif predicted:
            fp += 1
        else:
            tn += 1
    tpr = tp / (tp + fn) if tp + fn else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    return (tpr + tnr) / 2


def train(rows):
    best = None
    for feature in NUMERIC:
        values = sorted({float(r[feature]) for r in rows})
        step = max(1, len(values) // 200)  # at most ~200 candidate thresholds per feature
        candidates = [(values[i] + values[i + 1]) / 2 for i in range(0, len(values) - 1, step)]
        for t in candidates:
            for above in (True, False):
                score = balanced_accuracy(rows, feature, t, above)
                if best is None or score > best["balancedAccuracy"]:
                    best = {"feature": feature, "threshold": round(t, 2), "above": above, "balancedAccuracy": score}
    churn_rate = sum(r["churned"] == "1" for r in rows) / len(rows)
    model = {
        "type": "decision-stump",
        "feature": best["feature"],
        "threshold": best["threshold"],
        "predictsChurnWhen": ">" if best["above"] else "<=",
        "trainingBalancedAccuracy": round(best["balancedAccuracy"], 4),
        "trainingRows": len(rows),
        "trainingChurnRate": round(churn_rate, 4),
    }
    log("train", f"churn when {model['feature']} {model['predictsChurnWhen']} {model['threshold']} "
        f"(balanced accuracy {model['trainingBalancedAccuracy']:.3f} on {len(rows)} rows)")
    return model


def evaluate(model, rows, what):
    score = balanced_accuracy(rows, model["feature"], model["threshold"], model["predictsChurnWhen"] == ">")
    log("evaluate", f"balanced accuracy {score:.3f} on {what} ({len(rows)} rows)")
    return round(score, 4)


def register(name, model_dir, tags, props):
    server, job_id, token = (os.environ.get(k) for k in ("MLGRID_SERVER", "MLGRID_JOB_ID", "MLGRID_JOB_TOKEN"))
    if not (server and job_id and token):
        log("register", "not running as an mlgrid job (no MLGRID_JOB_TOKEN): the model is not registered")
        return None
    workspace = job_id[: job_id.lower().rindex("/jobs/")]
    body = {
        "properties": {
            "modelUri": "file://" + os.path.abspath(model_dir),
            "modelType": "custom_model",
            "description": "decision stump predicting churn, trained by the examples' churn pipeline",
            "tags": tags,
            "properties": props,
            "jobName": job_id.rsplit("/", 1)[1],
        }
    }
    # Versions are immutable: a PUT on a version someone registered with other content is refused (400) and
    # changes nothing, so the first number that is accepted is the next free version.
    for version in range(1, 1000):
        url = f"{server}{workspace}/models/{name}/versions/{version}?api-version={API_VERSION}"
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                out = json.load(res)
            log("register", f"registered {name}:{version} with tags {json.dumps(tags)}")
            return out
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            if err.code == 400 and "registered version" in detail:
                continue  # taken
            raise SystemExit(f"register: {err.code} {detail}")
    raise SystemExit("register: no free version below 1000")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", required=True)
    p.add_argument("--live")
    p.add_argument("--window-start")
    p.add_argument("--window-end")
    p.add_argument("--prepared", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--register", metavar="NAME")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()

    rows, window = prepare(args)
    model = train(rows)
    model["evaluation"] = {
        "on": "drifted window" if window else "training data",
        "balancedAccuracy": evaluate(model, window or rows, "the drifted window" if window else "the training data"),
    }
    if window:
        model["window"] = {"start": args.window_start, "end": args.window_end, "rows": len(window)}
    os.makedirs(args.model_dir, exist_ok=True)  # mlgrid creates a job's output folders before it starts
    with open(os.path.join(args.model_dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model, f, indent=2)
    log("train", f"model written to {args.model_dir}/model.json")

    if args.register:
        tags = dict(t.split("=", 1) for t in args.tag if "=" in t and t.split("=", 1)[1] != "")
        props = {"feature": model["feature"], "threshold": str(model["threshold"]),
                 "balancedAccuracy": str(model["evaluation"]["balancedAccuracy"])}
        register(args.register, args.model_dir, tags, props)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as err:  # a failing stage fails the job, with the reason in its log
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
