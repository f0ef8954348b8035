"""Supervised fine-tuning with TRL, started by Azure ML once per GPU (no torchrun).

Azure ML's PyTorch distribution sets RANK, LOCAL_RANK, WORLD_SIZE and MASTER_ADDR/PORT, which
the Hugging Face Trainer picks up; this script only parses arguments and wires TRL together.
The heavy imports live in `train()` so `python train.py --help` works without a GPU image.

What it writes to `--output-dir` (the job's `type: mlflow_model` output) is an MLflow model that
a managed online deployment serves without a scoring script: the LoRA adapter merged into the
base weights (peft `merge_and_unload`), saved with the tokenizer by `mlflow.transformers.save_model`
as a `text-generation` pipeline that takes a user message as a string and wraps it in the
tokenizer's chat template (MLflow's `prompt_template`), with generation parameters in its
signature. An adapter folder alone is not deployable that way (Microsoft Learn, "Deploy MLflow
models to online endpoints": no-code deployment needs an MLflow model). Trainer checkpoints go
to a local folder that is not uploaded.

Not MLflow's chat task (`task="llm/v1/chat"`): Azure ML's no-code scoring script builds a sample
from the signature when it loads, and for a transformers model whose first input is a named
column of another type than string, number or boolean (the chat signature's `messages`, an
array of objects) it reads an unassigned variable (`create_other_sample_io`,
Azure/azureml-assets assets/inference/environments/mlflow-py312-inference/context/
mlflow_score_script.py), so such a deployment would not start. A string-in, string-out
signature is the case that script handles ("a transformers model taking string input").
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

# The jobs CLI passes each secret as NAME_KEYVAULT_SECRET=<secret URI>, never its value.
SECRET_REFERENCE_SUFFIX = "_KEYVAULT_SECRET"
PIPELINE_TASK = "text-generation"
# Generation parameters a request may set (`params`, or `parameters` in `input_data`), with their
# defaults; the model's signature declares them, and MLflow ignores parameters it does not declare.
GENERATION_PARAMS: dict[str, Any] = {
    "max_new_tokens": 256,
    "temperature": 0.7,
    "top_p": 0.9,
    "do_sample": True,
}
# What the chat template is rendered around, then replaced by MLflow's `{prompt}` field.
_PROMPT_MARKER = "PROMPT_MARKER_7f3a9c"
# Trainer checkpoints: local to the node, not part of the job's output (only the merged model is).
CHECKPOINT_DIR = "checkpoints"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", required=True, help="Hugging Face model id or local path")
    parser.add_argument("--train-data", required=True, help="JSONL file with a `messages` column")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--per-device-batch-size", type=int, default=2)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--max-seq-length", type=int, default=2048)
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.learning_rate <= 0 or args.lora_r <= 0:
        parser.error("epochs must be >= 1, learning rate > 0 and LoRA rank > 0")
    return args


def resolve_secrets(environ: MutableMapping[str, str], fetch: Callable[[str], str]) -> list[str]:
    """Set NAME from every NAME_KEYVAULT_SECRET reference (e.g. HF_TOKEN, which the Hugging Face
    libraries read); the names set. The value lives only in this process's environment."""
    resolved = []
    for key in sorted(environ):
        if key.endswith(SECRET_REFERENCE_SUFFIX) and environ[key]:
            name = key.removesuffix(SECRET_REFERENCE_SUFFIX)
            environ[name] = fetch(environ[key])
            resolved.append(name)
    return resolved


def key_vault_fetch(uri: str) -> str:  # pragma: no cover - needs Key Vault and a managed identity
    """Read a secret by URI (https://<vault>.vault.azure.net/secrets/<name>) with the compute's
    managed identity (the job runs with identity: managed)."""
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient  # type: ignore[import-untyped]  # ships no py.typed

    vault, _, name = uri.partition("/secrets/")
    client = SecretClient(vault_url=vault, credential=ManagedIdentityCredential())
    value = client.get_secret(name.split("/")[0]).value
    return str(value or "")


