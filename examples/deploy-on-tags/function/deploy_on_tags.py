#!/usr/bin/env python3
"""Deploy a model based on its tags: an mlgrid local function (the Azure Function of the seed's third example).

mlgrid runs this once per delivery of a ModelRegistered event, with the event batch (Event Grid schema, a JSON
array) on stdin. For every model version tagged deploy=true and stage=prod it creates an online deployment of
that version on the endpoint named by DEPLOY_ENDPOINT (scoring code copied from the endpoint's current main
deployment), waits until it is up, then moves all traffic to it. Standard library only.

Exit codes (mlgrid's contract): 0 = handled (also "nothing to do"); 65 = the event is unusable, dead-letter it;
anything else = retry later.

Configuration:
  DEPLOY_SERVER     mlgrid's URL (env; not a secret)
  DEPLOY_ENDPOINT   the endpoint this function keeps up to date (env)
  DEPLOY_KEY_FILE   file holding the API key of the principal the function acts as (default: deployer.key in
                    the working directory). The key is not put in the function's env: whoever may read the
                    function resource (Reader) sees its env.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

API = "2022-10-01"
SERVER = os.environ["DEPLOY_SERVER"].rstrip("/")
ENDPOINT = os.environ["DEPLOY_ENDPOINT"]
with open(os.environ.get("DEPLOY_KEY_FILE", "deployer.key"), encoding="utf-8") as f:
    KEY = f.read().strip()
MODEL_REGISTERED = "Microsoft.MachineLearningServices.ModelRegistered"


class BadEvent(Exception):
    """The event cannot be acted on: retrying will not help."""


def call(method, path, body=None):
    req = urllib.request.Request(
        f"{SERVER}{path}?api-version={API}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read().decode()
            return json.loads(text) if text else {}
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:300]
        if 400 <= err.code < 500 and err.code not in (408, 409, 429):
            raise BadEvent(f"{method} {path}: {err.code} {detail}") from None
        raise RuntimeError(f"{method} {path}: {err.code} {detail}") from None


def deployment_name(model, version):
    name = re.sub(r"[^a-z0-9-]+", "-", f"{model}-v{version}".lower()).strip("-")
    return ("m-" + name if not name[:1].isalpha() else name)[:32].rstrip("-")


def deploy(event):
    data = event.get("data") or {}
    model, version = data.get("modelName"), data.get("modelVersion")
    workspace = event.get("topic") or ""
    if not model or not version or "/workspaces/" not in workspace:
        raise BadEvent(f"event {event.get('id')} names no model version of a workspace")
    tags = {str(k).lower(): str(v).lower() for k, v in (data.get("modelTags") or {}).items()}
    if tags.get("deploy") != "true" or tags.get("stage") != "prod":
        print(f"{model}:{version}: not tagged deploy=true, stage=prod: nothing to deploy")
        return
    model_id = f"{workspace}/models/{model}/versions/{version}"
    endpoint_path = f"{workspace}/onlineEndpoints/{ENDPOINT}"
    endpoint = call("GET", endpoint_path)
    deployments = call("GET", f"{endpoint_path}/deployments")["value"]
    serving = [d for d in deployments if d["properties"].get("model", "").lower() == model_id.lower()
               and d["properties"].get("provisioningState") == "Succeeded"]
    if serving:  # a redelivered event, or deployed by someone else: do not deploy twice
        print(f"{model}:{version} already runs on {ENDPOINT}/{serving[0]['name']}: nothing to do")
        return
    traffic = {k.lower(): v for k, v in (endpoint["properties"].get("traffic") or {}).items()}
    main = max(deployments, key=lambda d: traffic.get(d["name"].lower(), 0), default=None)
    if main is None:
        raise BadEvent(f"endpoint {ENDPOINT} has no deployment to copy the scoring code from")
    name = deployment_name(model, version)
    source = main["properties"]
    # The chain this deployment belongs to (mlgrid lineage): the ModelRegistered event caused it.
    lineage = {"mlgrid.correlationId": data.get("correlationId") or event["id"], "mlgrid.causationId": event["id"]}
    body = {
        "location": main.get("location", "local"),
        "tags": {"deployedBy": "deploy_on_tags.py"},
        "properties": {
            "endpointComputeType": "Managed",
            "model": model_id,
            "codeConfiguration": source["codeConfiguration"],
            "environmentId": source.get("environmentId"),
            "environmentVariables": source.get("environmentVariables") or {},
            "properties": lineage,
        },
    }
    print(f"deploying {model}:{version} as {ENDPOINT}/{name} (code from {main['name']})", flush=True)
    call("PUT", f"{endpoint_path}/deployments/{name}", body)
    deadline = time.time() + 90
    while True:
        state = call("GET", f"{endpoint_path}/deployments/{name}")["properties"]
        if state.get("provisioningState") == "Succeeded":
            break
        if state.get("provisioningState") == "Failed":
            call("DELETE", f"{endpoint_path}/deployments/{name}")  # leave the endpoint as it was
            error = (state.get("mlgrid") or {}).get("error") or {}
            raise BadEvent(f"{model}:{version} failed to start, deleted: {error.get('message', 'unknown error')}")
        if time.time() > deadline:
            raise RuntimeError(f"{ENDPOINT}/{name} still {state.get('provisioningState')} after 90 s")
        time.sleep(0.5)
    call("PATCH", endpoint_path, {"properties": {"traffic": {name: 100}}})
    print(f"{model}:{version} is live on {ENDPOINT}/{name} with 100% of the traffic")


def main():
    try:
        events = json.load(sys.stdin)
    except ValueError as err:
        print(f"the body is not JSON: {err}", file=sys.stderr)
        return 65
    for event in events if isinstance(events, list) else [events]:
        if event.get("eventType") != MODEL_REGISTERED:
            continue
        try:
            deploy(event)
        except BadEvent as err:
            print(f"not retried: {err}", file=sys.stderr)
            return 65
    return 0


if __name__ == "__main__":
    sys.exit(main())
