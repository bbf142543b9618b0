"""Training inside the child: build the student's model, train it with the rubric's recipe, return test logits.

This runs in the student's process, so everything it reports is untrusted.
It never receives the test labels: the trusted side scores the logits it
returns. Seeded, single-threaded and deterministic, so that on the CPU the
same submission and recipe give the same logits every time.
"""

from __future__ import annotations

import os
import random
import sys
import time

import numpy as np
import torch

PROGRESS_EVERY_S = 0.5
EVAL_BATCH = 256
OPTIMIZERS = ("sgd", "adam", "adamw")


class CheckpointMismatch(ValueError):
    """The checkpoint's tensors do not fit the model's parameters and buffers."""


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _deterministic() -> None:
    # The public switch also imports torch._inductor (3 s) to set a flag only torch.compile reads;
    # go through it only when the student's code has already loaded the compiler.
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)


def _device(policy: str) -> torch.device:
    if policy == "auto":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        if torch.cuda.is_available():
            return torch.device("cuda")
    return torch.device("cpu")


def _batches(images, mean, std, device):
    """Scale bytes to [0, 1] and standardise, on the fly, so only one batch is ever in float."""
    mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    scale = 255.0 if images.dtype == np.uint8 else 1.0

    def prepare(index) -> torch.Tensor:
        batch = torch.from_numpy(images[index]).to(device=device, dtype=torch.float32) / scale
        return (batch - mean_t) / std_t

    return prepare


def _logits(model, batch: torch.Tensor, classes: int | None) -> torch.Tensor:
    output = model(batch)
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"forward returned {type(output).__name__}, not a tensor of logits")
    if classes and tuple(output.shape) != (batch.shape[0], classes):
        raise ValueError(f"forward returned shape {tuple(output.shape)} for a batch of {batch.shape[0]} images; "
                         f"expected ({batch.shape[0]}, {classes}), one logit per class")
    return output


def _optimizer(parameters, recipe: dict):
    name = recipe["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=recipe["lr"], momentum=recipe["momentum"], weight_decay=recipe["weight_decay"])
    if name == "adam":
        return torch.optim.Adam(parameters, lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    raise ValueError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")


def _load_checkpoint(model: torch.nn.Module, path: str) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)  # never unpickles code
    for wrapper in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointMismatch("the checkpoint is not a state_dict; save it with torch.save(model.state_dict(), path)")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    resized = sorted(f"{k} (checkpoint {tuple(state[k].shape)}, model {tuple(expected[k].shape)})"
                     for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    problems = [f"{label}: {', '.join(keys[:12])}{' ...' if len(keys) > 12 else ''}"
                for label, keys in (("missing from the checkpoint", missing), ("not in the model", unexpected),
                                    ("of another shape", resized)) if keys]
    if problems:
        raise CheckpointMismatch("the checkpoint does not fit MyModel(): keys " + "; keys ".join(problems))
    model.load_state_dict(state)


def train_and_predict(request: dict, inputs: dict, namespace, progress) -> dict:
    """namespace(module) -> that student module's globals; progress(dict) reports to the trusted side."""
    recipe = request["recipe"]
    _deterministic()
    device = _device(request.get("device", "cpu"))
    _seed(recipe["seed"])
    model_spec = request["model"]
    model = eval(model_spec["expr"], namespace(model_spec["module"]))  # expressions come from the rubric
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{model_spec['expr']} returned a {type(model).__name__}, not a torch.nn.Module")
    parameters = sum(p.numel() for p in model.parameters())
    reply = {"parameters": parameters, "device": device.type, "losses": []}
    if request.get("max_params") is not None and parameters > request["max_params"]:
        return reply
    if request.get("checkpoint"):
        _load_checkpoint(model, request["checkpoint"])
    model = model.to(device)
    mean, std = inputs["mean"], inputs["std"]
    if recipe.get("epochs", 0) > 0:
        reply["losses"] = _train(model, inputs, recipe, mean, std, device, request, namespace, progress)
    reply["logits"] = _predict(model, inputs["test_images"], mean, std, device, request.get("classes"))
    return reply


def _train(model, inputs, recipe, mean, std, device, request, namespace, progress) -> list[float]:
    images, labels = inputs["train_images"], torch.from_numpy(np.asarray(inputs["train_labels"], dtype=np.int64))
    loss_spec = request.get("loss")
    if loss_spec:
        names = {**namespace(loss_spec["module"]), **loss_spec.get("names", {})}
        loss_fn = eval(loss_spec["expr"], names)
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    if isinstance(loss_fn, torch.nn.Module):
        loss_fn = loss_fn.to(device)
    optimizer = _optimizer(model.parameters(), recipe)
    prepare = _batches(images, mean, std, device)
    order = torch.Generator().manual_seed(recipe["seed"])
    size, epochs, count = recipe["batch_size"], recipe["epochs"], len(labels)
    batches = (count + size - 1) // size
    losses, last_report = [], 0.0
    for epoch in range(epochs):
        model.train()
        permutation = torch.randperm(count, generator=order)
        total, seen = 0.0, 0
        for number in range(batches):
            index = permutation[number * size:(number + 1) * size]
            if len(index) < 2 and seen:  # BatchNorm cannot train on a batch of one
                continue
            target = labels[index].to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(_logits(model, prepare(index.numpy()), request.get("classes")), target)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise TypeError(f"the loss returned {type(loss).__name__}, not a scalar tensor")
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
            seen += len(index)
            now = time.monotonic()
            if now - last_report >= PROGRESS_EVERY_S or number == batches - 1:
                last_report = now
                progress({"epoch": epoch + 1, "epochs": epochs, "batch": number + 1, "batches": batches,
                          "loss": total / max(seen, 1)})
        losses.append(total / max(seen, 1))
    return losses


def _predict(model, images, mean, std, device, classes) -> np.ndarray:
    prepare = _batches(images, mean, std, device)
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), EVAL_BATCH):
            logits = _logits(model, prepare(np.arange(start, min(start + EVAL_BATCH, len(images)))), classes)
            outputs.append(logits.detach().to("cpu", torch.float32).numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), np.float32)
