"""The bundled submissions show what submissions/README.md says they show.

Each one is imported here directly (it is our own example code) and compared
with the reference on probes chosen to expose every classic mistake.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from reference import conv_matrix, focal_loss, linear_region, mlp, softmax_classifier, theory

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"

# Functions each submission must get wrong; every other function it has must agree.
MISSING_ALL_BUT_CONV_AND_SOFTMAX = {"linear_region", "mlp_forward", "mlp_backward", "reweight", "FocalLoss", "MyModel"}
EXPECTED_WRONG = {
    "ada_lovelace": set(),
    "ben_okafor": set(),
    "carl_flipped_kernel": {"conv_as_matrix", "answers.conv_matrix"},
    "dana_column_major": {"conv_as_matrix"},
    "eve_bias_is_output": {"linear_region", "answers.linear_region"},
    "finn_all_units_active": {"linear_region"},
    # Its softmax_gradients is right but calls that softmax: nan at logits near 1000 too.
    "gina_unstable_softmax": {"softmax", "softmax_gradients"},
    "hugo_gradient_sum": {"softmax_gradients"},
    "iris_tanh_preactivation": {"mlp_backward"},
    "jack_weighted_pt": {"FocalLoss"},
    "kate_weights_sum_to_one": {"reweight"},
    "leo_weight_normalised_mean": {"FocalLoss"},
    "mia_missing_files": MISSING_ALL_BUT_CONV_AND_SOFTMAX | {"answers.conv_matrix", "answers.linear_region"},
    "noah_syntax_error": {"mlp_forward", "mlp_backward"},
}
MODULE_OF = {
    "conv_as_matrix": "conv_matrix",
    "linear_region": "linear_region",
    "softmax": "softmax_classifier",
    "cross_entropy": "softmax_classifier",
    "softmax_gradients": "softmax_classifier",
    "mlp_forward": "mlp",
    "mlp_backward": "mlp",
    "reweight": "focal_loss",
    "FocalLoss": "focal_loss",
    "MyModel": "my_model",
}
PUBLISHED_NETWORK = (
    [np.array([[1.5], [0.5]]), np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])],
    [np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([-1.0])],
)


def close(student, expected) -> bool:
    student = np.asarray(student, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    return student.shape == expected.shape and np.allclose(student, expected, rtol=1e-4, atol=1e-5 * scale)


def conv_probes():
    rng = np.random.RandomState(0)
    for kshape, shape, stride, padding in [((3, 3), (3, 3), 4, 2), ((3, 3), (5, 5), 1, 1), ((2, 3), (4, 6), 2, 0), ((1, 2), (3, 2), 1, 1)]:
        args = (rng.randn(*kshape), shape, stride, padding)
        yield args, lambda out, args=args: close(out, conv_matrix.conv_as_matrix(*args))


def network(rng, widths):
    weights = [rng.randn(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
    return weights, [rng.randn(w) for w in widths[1:]]


def linear_region_probes():
    rng = np.random.RandomState(1)
    cases = [(*PUBLISHED_NETWORK, np.array([x])) for x in (2.0, -1.0, 1.0)]
    cases += [(*network(rng, widths), rng.randn(widths[0])) for widths in ([3, 5, 4, 2], [2, 6, 1], [4, 3, 3, 3, 2])]
    for args in cases:
        W, b = linear_region.linear_region(*args)
        yield args, lambda out, W=W, b=b: len(out) == 2 and close(out[0], W) and close(out[1], b)


def softmax_probes():
    rng = np.random.RandomState(2)
    for logits in (rng.randn(4, 3), 5 * rng.randn(2, 6), 800 + rng.randn(3, 4), np.array([[710.0, 0.0]])):
        yield (logits,), lambda out, logits=logits: close(out, softmax_classifier.softmax(logits))


def cross_entropy_probes():
    rng = np.random.RandomState(3)
    for n, c in [(4, 3), (1, 5), (7, 2)]:
        args = (softmax_classifier.softmax(rng.randn(n, c)), rng.randint(0, c, n))
        yield args, lambda out, args=args: close(out, softmax_classifier.cross_entropy(*args))


def softmax_gradient_probes():
    rng = np.random.RandomState(4)
    cases = [(rng.randn(n, d), rng.randn(d, c), rng.randn(c), rng.randint(0, c, n)) for n, d, c in [(5, 3, 4), (8, 2, 3)]]
    # As graded: one row whose logit for class 0 is 900, beside tame ones.
    x, W = rng.randn(4, 3), rng.randn(3, 4)
    x[1] = 900.0 * W[:, 0] / (W[:, 0] @ W[:, 0])
    cases.append((x, W, rng.randn(4), rng.randint(0, 4, 4)))
    for args in cases:
        dW, db = softmax_classifier.softmax_gradients(*args)
        yield args, lambda out, dW=dW, db=db: len(out) == 2 and close(out[0], dW) and close(out[1], db)


def mlp_params(rng, nx, nh, ny):
    return {"Wh": rng.randn(nh, nx), "bh": rng.randn(nh), "Wy": rng.randn(ny, nh), "by": rng.randn(ny)}


def mlp_forward_probes():
    rng = np.random.RandomState(5)
    for n, nx, nh, ny, scale in [(4, 3, 5, 2, 1.0), (6, 2, 4, 3, 1.0), (5, 2, 3, 3, 400.0)]:
        params = mlp_params(rng, nx, nh, ny)
        params["Wy"] *= scale  # as graded: output logits up to about 1000
        args = (params, rng.randn(n, nx))
        yield args, lambda out, args=args: close(out[0], mlp.mlp_forward(*args)[0])


def mlp_backward_probes(student_forward):
    rng = np.random.RandomState(6)
    for n, nx, nh, ny, scale in [(4, 3, 5, 2, 1.0), (6, 2, 4, 3, 1.0), (5, 2, 3, 3, 400.0)]:
        params, X = mlp_params(rng, nx, nh, ny), rng.randn(n, nx)
        params["Wy"] *= scale
        Y = np.eye(ny)[rng.randint(0, ny, n)]
        expected = mlp.mlp_backward(params, mlp.mlp_forward(params, X)[1], Y)
        args = (params, student_forward(params, X)[1], Y)
        yield args, lambda out, e=expected: set(out) == set(e) and all(close(out[k], e[k]) for k in e)


def reweight_probes():
    for counts, beta in [([645, 387, 232, 139], 0.9999), ([50, 10, 3], 0.99), ([7, 7, 1, 2, 90], 0.9)]:
        expected = focal_loss.reweight(counts, beta)
        yield (counts, beta), lambda out, e=expected: isinstance(out, torch.Tensor) and close(out.detach(), e)


def focal_probes():
    rng = np.random.RandomState(7)
    # The contract's dtypes: float32 logits, as in training, and float32 weights.
    logits = torch.from_numpy(rng.randn(10, 4)).float()
    targets = torch.from_numpy(rng.randint(0, 4, 10))
    weight = focal_loss.reweight([900, 300, 40, 5], 0.999).float()
    for w, gamma in [(None, 0.0), (None, 2.0), (weight, 0.0), (weight, 2.0), (weight, 0.5)]:
        expected = focal_loss.FocalLoss(w, gamma)(logits, targets)
        yield (w, gamma, logits, targets), lambda out, e=expected: out.ndim == 0 and close(out.detach(), e)


def load_module(folder: Path, name: str):
    unique = f"bundled_{folder.name}_{name}"
    spec = importlib.util.spec_from_file_location(unique, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return module


def function_verdicts(folder: Path) -> dict[str, bool]:
    """function name -> whether it agrees with the reference on every probe (False if absent)."""
    symbols = {}
    for function, module_name in MODULE_OF.items():
        try:
            symbols[function] = getattr(load_module(folder, module_name), function)
        except (FileNotFoundError, SyntaxError, AttributeError):
            symbols[function] = None

    def agrees(function, probes, call=None):
        if symbols[function] is None:
            return False
        call = call or symbols[function]
        with np.errstate(all="ignore"):
            return all(check(call(*args)) for args, check in probes)

    def focal_call(w, gamma, logits, targets):
        return symbols["FocalLoss"](weight=w, gamma=gamma)(logits, targets)

    def model_agrees():
        if symbols["MyModel"] is None:
            return False
        torch.manual_seed(0)
        return symbols["MyModel"]()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)

    return {
        "conv_as_matrix": agrees("conv_as_matrix", conv_probes()),
        "linear_region": agrees("linear_region", linear_region_probes()),
        "softmax": agrees("softmax", softmax_probes()),
        "cross_entropy": agrees("cross_entropy", cross_entropy_probes()),
        "softmax_gradients": agrees("softmax_gradients", softmax_gradient_probes()),
        "mlp_forward": agrees("mlp_forward", mlp_forward_probes()),
        "mlp_backward": symbols["mlp_forward"] is not None
        and agrees("mlp_backward", mlp_backward_probes(symbols["mlp_forward"])),
        "reweight": agrees("reweight", reweight_probes()),
        "FocalLoss": agrees("FocalLoss", focal_probes(), focal_call),
        "MyModel": model_agrees(),
    }


def answer_verdicts(folder: Path) -> dict[str, bool]:
    path = folder / "answers.yaml"
    if not path.exists():
        return {"answers.conv_matrix": False, "answers.linear_region": False}
    answers = yaml.safe_load(path.read_text())
    expected_grid = theory.conv_matrix_symbolic((3, 3), (3, 3), stride=4, padding=2)
    grid = theory.read_conv_answer(answers["conv_matrix"]["A"], shape=(4, 9))
    table = theory.linear_region_table(*PUBLISHED_NETWORK, [row["x0"] for row in answers["linear_region"]])
    region_right = all(
        close(np.ravel(row["W"]), np.ravel(ref["W"])) and close(np.ravel(row["b"]), np.ravel(ref["b"]))
        for row, ref in zip(answers["linear_region"], table)
    )
    return {"answers.conv_matrix": grid == expected_grid, "answers.linear_region": region_right}


def test_every_submission_has_an_expectation():
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED_WRONG)
    readme = (SUBMISSIONS / "README.md").read_text()
    assert all(f"`{name}/`" in readme for name in folders), "every submission is described in README.md"


@pytest.mark.parametrize("name", sorted(EXPECTED_WRONG))
def test_submission_is_wrong_exactly_where_it_says(name):
    folder = SUBMISSIONS / name
    verdicts = {**function_verdicts(folder), **answer_verdicts(folder)}
    wrong = {function for function, right in verdicts.items() if not right}
    assert wrong == EXPECTED_WRONG[name]


def test_ada_writes_the_yaml_flow_trap_and_it_is_repaired():
    rows = yaml.safe_load((SUBMISSIONS / "ada_lovelace" / "answers.yaml").read_text())["conv_matrix"]["A"]
    assert rows[0][:2] == ["w(2", "2)"], "the unquoted flow row really splits at the comma"
    assert theory.read_conv_answer(rows, (4, 9))[0][0] == (2, 2)


def test_ben_returns_float32():
    module = load_module(SUBMISSIONS / "ben_okafor", "conv_matrix")
    assert module.conv_as_matrix(np.ones((2, 2)), (3, 3)).dtype == np.float32
