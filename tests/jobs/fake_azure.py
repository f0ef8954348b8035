"""A loopback HTTPS fake of Entra ID (ADFS-style authority) and the Azure ML endpoints.

Real MLClient and real DefaultAzureCredential talk to it; every request is recorded, and faults
can be queued per (method, path suffix) to exercise retries and error handling, or set for a
window of time (`outages`, in ticks of the tests' fake clock), however many requests the SDK
makes meanwhile.

It models the service's documented behaviour, not what our code expects:

- Long-running operations take `lro_polls` polls before they end, and can end Failed with an
  error body (`lro_failures`). `Azure-AsyncOperation` URLs answer `{"status": "InProgress"}`, then
  `Succeeded` or `Failed` + `error`; `Location` URLs answer 202 while running, then 200, or the
  error's status and body (Azure Resource Manager RPC, "Asynchronous operations").
- Pipeline jobs nest as the service nests them: the root run has one child per pipeline node, a
  pipeline-component node (the catalog's finetune pipelines) has the steps as its children, and
  a failure carries the real error on the failing step; the root and the node only say that a
  child failed. Child runs answer the ARM job GET with `properties: null` and are read from run
  history (azure-ai-ml 1.35.2 `JobOperations.get` / `_is_pipeline_child_job`).
- Lists page: `page_size` items per page and a `nextLink` (ARM jobs; run-history children too,
  with `history_page_size`).
- Registries: discovery, then model and component versions that exist answer 200, others 404;
  `registry_denied` answers 403 as a registry without AzureML Registry User would.
- Errors use the ARM error shape `{"error": {"code", "message", "details", "additionalInfo"}}`
  with the codes Azure uses per status; 429 and 503 carry `Retry-After`, 401 `WWW-Authenticate`.
- The workspace's MLflow tracking server (its `mlFlowTrackingUri`, `azureml://` + the MLflow
  REST API under it): `GET .../api/2.0/mlflow/runs/get?run_id=` and `POST .../runs/search` with a
  `tags.mlflow.parentRunId = '<run>'` filter, over the same runs as run history (a job's run id is
  its name), with the metrics in `metrics`; an ARM token is required (401 otherwise), an unknown
  run answers 404 `RESOURCE_DOES_NOT_EXIST`, searches page with `next_page_token`; errors use
  MLflow's `{"error_code", "message"}` body (mlflow.org REST API; mlflow.exceptions for codes).
- Marketplace subscriptions (model as a service): PUT and GET by name, and the workspace's list
  (`GET .../workspaces/{ws}/marketplaceSubscriptions`, `value` + `nextLink`, continuation in
  `$skip`: azure-rest-api-specs machinelearningservices mfe.json, MarketplaceSubscriptions_List
  and its PaginationParameter). A serverless endpoint, or a FineTuning job, of a model outside
  Microsoft's `azureml` registry is refused without a Subscribed subscription to its offer.
- Scoring URIs take the credential of the endpoint's auth mode only: a Microsoft Entra token for
  https://ml.azure.com (aad_token), an endpoint key (key), or the token of the endpoint's `token`
  action (aml_token).
- A pipeline job's registry component node is checked against that component version's inputs
  (the tables in jobs/component_specs, transcribed from Azure/azureml-assets): unknown inputs,
  missing required ones, literal vs URI input kinds and enum values are refused with 400 UserError.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import trustme

from jobs.components import pinned_component, registry_asset_uri

# The ARM error code Azure answers with per HTTP status (Azure REST API guidelines / ARM RPC).
ERROR_CODES = {
    400: "UserError",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
# Integer seconds (RFC 9110 delay-seconds; the SDK parses it as int); 0 keeps azure-core's own
# retries, which sleep for real, fast in tests.
RETRY_AFTER = "0"
# On LRO status polls: azure-core reads Retry-After as a float there, and azure-ai-ml's own pollers
# wait a fixed 5 s when it is 0 or absent (LROConfigurations.POLL_INTERVAL); short and non-zero.
POLL_RETRY_AFTER = "0.01"
# A PUT of an existing job may change these only; anything else is refused with JOB_EXISTS and,
# as its inner error, JOB_IMMUTABLE (the service's message as public reports quote it).
JOB_MUTABLE_PROPERTIES = ("description", "tags", "displayName", "properties", "isArchived")
JOB_EXISTS = (
    "A job with this name already exists. If you are trying to create a new job, use a different name. "
    "If you are trying to update an existing job, the existing job's Settings, Inputs, Outputs, Jobs, "
    "InputBindings, OutputBindings cannot be changed. Only description, tags, displayName, properties, "
    "and isArchived can be updated."
)
JOB_IMMUTABLE = {"code": "Immutable", "innerError": {"code": "JobPropertyImmutable", "innerError": None}}
# ARM's limit on a tag value (Learn, "Use tags to organize your Azure resources", Limitations).
TAG_VALUE_MAX = 256
# The root and node errors of a pipeline whose step failed: generic, the real one is on the step.
PIPELINE_FAILED = "Pipeline has some failed steps. See child run or execution logs for more details."


def workspace_path_of(path: str) -> str:
    """The workspace's ARM id in a request path below it."""
    return path.split("?")[0].split("/jobs/")[0]


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code or ERROR_CODES.get(status, "Error"),
            "message": message,
            "details": [],
            "additionalInfo": [],
        }
    }


def error_headers(status: int) -> dict[str, str]:
    if status in (429, 503):
        return {"Retry-After": RETRY_AFTER}
    if status == 401:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return {}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt_for(audience: str) -> str:
    # Pipeline submission decodes the token (without verifying it) and checks its audience.
    return f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'aud': audience, 'exp': 4102444800})}.c2ln"


def mlflow_error(code: str, message: str) -> dict[str, str]:
    """MLflow's error body (mlflow.exceptions.MlflowException.serialize_as_json)."""
    return {"error_code": code, "message": message}


def tag_refusal(body: Any) -> tuple[int, Any] | None:
    """ARM's tag limits on a tracked resource's PUT: at most 50 tags, names of at most 512 and values
    of at most 256 characters (Learn, "Use tags to organize your Azure resources", Limitations)."""
    tags = (body or {}).get("tags") or {}
    too_long = sorted(name for name, value in tags.items() if len(str(value)) > TAG_VALUE_MAX)
    if len(tags) > 50 or too_long or any(len(name) > 512 for name in tags):
        return 400, error_body(
            400,
            f"Invalid tags: at most 50, values of at most {TAG_VALUE_MAX} characters ({', '.join(too_long)})",
            "InvalidTag",
        )
    return None


