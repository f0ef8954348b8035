"""A loopback HTTPS fake of Entra ID (ADFS-style authority) and the Azure ML ARM endpoints.

Real MLClient and real DefaultAzureCredential talk to it; every request is recorded, and faults
can be queued per (method, path suffix) to exercise retries and error handling.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import trustme


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt_for(audience: str) -> str:
    # Pipeline submission decodes the token (without verifying it) and checks its audience.
    return f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'aud': audience, 'exp': 4102444800})}.c2ln"


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    after_success: bool = False  # apply the request first, then answer with the fault


class FakeAzure:
    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.requests: list[Recorded] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.created = 0  # successful job creations
        # Scripted status per job: the head is the current status; `tick()` (time passing, driven
        # by the client's injected sleep) moves every timeline on by one; the last entry stays.
        self.timelines: dict[str, list[str]] = {}
        # Pipeline steps (run history children) per parent job: step name -> its timeline.
        self.steps: dict[str, dict[str, list[str]]] = {}
        self.errors: dict[str, str] = {}  # run history error message of failed jobs
        self.cancelled: list[str] = []
        # The workspace storage account, served path-style (https://127.0.0.1:port/<account>/...)
        # as Azurite does: the SAS URL handed out for code uploads points here.
        self.storage_account = "stmlpdevnlpresearch"
        self.blobs: dict[str, bytes] = {}  # "<container>/<blob name>" -> content
        self.blob_metadata: dict[str, dict[str, str]] = {}
        self.codes: dict[str, dict[str, Any]] = {}  # "<name>/<version>" -> code version resource
        self.online: dict[str, dict[str, Any]] = {}  # "<endpoint>[/deployments/<name>]" -> resource
        self.models: dict[str, dict[str, str]] = {}  # "<name>/<version>" -> tags of a workspace model
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
            for fault in self.faults:
                if fault.method == method and re.search(fault.pattern, path):
                    self.faults.remove(fault)
                    return fault
        return None

    def tick(self) -> None:
        timelines = [*self.timelines.values(), *(t for steps in self.steps.values() for t in steps.values())]
        for timeline in timelines:
            if len(timeline) > 1:
                timeline.pop(0)

    def status(self, name: str, default: str) -> str:
        timeline = self.timelines.get(name)
        return timeline[0] if timeline else default

    def add_job(self, workspace_path: str, name: str, job_type: str, status: str) -> None:
        """A job that exists before the test runs, as another client would have created it."""
        self.jobs[name] = {
            "id": f"{workspace_path}/jobs/{name}",
            "name": name,
            "properties": {"jobType": job_type, "status": status, "experimentName": "x", "jobs": {}},
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
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
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
            fake.requests.append(Recorded(method, url.path, body))
            fault = fake.take_fault(method, url.path)
            if fault and not fault.after_success:
                self._reply(
                    fault.status,
                    {"error": {"code": "Fault", "message": f"injected {fault.status}"}},
                    fault.headers,
                )
                return
            self.headers_out: dict[str, str] = {}
            status, answer = self._route(method, url.path, body)
            if fault:
                status, answer = fault.status, {"error": {"code": "Fault", "message": "injected after apply"}}
            self._reply(status, answer, self.headers_out)

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
            history = re.search(r"^/history/v1\.0/.*/workspaces/[^/]+/runs/([^/]+)/(children|details)$", path)
            if history and method == "GET":
                return self._history(history.group(1), history.group(2))
            online = re.search(r"/workspaces/[^/]+/onlineEndpoints/([^/]+(/deployments/[^/]+)?)$", path)
            if online:
                return self._online(method, path, online.group(1), body)
            model = re.search(r"/workspaces/[^/]+/models/([^/]+)/versions/([^/]+)$", path)
            if model and method == "GET":
                return self._model(path, model.group(1), model.group(2))
            code = re.search(r"/workspaces/[^/]+/codes/([^/]+)/versions(.*)$", path)
            if code:
                return self._code(method, path, code.group(1), code.group(2), body)
            cancel = re.search(r"/workspaces/([^/]+)/jobs/([^/]+)/cancel$", path)
            if cancel and method == "POST":
                return self._cancel(cancel.group(2))
            if path.startswith("/operations/") and method == "GET":
                return 200, {"status": "Succeeded"}
            if "/registrymanagement/" in path:
                return 403, {"error": {"code": "AuthorizationFailed", "message": "no registry access"}}
            job = re.search(r"/workspaces/([^/]+)/jobs/([^/]+)$", path)
            if job:
                return self._job(method, job.group(1), job.group(2), body)
            compute = re.search(r"/computes/([^/]+)$", path)
            if compute and method == "GET":
                return 200, {
                    "id": path,
                    "name": compute.group(1),
                    "location": "westeurope",
                    "properties": {
                        "computeType": "AmlCompute",
                        "properties": {
                            "vmSize": "Standard_NC96ads_A100_v4",
                            "scaleSettings": {"maxNodeCount": 2, "minNodeCount": 0},
                        },
                    },
                }
            if re.search(r"/workspaces/[^/]+/jobs$", path):
                return 200, {"value": list(fake.jobs.values())}
            if re.search(r"/workspaces/[^/]+$", path) and method == "GET":
                return 200, {
                    "id": path,
                    "name": path.rsplit("/", 1)[1],
                    "location": "westeurope",
                    "properties": {"discoveryUrl": fake.url + "/discovery"},
                }
            return 404, {"error": {"code": "ResourceNotFound", "message": f"no route {method} {path}"}}

        def _model(self, path: str, name: str, version: str) -> tuple[int, Any]:
            tags = fake.models.get(f"{name}/{version}")
            if tags is None:
                return 404, {
                    "error": {"code": "UserError", "message": f"Model container {name}:{version} not found"}
                }
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
            return 404, {"error": {"code": "UserError", "message": f"code {name}{rest} not found"}}

        def _online(self, method: str, path: str, key: str, body: Any) -> tuple[int, Any]:
            if method == "GET":
                if key in fake.online:
                    return 200, fake.online[key]
                return 404, {"error": {"code": "UserError", "message": f"{key} not found"}}
            if method != "PUT":
                return 405, None
            properties = {**body["properties"], "provisioningState": "Succeeded"}
            if "/deployments/" in key:
                properties["scaleSettings"] = {"scaleType": "Default"}  # the SDK needs it back
            else:
                properties["scoringUri"] = f"https://{key}.westeurope.inference.ml.azure.com/score"
            resource = {**body, "id": path, "name": key.rsplit("/", 1)[-1], "properties": properties}
            fake.online[key] = resource
            # Long-running, as in Azure: the poller follows Azure-AsyncOperation, then GETs the resource.
            self.headers_out = {
                "Azure-AsyncOperation": f"{fake.url}/operations/{key.replace('/', '-')}",
                "Retry-After": "0.01",
            }
            return 201, resource

        def _history(self, run: str, what: str) -> tuple[int, Any]:
            if what == "details":
                status = fake.jobs.get(run, {}).get("properties", {}).get("status", "Unknown")
                details: dict[str, Any] = {"runId": run, "status": status}
                if run in fake.errors:
                    details["error"] = {"error": {"code": "UserError", "message": fake.errors[run]}}
                return 200, details
            runs = [
                {"runId": step, "displayName": step, "status": timeline[0]}
                for step, timeline in fake.steps.get(run, {}).items()
            ]
            return 200, {"value": runs}

        def _cancel(self, name: str) -> tuple[int, Any]:
            if name not in fake.jobs:
                return 404, {"error": {"code": "UserError", "message": f"job {name} not found"}}
            fake.cancelled.append(name)
            fake.timelines[name] = ["CancelRequested", "Canceled"]
            # Asynchronous, as in Azure: the poller follows Location until it answers 200.
            self.headers_out = {"Location": f"{fake.url}/operations/cancel-{name}", "Retry-After": "0"}
            return 202, None

        def _job(self, method: str, workspace: str, name: str, body: Any) -> tuple[int, Any]:
            if method == "GET":
                if name in fake.jobs:
                    properties = fake.jobs[name]["properties"]
                    properties["status"] = fake.status(name, properties["status"])
                    return 200, fake.jobs[name]
                return 404, {"error": {"code": "UserError", "message": f"job {name} not found"}}
            if method == "PUT":
                if name in fake.jobs:
                    return 409, {"error": {"code": "Conflict", "message": f"job {name} exists"}}
                properties = dict(body["properties"])
                properties["status"] = fake.status(name, "Running")
                properties["services"] = {"Studio": {"endpoint": f"https://ml.azure.com/runs/{name}"}}
                resource = {"id": f"{self.path.split('?')[0]}", "name": name, "properties": properties}
                fake.jobs[name] = resource
                fake.created += 1
                return 201, resource
            return 405, None

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_HEAD(self) -> None:
            self._handle("HEAD")

    return Handler