def chat_prompt_template(tokenizer: Any) -> str:
    """The tokenizer's chat template around one user message, as an MLflow `prompt_template`: the
    message becomes `{prompt}`, and braces the template itself writes are escaped (MLflow fills
    the field with `str.format` and refuses any other field). A leading BOS token is left out: the
    pipeline's tokenizer adds it when it encodes the prompt (Hugging Face, "Chat templates":
    rendered templates already hold the special tokens)."""
    rendered = str(
        tokenizer.apply_chat_template(
            [{"role": "user", "content": _PROMPT_MARKER}], tokenize=False, add_generation_prompt=True
        )
    )
    if rendered.count(_PROMPT_MARKER) != 1:
        raise ValueError("the tokenizer's chat template does not render the user message once")
    bos = getattr(tokenizer, "bos_token", None)
    if bos and rendered.startswith(bos):
        rendered = rendered.removeprefix(bos)
    return rendered.replace("{", "{{").replace("}", "}}").replace(_PROMPT_MARKER, "{prompt}")


def string_signature() -> Any:  # pragma: no cover - needs mlflow (the cluster image)
    """String in, string out, with GENERATION_PARAMS and their defaults. Written out, not inferred:
    mlflow's `infer_signature` of a plain string gives an `Any` column, not a string one."""
    from mlflow.models import ModelSignature  # type: ignore[import-not-found]  # only in the cluster image
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema  # type: ignore[import-not-found]

    dtypes = {bool: "boolean", int: "long", float: "double", str: "string"}
    params = [ParamSpec(name, dtypes[type(value)], value) for name, value in GENERATION_PARAMS.items()]
    return ModelSignature(
        inputs=Schema([ColSpec("string")]), outputs=Schema([ColSpec("string")]), params=ParamSchema(params)
    )


def save_mlflow_model(
    model: Any,
    tokenizer: Any,
    path: str,
    save: Callable[..., None],
    pipeline: Callable[..., Any],
    signature: Any,
) -> None:
    """The fine-tuned model as an MLflow model at `path`: the LoRA adapter merged into the base
    weights (a full model needs no peft at serving time), in a text-generation pipeline with its
    tokenizer, a string-in, string-out `signature` with GENERATION_PARAMS, and the chat template.

    `save` is `mlflow.transformers.save_model`, which accepts an existing empty directory (the
    job's mounted output) and refuses a non-empty one; `pipeline` is `transformers.pipeline`.
    Passing the pipeline built here, not the components, spares MLflow asking the Hugging Face Hub
    which task the (gated) base model has."""
    merged = model.merge_and_unload()
    generator = pipeline(task=PIPELINE_TASK, model=merged, tokenizer=tokenizer)
    save(
        transformers_model=generator,
        path=path,
        signature=signature,
        prompt_template=chat_prompt_template(tokenizer),
    )


def train(args: argparse.Namespace) -> None:  # pragma: no cover - runs on the cluster image
    import mlflow.transformers  # type: ignore[import-not-found]  # only in the cluster image
    from datasets import load_dataset  # type: ignore[import-not-found]  # only in the cluster image
    from peft import LoraConfig  # type: ignore[import-not-found]  # only in the cluster image
    from transformers import AutoTokenizer, pipeline  # type: ignore[import-not-found]  # only in the cluster image
    from trl import SFTConfig, SFTTrainer  # type: ignore[import-not-found]  # only in the cluster image

    dataset = load_dataset("json", data_files=args.train_data, split="train")
    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    config = SFTConfig(
        output_dir=CHECKPOINT_DIR,
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.per_device_batch_size,
        max_length=args.max_seq_length,
        bf16=True,
        logging_steps=10,
        save_strategy="epoch",
        # Azure ML sets MLFLOW_TRACKING_URI in jobs; azureml-mlflow (in the environment) logs there.
        report_to=["mlflow"] if os.environ.get("MLFLOW_TRACKING_URI") else [],
    )
    lora = LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.05, task_type="CAUSAL_LM")
    trainer = SFTTrainer(
        model=args.base_model,
        args=config,
        train_dataset=dataset,
        peft_config=lora,
        processing_class=tokenizer,
    )
    trainer.train()
    # One process writes the output; the others (one per GPU) are done.
    if trainer.is_world_process_zero():
        save_mlflow_model(
            trainer.model,
            tokenizer,
            args.output_dir,
            mlflow.transformers.save_model,
            pipeline,
            string_signature(),
        )


if __name__ == "__main__":
    arguments = parse_args()
    resolve_secrets(os.environ, key_vault_fetch)
    train(arguments)