def _audience(authorization: str) -> str | None:
    """The audience of a bearer token from `jwt_for`, None when there is none."""
    if not authorization.startswith("Bearer "):
        return None
    try:
        payload = authorization.removeprefix("Bearer ").split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    audience = claims.get("aud")
    return str(audience) if audience else None


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    after_success: bool = False  # apply the request first, then answer with the fault
    # the answer's body: the ARM error shape when None; a dict is sent as JSON, a str as text/html
    # (a page from a proxy or gateway in front of the service)
    body: Any = None

    def answer(self, message: str) -> Any:
        """The body of the fault's answer: `body`, else the ARM error shape saying `message`."""
        return error_body(self.status, message) if self.body is None else self.body


@dataclass
class Outage:
    """Matching requests answer `status` while the fake's time (in ticks, see `FakeAzure.tick`)
    is in [start, end): a service-side incident, whatever the number of requests or retries the
    client makes meanwhile."""

    method: str
    pattern: str
    status: int
    start: int
    end: int


@dataclass
class Run:
    """A run-history child run: a pipeline node or a step."""

    run_id: str
    parent: str
    display_name: str
    timeline: list[str]
    error: str | None = None


@dataclass
class Operation:
    """A long-running operation: `remaining` more polls answer in progress."""

    remaining: int
    error: dict[str, Any] | None = None  # set: the operation ends Failed with this error
    on_done: Any = None  # called once when the operation ends (success or failure)
    done: bool = False

    def poll(self) -> bool:
        """Advance; True once the operation has ended."""
        if self.remaining > 0:
            self.remaining -= 1
            return False
        if not self.done:
            self.done = True
            if self.on_done is not None:
                self.on_done(self.error is None)
        return True


class FakeAzure:
    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.requests: list[Recorded] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_bodies: dict[str, dict[str, Any]] = {}  # the properties each job was created with
        # Jobs another client creates (with other immutable properties) just before our PUT of them.
        self.created_meanwhile: set[str] = set()
        self.faults: list[Fault] = []
        self.outages: list[Outage] = []
        self.ticks = 0  # how often time has passed (`tick`)
        self.created = 0  # successful job creations
        # Scripted status per job: the head is the current status; `tick()` (time passing, driven
        # by the client's injected sleep) moves every timeline on by one; the last entry stays.
        self.timelines: dict[str, list[str]] = {}
        # Run-history child runs by id (pipeline nodes and their steps); see `pipeline_steps`.
        self.runs: dict[str, Run] = {}
        self.errors: dict[str, str] = {}  # run history error message of failed root jobs
        # the code of that error; run history's RootError.code is optional (azure-ai-ml's RunDetails)
        self.error_codes: dict[str, str] = {}
        self.page_size = 2  # items per page of ARM lists, so that every list test pages
        # Run-history children pages. azure-ai-ml 1.35.2's runs.get_child never follows nextLink
        # (its extract_data returns None as the next link), so a page smaller than a pipeline's
        # steps would hide steps; the service's page size is not documented.
        self.history_page_size = 100
        # Long-running operations: polls in progress before the end; failures by operation key.
        self.lro_polls = 2
        self.lro_failures: dict[str, str] = {}  # "cancel-<job>" or "<endpoint>[/deployments/<d>]"
        self.operations: dict[str, Operation] = {}
        self._ids: Iterator[int] = itertools.count(1)
        # Registries: the ones discovery knows, their models (tags by "<name>/<version>") and
        # whether our identity lacks AzureML Registry User there. Components are the pinned ones.
        self.registries = {"azureml", "azureml-meta"}
        self.registry_models: dict[str, dict[str, dict[str, str]]] = {
            "azureml": {
                "Phi-3-mini-4k-instruct/15": {
                    "finetune_compute_allow_list": (
                        "['Standard_NC24ads_A100_v4', 'Standard_NC48ads_A100_v4', "
                        "'Standard_NC96ads_A100_v4', 'Standard_ND96asr_v4']"
                    )
                }
            },
            "azureml-meta": {"Meta-Llama-3.1-8B-Instruct/4": {}},
        }
        self.registry_denied = False
        self.cancelled: list[str] = []
        # The workspace storage account, served path-style (https://127.0.0.1:port/<account>/...)
        # as Azurite does: the SAS URL handed out for code uploads points here.
        self.storage_account = "stmlpdevnlpresearch"
        self.blobs: dict[str, bytes] = {}  # "<container>/<blob name>" -> content
        self.blob_metadata: dict[str, dict[str, str]] = {}
        self.codes: dict[str, dict[str, Any]] = {}  # "<name>/<version>" -> code version resource
        self.environments: dict[str, dict[str, Any]] = {}  # "<name>/<version>" -> environment version
        self.online: dict[str, dict[str, Any]] = {}  # "<endpoint>[/deployments/<name>]" -> resource
        self.models: dict[str, dict[str, str]] = {}  # "<name>/<version>" -> tags of a workspace model
        self.model_uris: dict[str, str] = {}  # "<name>/<version>" -> path of a model registered by PUT
        # Online deployments: log text per "<endpoint>/deployments/<name>" (getLogs), and the status
        # a deployment's scoring container answers with (absent: 200 with a completion).
        self.deployment_logs: dict[str, str] = {}
        self.scoring_failures: dict[str, int] = {}
        self.scored: list[tuple[str, str]] = []  # (endpoint, deployment) of every scoring request
        self.workspace_guid = "5f0c8a1e-0000-4000-8000-000000000001"
        # MLflow metrics (name -> last value) by run id: a job's name or a run-history child's id.
        self.metrics: dict[str, dict[str, float]] = {}
        # The ARM id of the workspace tests put resources in, and its clusters by compute name, as
        # the stack outputs describe them (conftest: the planned nlp-research workspace).
        self.workspace_id = ""
        self.computes: dict[str, dict[str, Any]] = {}
        # Serverless (model as a service): marketplace subscriptions and endpoints by name.
        self.marketplace: dict[str, dict[str, Any]] = {}
        self.serverless: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        server_cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_cert.configure_cert(context)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeAzure:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for outage in self.outages:
                active = outage.start <= self.ticks < outage.end
                if active and outage.method == method and re.search(outage.pattern, path):
                    return Fault(method, outage.pattern, outage.status)
            for fault in self.faults:
                if fault.method == method and re.search(fault.pattern, path):
                    self.faults.remove(fault)
                    return fault
        return None

    def tick(self) -> None:
        self.ticks += 1
        timelines = [*self.timelines.values(), *(run.timeline for run in self.runs.values())]
        for timeline in timelines:
            if len(timeline) > 1:
                timeline.pop(0)

    def pipeline_steps(
        self, job: str, steps: dict[str, list[str]], node: str = "finetune", failing: str | None = None
    ) -> None:
        """The run tree of a catalog pipeline job: `job` -> pipeline node `node` -> `steps`.

        The node follows the job's own timeline; `failing` names the step whose error
        (`errors[job]`, moved there) is the real one, as on the service.
        """
        node_id = f"{job}-node-{node}"
        node_timeline = list(self.timelines.get(job, ["Running"]))
        self.runs[node_id] = Run(node_id, job, node, node_timeline)
        for step, timeline in steps.items():
            step_id = f"{job}-step-{step}"
            error = self.errors.get(job) if step == failing else None
            self.runs[step_id] = Run(step_id, node_id, step, list(timeline), error)
        if failing is not None:
            self.runs[node_id].error = PIPELINE_FAILED
            self.errors[job] = PIPELINE_FAILED

    def new_operation(self, key: str, on_done: Any = None) -> str:
        """Start a long-running operation; its id goes into Azure-AsyncOperation or Location."""
        failure = self.lro_failures.get(key)
        error = error_body(400, failure, "OperationFailed")["error"] if failure else None
        operation_id = f"{key.replace('/', '-')}-{next(self._ids)}"
        self.operations[operation_id] = Operation(self.lro_polls, error, on_done)
        return operation_id

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every long-running operation has ended: a command without `--wait` leaves
        the SDK's poller thread polling after it returns. True when they all ended in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(operation.done for operation in self.operations.values()):
                    return True
            time.sleep(0.01)
        return False

    def add_marketplace_subscription(
        self,
        workspace_path: str,
        name: str,
        model_id: str,
        status: str = "Subscribed",
        provisioning_state: str = "Succeeded",
    ) -> None:
        """A subscription that exists before the test runs, e.g. made in the studio."""
        self.marketplace[name] = {
            "id": f"{workspace_path}/marketplaceSubscriptions/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/marketplaceSubscriptions",
            "properties": {
                "modelId": model_id,
                "marketplacePlan": {"publisherId": "publisher", "offerId": "offer", "planId": "plan"},
                "marketplaceSubscriptionStatus": status,
                "provisioningState": provisioning_state,
            },
        }

    def subscribed(self, model_id: str) -> bool:
        """Whether the workspace may use `model_id`'s offer: Microsoft's own models need no
        subscription; others a Subscribed one to the model id without version."""
        offer = re.sub(r"/versions/[^/]+$", "", model_id)
        if offer.startswith("azureml://registries/azureml/"):
            return True
        return any(
            s["properties"]["modelId"] == offer
            and s["properties"]["marketplaceSubscriptionStatus"] == "Subscribed"
            for s in self.marketplace.values()
        )

    def status(self, name: str, default: str) -> str:
        timeline = self.timelines.get(name)
        return timeline[0] if timeline else default

    def add_job(
        self, workspace_path: str, name: str, job_type: str, status: str, tags: dict[str, str] | None = None
    ) -> None:
        """A job that exists before the test runs, as another client would have created it."""
        properties = {"jobType": job_type, "status": status, "experimentName": "x", "jobs": {}}
        self.jobs[name] = {
            "id": f"{workspace_path}/jobs/{name}",
            "name": name,
            "properties": {**properties, "tags": tags or {}},
        }

    def cloud_metadata(self) -> dict[str, str]:
        return {
            "azure_portal": self.url + "/",
            "resource_manager": self.url + "/",
            "active_directory": self.url + "/",
            "aml_resource_id": "https://ml.azure.com",
            "storage_endpoint": "core.windows.net",
            "registry_discovery_endpoint": self.url + "/",
        }


