"""Scoring script of the churn model (Azure ML's contract: init() once, run(raw_data) per request).

Request:  {"data": [{"tenure_months": 3, "monthly_charges": 99.5, "support_calls": 4}, ...]}
Answer:   {"predictions": [1, ...], "model": "churn when monthly_charges > 82.3"}
"""
import json
import os

model = None


def init():
    global model
    # AZUREML_MODEL_DIR: the registered model's folder (mlgrid sets it as Azure does).
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json"), encoding="utf-8") as f:
        model = json.load(f)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    feature, threshold = model["feature"], model["threshold"]
    above = model["predictsChurnWhen"] == ">"
    predictions = [int((float(r[feature]) > threshold) == above) for r in rows]
    return {
        "predictions": predictions,
        "model": f"churn when {feature} {model['predictsChurnWhen']} {threshold}",
    }