def _handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            text = isinstance(body, str)
            payload = body.encode() if text else json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if text else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _body(self, raw: bytes) -> Any:
            if not raw:
                return None
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return {key: values[0] for key, values in parse_qs(raw.decode()).items()}

        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path.startswith(f"/{fake.storage_account}/"):
                fake.requests.append(Recorded(method, url.path, raw))
                self._blob(method, url.path.removeprefix(f"/{fake.storage_account}/"), parse_qs(url.query))
                return
            body = self._body(raw)
            fake.requests.append(
                Recorded(method, url.path, body, {k.lower(): v for k, v in self.headers.items()})
            )
            fault = fake.take_fault(method, url.path)
            if fault and not fault.after_success:
                self._reply(
                    fault.status,
                    fault.answer(f"injected {fault.status}"),
                    {**error_headers(fault.status), **fault.headers},
                )
                return
            self.headers_out: dict[str, str] = {}
            self.query = parse_qs(url.query)
            status, answer = self._route(method, url.path, body)
            if fault:
                status, answer = fault.status, fault.answer("injected after apply")
                self.headers_out = {**error_headers(fault.status), **fault.headers}
            elif status >= 400:
                self.headers_out = {**error_headers(status), **self.headers_out}
            self._reply(status, answer, self.headers_out)

        def _page(
            self, path: str, items: list[Any], size: int | None = None, token: str = "$skipToken"
        ) -> dict[str, Any]:
            """One page of `items` and, when more remain, the `nextLink` the SDK follows as is;
            `token` is the list's continuation query parameter."""
            size = size or fake.page_size
            start = int(self.query.get(token, ["0"])[0])
            page: dict[str, Any] = {"value": items[start : start + size]}
            if start + size < len(items):
                kept = {k: v[0] for k, v in self.query.items() if k != token}
                query = urlencode({**kept, token: str(start + size)})
                page["nextLink"] = f"{fake.url}{path}?{query}"
            return page

        def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
            if path.endswith("/.well-known/openid-configuration"):
                base = fake.url + path.split("/.well-known")[0]
                return 200, {
                    "token_endpoint": f"{base}/oauth2/token",
                    "authorization_endpoint": f"{base}/oauth2/authorize",
                    "issuer": base,
                }
            if path.endswith("/oauth2/token"):
                scope = str(body.get("scope", "")).split()[0].removesuffix("/.default").rstrip("/")
                return 200, {"access_token": jwt_for(scope), "token_type": "Bearer", "expires_in": 3600}
            if path == "/discovery":
                # The workspace's discovery document: run history ("api") is served here too.
                return 200, {key: fake.url for key in ("api", "catalog", "experimentation", "history")}
            tracking = re.search(
                r"^/mlflow/v[12]\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                r"Microsoft\.MachineLearningServices/workspaces/[^/]+/api/2\.0/mlflow/runs/(get|search)$",
                path,
            )
            if tracking:
                return self._mlflow(method, tracking.group(1), body)
            history = re.search(
                r"^/history/v1\.0/.*/workspaces/[^/]+/runs/([^/]+)(/children|/details)?$", path
            )
            if history and method == "GET":
                return self._history(path, history.group(1), (history.group(2) or "").strip("/"))
            if re.search(r"/workspaces/[^/]+/marketplaceSubscriptions$", path) and method == "GET":
                return 200, self._page(path, list(fake.marketplace.values()), token="$skip")
            maas = re.search(
                r"/workspaces/[^/]+/(marketplaceSubscriptions|serverlessEndpoints)/([^/]+)$", path
            )
            if maas:
                return self._maas(method, path, maas.group(1), maas.group(2))
            if re.search(r"/workspaces/[^/]+/marketplaceSubscriptions$", path) and method == "GET":
                return 200, self._page(path, list(fake.marketplace.values()))
            if re.search(r"/workspaces/[^/]+/serverlessEndpoints$", path) and method == "GET":
                return 200, self._page(path, list(fake.serverless.values()))
            scoring = re.search(r"^/score/([^/]+)$", path)
            if scoring and method == "POST":
                return self._score(scoring.group(1))
            listing = re.search(r"/workspaces/[^/]+/onlineEndpoints(/[^/]+/deployments)?$", path)
            if listing and method == "GET":
                return self._online_list(path, (listing.group(1) or "").strip("/").split("/")[0])
            action = re.search(
                r"/workspaces/[^/]+/onlineEndpoints/([^/]+(/deployments/[^/]+)?)/(getLogs|listKeys|token)$",
                path,
            )
            if action and method == "POST":
                return self._online_action(action.group(1), action.group(3))
            online = re.search(r"/workspaces/[^/]+/onlineEndpoints/([^/]+(/deployments/[^/]+)?)$", path)
            if online:
                return self._online(method, path, online.group(1), body)
            model = re.search(r"/workspaces/[^/]+/models/([^/]+)/versions/([^/]+)$", path)
            if model and method == "GET":
                return self._model(path, model.group(1), model.group(2))
            if model and method == "PUT":
                return self._register_model(path, model.group(1), model.group(2), body)
            container = re.search(r"/workspaces/[^/]+/models/([^/]+)$", path)
            if container and method == "GET":
                versions = [
                    int(k.split("/")[1]) for k in fake.models if k.split("/")[0] == container.group(1)
                ]
                if not versions:
                    return 404, error_body(404, f"Model container {container.group(1)} not found")
                return 200, {
                    "id": path,
                    "name": container.group(1),
                    "properties": {"nextVersion": str(max(versions) + 1)},
                }
            environment = re.search(r"/workspaces/[^/]+/environments/([^/]+)/versions/([^/]+)$", path)
            if environment:
                return self._environment(method, path, f"{environment.group(1)}/{environment.group(2)}", body)
            code = re.search(r"/workspaces/[^/]+/codes/([^/]+)/versions(.*)$", path)
            if code:
                return self._code(method, path, code.group(1), code.group(2), body)
            cancel = re.search(r"/workspaces/([^/]+)/jobs/([^/]+)/cancel$", path)
            if cancel and method == "POST":
                return self._cancel(cancel.group(2))
            operation = re.search(r"^/operations/(async|location)/([^/]+)$", path)
            if operation and method == "GET":
                return self._operation(operation.group(1), operation.group(2))
            if "/registrymanagement/" in path or "/registries/" in path:
                return self._registry(method, path)
            job = re.search(r"/workspaces/[^/]+/jobs/([^/]+)$", path)
            if job:
                return self._job(method, job.group(1), body)
            compute = re.search(r"/computes/([^/]+)$", path)
            if compute and method == "GET":
                cluster = fake.computes.get(compute.group(1))
                if cluster is None:
                    return 404, error_body(404, f"compute {compute.group(1)} not found")
                return 200, {
                    "id": path,
                    "name": compute.group(1),
                    "location": "westeurope",
                    "properties": {
                        "computeType": "AmlCompute",
                        "properties": {
                            "vmSize": cluster["vm_size"],
                            "scaleSettings": {
                                "maxNodeCount": cluster["max_nodes"],
                                "minNodeCount": cluster["min_nodes"],
                            },
                        },
                    },
                }
            if re.search(r"/workspaces/[^/]+/jobs$", path):
                return 200, self._page(path, list(fake.jobs.values()))
            if re.search(r"/workspaces/[^/]+$", path) and method == "GET":
                return 200, {
                    "id": path,
                    "name": path.rsplit("/", 1)[1],
                    "location": "westeurope",
                    "properties": {
                        "discoveryUrl": fake.url + "/discovery",
                        "workspaceId": fake.workspace_guid,
                        # azureml://<region>.api.azureml.ms/mlflow/v1.0/<workspace scope> on Azure.
                        "mlFlowTrackingUri": f"azureml://{fake.url.removeprefix('https://')}/mlflow/v1.0{path}",
                    },
                }
            return 404, error_body(404, f"no route {method} {path}")

        def _operation(self, style: str, operation_id: str) -> tuple[int, Any]:
            operation = fake.operations.get(operation_id)
            if operation is None:
                return 404, error_body(404, f"operation {operation_id} not found")
            ended = operation.poll()
            if style == "async":
                if not ended:
                    self.headers_out = {"Retry-After": POLL_RETRY_AFTER}
                    return 200, {"status": "InProgress"}
                if operation.error:
                    return 200, {"status": "Failed", "error": operation.error}
                return 200, {"status": "Succeeded"}
            if not ended:
                self.headers_out = {"Location": f"{fake.url}/operations/location/{operation_id}"}
                self.headers_out["Retry-After"] = POLL_RETRY_AFTER
                return 202, None
            if operation.error:
                return 400, {"error": operation.error}
            return 200, None

        def _registry(self, method: str, path: str) -> tuple[int, Any]:
            """Registry discovery, then model and component versions through the registry's MFE."""
            discovery = re.search(r"/registrymanagement/v1\.0/registries/([^/]+)/discovery$", path)
            if discovery:
                name = discovery.group(1)
                if name not in fake.registries:
                    return 404, error_body(404, f"registry {name} not found")
                return 200, {
                    "registryName": name,
                    "primaryRegion": "eastus",
                    "regions": ["eastus", "westeurope"],
                    "subscriptionId": "00000000-0000-0000-0000-0000000000aa",
                    "resourceGroup": f"rg-{name}",
                    "primaryRegionResourceProviderUri": fake.url + "/",
                }
            imported = re.search(r"/registries/([^/]+)/import$", path)
            if imported and method == "POST":
                return self._registry_import(imported.group(1), self._last_body())
            versions = re.search(r"/registries/([^/]+)/models/([^/]+)/versions$", path)
            if versions and method == "GET":
                registry, name = versions.groups()
                found = [
                    {
                        "id": registry_asset_uri(registry, "models", name, key.split("/")[1]),
                        "name": key.split("/")[1],
                        "properties": {"modelType": "mlflow_model", "tags": tags},
                    }
                    for key, tags in fake.registry_models.get(registry, {}).items()
                    if key.split("/")[0] == name
                ]
                return 200, self._page(path, found)
            asset = re.search(r"/registries/([^/]+)/(models|components)/([^/]+)/versions/([^/]+)$", path)
            if not asset or method != "GET":
                return 404, error_body(404, f"no route {method} {path}")
            registry, kind, name, version = asset.groups()
            # Registry assets are identified as azureml://registries/... (the SDK's
            # REGISTRY_VERSION_PATTERN parses them; an ARM-style id is refused).
            resource_id = f"azureml://registries/{registry}/{kind}/{name}/versions/{version}"
            if fake.registry_denied:
                return 403, error_body(
                    403, f"The client does not have authorization to read registry {registry}"
                )
            if kind == "models":
                tags = fake.registry_models.get(registry, {}).get(f"{name}/{version}")
                if tags is None:
                    return 404, error_body(404, f"Model {name}:{version} not found in registry {registry}")
                return 200, {
                    "id": resource_id,
                    "name": version,
                    "properties": {
                        "modelType": "mlflow_model",
                        "modelUri": f"azureml://registries/{registry}/models/{name}/versions/{version}",
                        # Catalog models are MLflow models: the SDK reads their flavors.
                        "flavors": {"python_function": {"data": {"loader_module": "mlflow.transformers"}}},
                        "tags": tags,
                    },
                }
            component = pinned_component(name, version) if registry == "azureml" else None
            if component is None:
                return 404, error_body(404, f"Component {name}:{version} not found in registry {registry}")
            inputs = {
                key: {k: v for k, v in vars(spec).items() if v not in (None, (), False)}
                for key, spec in component.inputs.items()
            }
            for entry in inputs.values():
                if "enum" in entry:
                    entry["enum"] = list(entry["enum"])
            return 200, {
                "id": resource_id,
                "name": version,
                "properties": {
                    "componentSpec": {
                        "name": name,
                        "version": version,
                        "type": "pipeline",
                        "inputs": inputs,
                        "outputs": {},
                        "jobs": {},
                    }
                },
            }

        def _model(self, path: str, name: str, version: str) -> tuple[int, Any]:
            tags = fake.models.get(f"{name}/{version}")
            if tags is None:
                return 404, error_body(404, f"Model container {name}:{version} not found")
            return 200, {
                "id": path,
                "name": version,
                "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
                "properties": {
                    "modelType": "mlflow_model",
                    "modelUri": f"azureml://jobs/ft-{name}/outputs/artifacts/paths/model/",
                    "flavors": {"python_function": {"data": {"loader_module": "mlflow.transformers"}}},
                    "tags": tags,
                    "properties": {},
                },
            }

        def _blob(self, method: str, blob: str, query: dict[str, list[str]]) -> None:
            """Just enough of the Blob service for the SDK's upload: properties, put, metadata."""
            metadata = {
                key.lower().removeprefix("x-ms-meta-"): value
                for key, value in self.headers.items()
                if key.lower().startswith("x-ms-meta-")
            }
            headers = {
                "ETag": '"0x1"',
                "Last-Modified": "Thu, 01 Jan 2026 00:00:00 GMT",
                "x-ms-version": self.headers.get("x-ms-version", "2025-01-05"),
            }
            if method == "HEAD":
                if blob not in fake.blobs:
                    self.send_response(404)
                    self.send_header("x-ms-error-code", "BlobNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers.update({f"x-ms-meta-{k}": v for k, v in fake.blob_metadata.get(blob, {}).items()})
                headers.update({"x-ms-blob-type": "BlockBlob", "Content-Length": str(len(fake.blobs[blob]))})
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                return
            if method == "PUT" and query.get("comp") == ["metadata"] and blob in fake.blobs:
                fake.blob_metadata[blob] = metadata
                self._raw_reply(200, headers)
                return
            if method == "PUT" and not query.get("comp"):
                fake.blobs[blob] = fake.requests[-1].body
                fake.blob_metadata[blob] = metadata
                self._raw_reply(201, {**headers, "x-ms-request-server-encrypted": "true"})
                return
            self._raw_reply(400, {"x-ms-error-code": "UnsupportedByFake"})

        def _raw_reply(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _code(self, method: str, path: str, name: str, rest: str, body: Any) -> tuple[int, Any]:
            if method == "GET" and rest == "":  # list versions, filtered by content hash
                wanted = parse_qs(urlparse(self.path).query).get("hash")
                return 200, {
                    "value": [
                        code
                        for key, code in fake.codes.items()
                        if key.startswith(f"{name}/")
                        and [code["properties"]["properties"]["hash_sha256"]] == wanted
                    ]
                }
            if method == "POST" and rest.endswith("/startPendingUpload"):
                container = f"azureml-blobstore-{name}"
                return 200, {
                    "pendingUploadType": "TemporaryBlobReference",
                    "pendingUploadId": name,
                    "blobReferenceForConsumption": {
                        "blobUri": f"https://{fake.storage_account}.blob.core.windows.net/{container}",
                        "credential": {
                            "credentialType": "SAS",
                            "sasUri": f"{fake.url}/{fake.storage_account}/{container}?sv=2025-01-05&sig=fake",
                        },
                    },
                }
            if method == "PUT":
                resource = {"id": path, "name": rest.strip("/").split("/")[-1], **body}
                fake.codes[f"{name}{rest}"] = resource
                return 201, resource
            if method == "GET" and f"{name}{rest}" in fake.codes:
                return 200, fake.codes[f"{name}{rest}"]
            return 404, error_body(404, f"code {name}{rest} not found")

        def _environment(self, method: str, path: str, key: str, body: Any) -> tuple[int, Any]:
            """Environment versions: a PUT registers one (the workspace builds its image when a job
            first uses it); GET answers 200 for registered versions, 404 otherwise."""
            if method == "PUT":
                resource = {"id": path, "name": key.split("/")[1], **body}
                resource["properties"] = {**body["properties"], "environmentType": "UserCreated"}
                fake.environments[key] = resource
                return 201, resource
            if method == "GET" and key in fake.environments:
                return 200, fake.environments[key]
            return 404, error_body(404, f"environment {key} not found")

        def _online(self, method: str, path: str, key: str, body: Any) -> tuple[int, Any]:
            if method == "GET":
                if key in fake.online:
                    return 200, fake.online[key]
                return 404, error_body(404, f"{key} not found")
            if method == "DELETE":
                return self._online_delete(key)
            if method != "PUT":
                return 405, None
            if refusal := tag_refusal(body):
                return refusal
            updating = key in fake.online
            if "/deployments/" not in key:
                # The service validates the traffic map: every deployment named must exist, the
                # shares sum to 100 (or the map is empty).
                traffic = body["properties"].get("traffic") or {}
                unknown = sorted(d for d in traffic if f"{key}/deployments/{d}" not in fake.online)
                if unknown:
                    return 400, error_body(
                        400, f"Traffic names deployments that do not exist: {', '.join(unknown)}"
                    )
                if traffic and sum(traffic.values()) != 100:
                    return 400, error_body(400, f"Traffic must sum to 100, not {sum(traffic.values())}")
            elif key.split("/")[0] not in fake.online:
                return 404, error_body(404, f"endpoint {key.split('/')[0]} not found")
            properties = {**body["properties"], "provisioningState": "Updating" if updating else "Creating"}
            if "/deployments/" in key:
                properties["scaleSettings"] = {"scaleType": "Default"}  # the SDK needs it back
            else:
                # Real scoring URIs are https://<endpoint>.<region>.inference.ml.azure.com/score;
                # here the fake serves them.
                properties["scoringUri"] = f"{fake.url}/score/{key}"
            resource = {**body, "id": path, "name": key.rsplit("/", 1)[-1], "properties": properties}
            fake.online[key] = resource

            def finished(succeeded: bool) -> None:
                properties["provisioningState"] = "Succeeded" if succeeded else "Failed"

            # Long-running, as in Azure: the poller follows Azure-AsyncOperation, then GETs the resource.
            self._running(key, finished)
            return (200 if updating else 201), resource

        def _maas(self, method: str, path: str, kind: str, name: str) -> tuple[int, Any]:
            """Marketplace subscriptions and serverless endpoints (Microsoft Learn, "Deploy models as
            serverless APIs"): a non-Microsoft model's endpoint needs the workspace's subscription
            to the model's offer (its registry model id without version) first."""
            store = fake.marketplace if kind == "marketplaceSubscriptions" else fake.serverless
            if method == "GET":
                if name in store:
                    return 200, store[name]
                return 404, error_body(404, f"{kind} {name} not found")
            if method != "PUT":
                return 405, None
            body = self._last_body()
            if refusal := tag_refusal(body):
                return refusal
            if kind == "marketplaceSubscriptions":
                # A workspace subscribes to an offer once: creating it again "will throw exception
                # if the subscription already exists" (Learn, fine-tune-serverless; the status the
                # service answers with is not documented).
                offer = str(body["properties"]["modelId"]).lower()
                for existing in fake.marketplace.values():
                    if existing["name"] == name or existing["properties"]["modelId"].lower() == offer:
                        return 409, error_body(
                            409, f"Marketplace subscription {existing['name']} to {offer} already exists"
                        )
            if kind == "serverlessEndpoints":
                model_id = body["properties"]["modelSettings"]["modelId"]
                # A fine-tuned model as Learn's sample names it: the workspace's region and guid
                # (fine-tune-serverless, "Deploy a fine-tuned model"); other forms are not documented.
                found = re.search(
                    rf"^azureml://locations/{re.escape(str(body.get('location')))}/workspaces/"
                    rf"{fake.workspace_guid}/models/([^/]+)/versions/([^/]+)$",
                    model_id,
                )
                if not found or f"{found.group(1)}/{found.group(2)}" not in fake.models:
                    return 400, error_body(400, f"model {model_id} not found in the workspace")
                # "We currently limit one deployment per model per project" (Learn,
                # fine-tune-serverless; the status the service answers with is not documented).
                for other in fake.serverless.values():
                    if other["name"] != name and other["properties"]["modelSettings"]["modelId"] == model_id:
                        return 409, error_body(
                            409, f"Model {model_id} is already deployed to {other['name']}"
                        )
                base = fake.models[f"{found.group(1)}/{found.group(2)}"].get("base_model_id", "")
                if base and not fake.subscribed(base):
                    return 400, error_body(
                        400, f"No marketplace subscription for {base}", "MarketplaceSubscriptionRequired"
                    )
            resource = {**body, "id": path, "name": name}
            resource["properties"] = {**body["properties"], "provisioningState": "Creating"}
            if kind == "marketplaceSubscriptions":
                # Read-only properties the service fills in (MarketplaceSubscriptionProperties in
                # azure-rest-api-specs); the SDK reads marketplacePlan back.
                offer = body["properties"]["modelId"].rsplit("/", 1)[-1].lower()
                resource["properties"]["marketplacePlan"] = {
                    "publisherId": "publisher",
                    "offerId": offer,
                    "planId": "plan",
                }
                resource["properties"]["marketplaceSubscriptionStatus"] = "Subscribed"
            if kind == "serverlessEndpoints":
                resource["properties"]["inferenceEndpoint"] = {
                    "uri": f"https://{name}.{body['location']}.models.ai.azure.com"
                }
            store[name] = resource

            def finished(succeeded: bool) -> None:
                resource["properties"]["provisioningState"] = "Succeeded" if succeeded else "Failed"

            self._running(f"{kind}/{name}", finished)
            return 201, resource

        def _running(self, key: str, finished: Callable[[bool], None]) -> None:
            """A PUT that goes on in the background: the poller follows Azure-AsyncOperation, then
            GETs the resource (ARM's asynchronous PUT pattern)."""
            operation = fake.new_operation(key, finished)
            self.headers_out = {
                "Azure-AsyncOperation": f"{fake.url}/operations/async/{operation}",
                "Retry-After": POLL_RETRY_AFTER,
            }

        def _accepted(self, key: str, finished: Callable[[bool], None]) -> tuple[int, Any]:
            """202 Accepted with a Location the poller follows until it stops answering 202 (ARM's
            asynchronous DELETE and POST pattern)."""
            operation = fake.new_operation(key, finished)
            self.headers_out = {
                "Location": f"{fake.url}/operations/location/{operation}",
                # The generated delete/import clients read Retry-After as an integer.
                "Retry-After": RETRY_AFTER,
            }
            return 202, None

        def _online_list(self, path: str, endpoint: str) -> tuple[int, Any]:
            if endpoint:
                if endpoint not in fake.online:
                    return 404, error_body(404, f"endpoint {endpoint} not found")
                items = [v for k, v in fake.online.items() if k.startswith(f"{endpoint}/deployments/")]
            else:
                items = [v for k, v in fake.online.items() if "/deployments/" not in k]
            return 200, self._page(path, items)

        def _online_action(self, key: str, action: str) -> tuple[int, Any]:
            if key not in fake.online:
                return 404, error_body(404, f"{key} not found")
            if action == "getLogs":
                # POST .../deployments/{d}/getLogs {"containerType", "tail"}: the container's last lines.
                lines = fake.deployment_logs.get(key, "").splitlines()
                tail = int((self._last_body() or {}).get("tail") or len(lines) or 1)
                return 200, {"content": "\n".join(lines[-tail:])}
            mode = fake.online[key]["properties"].get("authMode")
            if action == "token":
                if mode != "AMLToken":
                    return 400, error_body(400, f"Endpoint {key} does not use Azure ML token authentication")
                return 200, {
                    "accessToken": f"amltoken-{key}",
                    "tokenType": "Bearer",
                    "expiryTimeUtc": 4102444800,
                    "refreshAfterTimeUtc": 4102441200,
                }
            if mode != "Key":
                return 400, error_body(400, f"Endpoint {key} does not use key authentication")
            return 200, {"primaryKey": "pk", "secondaryKey": "sk"}

        def _last_body(self) -> Any:
            return fake.requests[-1].body

        def _online_delete(self, key: str) -> tuple[int, Any]:
            if key not in fake.online:
                return 204, None
            endpoint = key.split("/")[0]
            if "/deployments/" in key:
                name = key.rsplit("/", 1)[-1]
                if (fake.online[endpoint]["properties"].get("traffic") or {}).get(name):
                    return 400, error_body(400, f"Deployment {name} has traffic; route it elsewhere first")

            def finished(succeeded: bool) -> None:
                if succeeded:
                    for item in [k for k in fake.online if k == key or k.startswith(f"{key}/deployments/")]:
                        del fake.online[item]

            return self._accepted(f"delete-{key}", finished)

        def _scoring_credential(self, endpoint: str, authorization: str) -> bool:
            """What each auth mode accepts (Learn, "Authenticate clients for online endpoints"): a
            Microsoft Entra token for https://ml.azure.com (aad_token), an endpoint key (key), or
            the token the endpoint's `token` action issued (aml_token)."""
            mode = fake.online[endpoint]["properties"].get("authMode")
            token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else ""
            if mode == "Key":
                return token in ("pk", "sk")
            if mode == "AMLToken":
                return token == f"amltoken-{endpoint}"
            return _audience(authorization) == "https://ml.azure.com"

        def _score(self, endpoint: str) -> tuple[int, Any]:
            """The scoring URI: `azureml-model-deployment` picks a deployment whatever its traffic;
            without it the request goes where the traffic map says (the first deployment with a share)."""
            if endpoint not in fake.online:
                return 404, error_body(404, f"endpoint {endpoint} not found")
            headers = fake.requests[-1].headers
            if not self._scoring_credential(endpoint, headers.get("authorization", "")):
                return 401, error_body(401, "missing or wrong credentials for the endpoint's auth mode")
            chosen = headers.get("azureml-model-deployment")
            if chosen is None:
                traffic = fake.online[endpoint]["properties"].get("traffic") or {}
                chosen = next((d for d, share in traffic.items() if share), None)
                if chosen is None:
                    return 404, error_body(404, "No valid deployments to route to")
            key = f"{endpoint}/deployments/{chosen}"
            if key not in fake.online or fake.online[key]["properties"]["provisioningState"] != "Succeeded":
                return 404, error_body(404, f"Deployment {chosen} not found or not ready")
            fake.scored.append((endpoint, chosen))
            failure = fake.scoring_failures.get(key)
            if failure:
                return failure, error_body(failure, "model container answered an error")
            return 200, {"output": f"hello from {chosen}"}

        def _register_model(self, path: str, name: str, version: str, body: Any) -> tuple[int, Any]:
            key = f"{name}/{version}"
            uri = body["properties"].get("modelUri")
            if key in fake.models and fake.model_uris.get(key) != uri:
                # Workspace model versions keep their path: an update may change tags, not bytes.
                return 400, error_body(400, "The asset path cannot be changed for an existing version")
            fake.models[key] = dict(body["properties"].get("tags") or {})
            fake.model_uris[key] = uri
            _, resource = self._model(path, name, version)
            resource["properties"]["modelUri"] = uri
            return 201, resource

        def _registry_import(self, registry: str, body: Any) -> tuple[int, Any]:
            """POST .../registries/{r}/import of a workspace asset: long-running; an existing
            version is refused (registry asset versions are immutable)."""
            # WorkspaceAssetReference: {"properties": {"referenceType": "Id", "destinationName",
            # "destinationVersion", "sourceAssetId": "azureml://locations/<l>/workspaces/<guid>/models/<n>/versions/<v>"}}
            reference = body["properties"]
            name, version = reference["destinationName"], reference["destinationVersion"]
            models = fake.registry_models.setdefault(registry, {})
            if f"{name}/{version}" in models:
                return 409, error_body(409, f"Model {name}:{version} already exists in registry {registry}")
            asset = re.search(
                rf"^azureml://locations/[^/]+/workspaces/{fake.workspace_guid}/models/([^/]+)/versions/([^/]+)$",
                reference.get("sourceAssetId", ""),
            )
            source = fake.models.get(f"{asset.group(1)}/{asset.group(2)}") if asset else None
            if source is None:
                return 404, error_body(404, f"source asset {reference.get('sourceAssetId')} not found")

            def finished(succeeded: bool) -> None:
                if succeeded:
                    models[f"{name}/{version}"] = dict(source)

            return self._accepted(f"import-{registry}/{name}/{version}", finished)

        def _history(self, path: str, run: str, what: str) -> tuple[int, Any]:
            child = fake.runs.get(run)
            if child is None and run not in fake.jobs:
                return 404, error_body(404, f"run {run} not found")
            if what == "children":
                runs = [self._run(r) for r in fake.runs.values() if r.parent == run]
                return 200, self._page(path, runs, fake.history_page_size)
            if child is not None:
                details = self._run(child)
                if child.error:
                    details["error"] = {"error": {"code": "UserError", "message": child.error}}
                return 200, details
            status = fake.jobs[run]["properties"]["status"]
            details = {"runId": run, "status": status}
            if run in fake.errors:
                error = {"code": fake.error_codes.get(run, "UserError"), "message": fake.errors[run]}
                details["error"] = {"error": {key: value for key, value in error.items() if value}}
            return 200, details

        def _mlflow(self, method: str, action: str, body: Any) -> tuple[int, Any]:
            """MLflow's REST API: runs/get (GET, `run_id`) and runs/search (POST) of child runs."""
            authorization = fake.requests[-1].headers.get("authorization", "")
            if _audience(authorization) != fake.url:  # an Azure Resource Manager token
                return 401, mlflow_error(
                    "UNAUTHENTICATED", "an Azure Resource Manager bearer token is required"
                )
            if action == "get" and method == "GET":
                run_id = self.query.get("run_id", [""])[0]
                run = self._mlflow_run(run_id)
                if run is None:
                    return 404, mlflow_error("RESOURCE_DOES_NOT_EXIST", f"Run '{run_id}' not found")
                return 200, {"run": run}
            if action != "search" or method != "POST":
                return 404, mlflow_error("ENDPOINT_NOT_FOUND", f"no {method} {action}")
            wanted = re.fullmatch(
                r"\s*tags\.mlflow\.parentRunId\s*=\s*'([^']*)'\s*", body.get("filter") or ""
            )
            if wanted is None:
                return 400, mlflow_error(
                    "INVALID_PARAMETER_VALUE", "the fake answers parentRunId filters only"
                )
            experiments = set(body.get("experiment_ids") or [])
            children = [
                run
                for run in (
                    self._mlflow_run(r.run_id) for r in fake.runs.values() if r.parent == wanted.group(1)
                )
                if run is not None and run["info"]["experiment_id"] in experiments
            ]
            start = int(body.get("page_token") or 0)
            size = min(int(body.get("max_results") or 1000), fake.page_size)
            page: dict[str, Any] = {"runs": children[start : start + size]}
            if start + size < len(children):
                page["next_page_token"] = str(start + size)
            return 200, page

        def _mlflow_run(self, run_id: str) -> dict[str, Any] | None:
            """A run as MLflow returns it: info (experiment, name, status), data (metrics, tags)."""
            root, parent, name = run_id, None, run_id
            if run_id in fake.runs:
                parent, name = fake.runs[run_id].parent, fake.runs[run_id].display_name
                root = parent
                while root in fake.runs:
                    root = fake.runs[root].parent
            if root not in fake.jobs:
                return None
            experiment = f"exp-{fake.jobs[root]['properties'].get('experimentName', 'x')}"
            tags = [{"key": "mlflow.runName", "value": name}]
            if parent:
                tags.append({"key": "mlflow.parentRunId", "value": parent})
            metrics = [
                {"key": key, "value": value, "timestamp": 1767225600000, "step": 0}
                for key, value in fake.metrics.get(run_id, {}).items()
            ]
            return {
                "info": {
                    "run_id": run_id,
                    "run_uuid": run_id,
                    "run_name": name,
                    "experiment_id": experiment,
                    "status": "FINISHED",
                    "lifecycle_stage": "active",
                },
                "data": {"metrics": metrics, "params": [], "tags": tags},
            }

        def _run(self, run: Run) -> dict[str, Any]:
            return {
                "runId": run.run_id,
                "parentRunId": run.parent,
                "displayName": run.display_name,
                "status": run.timeline[0],
            }

        def _cancel(self, name: str) -> tuple[int, Any]:
            if name not in fake.jobs:
                return 404, error_body(404, f"job {name} not found")
            fake.cancelled.append(name)
            fake.timelines[name] = ["CancelRequested"]

            def finished(succeeded: bool) -> None:
                if succeeded:
                    fake.timelines[name] = ["Canceled"]

            # Asynchronous, as in Azure: the poller follows Location until it stops answering 202.
            return self._accepted(f"cancel-{name}", finished)

        def _job(self, method: str, name: str, body: Any) -> tuple[int, Any]:
            if method == "GET":
                if name in fake.jobs:
                    properties = fake.jobs[name]["properties"]
                    properties["status"] = fake.status(name, properties["status"])
                    return 200, fake.jobs[name]
                if name in fake.runs:
                    # A pipeline child: MFE answers without properties; the SDK reads run history.
                    return 200, {"id": f"{self.path.split('?')[0]}", "name": name, "properties": None}
                return 404, error_body(404, f"job {name} not found")
            if method == "PUT":
                if name in fake.created_meanwhile:
                    # Another client created the same name between our read and our PUT.
                    fake.created_meanwhile.discard(name)
                    fake.add_job(workspace_path_of(self.path), name, body["properties"]["jobType"], "Running")
                if name in fake.jobs:
                    return self._job_update(name, body["properties"])
                refusal = self._check_pipeline(body["properties"]) or self._check_finetuning(
                    body["properties"]
                )
                if refusal:
                    return 400, error_body(400, refusal)
                properties = dict(body["properties"])
                properties["status"] = fake.status(name, "Running")
                properties["services"] = {"Studio": {"endpoint": f"https://ml.azure.com/runs/{name}"}}
                resource = {"id": f"{self.path.split('?')[0]}", "name": name, "properties": properties}
                fake.jobs[name] = resource
                fake.job_bodies[name] = body["properties"]
                fake.created += 1
                return 201, resource
            return 405, None

        def _job_update(self, name: str, sent: dict[str, Any]) -> tuple[int, Any]:
            """A PUT of a job name that exists updates it when only the mutable properties differ,
            and is refused otherwise: the service answers UserError "A job with this name already
            exists ..." with inner error Immutable / JobPropertyImmutable, not 409 (public reports:
            MicrosoftDocs/azure-docs#122250, Azure/azure-sdk-for-python#47389)."""
            stored = fake.job_bodies.get(name)
            resource = fake.jobs[name]

            def fixed(properties: dict[str, Any]) -> dict[str, Any]:
                return {k: v for k, v in properties.items() if k not in JOB_MUTABLE_PROPERTIES}

            if stored is None or fixed(stored) != fixed(sent):
                return 400, {"error": {**error_body(400, JOB_EXISTS)["error"], "innerError": JOB_IMMUTABLE}}
            for key in JOB_MUTABLE_PROPERTIES:
                if key in sent:
                    resource["properties"][key] = sent[key]
            return 200, resource

        def _check_finetuning(self, properties: dict[str, Any]) -> str | None:
            """Serverless fine-tuning of a non-Microsoft model is billed through its marketplace
            subscription (Microsoft Learn, "Fine-tune models using serverless APIs", "Cost for
            non-Microsoft models"), so without a Subscribed one the job cannot run. Whether the
            service refuses the submission or fails the job, and with which error, is not
            documented: the fake refuses the submission, with an error text of its own."""
            if properties.get("jobType") != "FineTuning":
                return None
            model = properties["fineTuningDetails"]["model"]["uri"]
            if fake.subscribed(model):
                return None
            return f"No Subscribed marketplace subscription in this workspace for {model}"

        def _check_pipeline(self, properties: dict[str, Any]) -> str | None:
            """The service's validation of registry component nodes against the component's inputs."""
            if properties.get("jobType") != "Pipeline":
                return None
            for node_name, node in properties.get("jobs", {}).items():
                found = re.search(
                    r"^azureml://registries/([^/]+)/components/([^/]+)/versions/([^/]+)$",
                    node.get("componentId", ""),
                )
                if not found:
                    continue
                registry, name, version = found.groups()
                component = pinned_component(name, version) if registry == "azureml" else None
                if component is None:
                    return f"Component {name}:{version} not found in registry {registry}"
                sent = node.get("inputs", {})
                for key, given in sent.items():
                    spec = component.inputs.get(key)
                    if spec is None:
                        return f"{node_name}: component {name}:{version} has no input {key!r}"
                    kind = given.get("job_input_type")
                    if spec.is_uri != (kind != "literal"):
                        return f"{node_name}: input {key!r} is {spec.type}, got a {kind} input"
                    value = given.get("value")
                    if spec.enum and value not in spec.enum:
                        return f"{node_name}: input {key!r} must be one of {list(spec.enum)}, got {value!r}"
                    if spec.type == "integer" and not re.fullmatch(r"-?\d+", str(value)):
                        return f"{node_name}: input {key!r} must be an integer, got {value!r}"
                missing = sorted(component.required - set(sent))
                if missing:
                    return f"{node_name}: required inputs missing: {', '.join(missing)}"
            return None

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_HEAD(self) -> None:
            self._handle("HEAD")

    return Handler
