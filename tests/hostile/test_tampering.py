"""Student code tampering with the libraries, the builtins and the child's own machinery.

The judgement happens in the trusted process, on plain data, so a wrong answer stays wrong
whatever the child patched; and every submission gets a fresh child, so the tampering is
gone for the next student graded with the same zygote.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from tests.hostile.conftest import ADA, assert_contained, bystanders, grade, plant

pytestmark = pytest.mark.layers("filesystem", "unprivileged_uid")

SOFTMAX = ["softmax.stability"]
REWEIGHT = ["focal_loss.reweight_published"]

# A wrong softmax: uniform probabilities, right shape and kind, wrong values.
WRONG_SOFTMAX = '''

def softmax(logits):
    shape = _real_np.shape(logits)
    return _real_np.full(shape, 1.0 / shape[1])
'''

# Module-level patches in softmax_classifier.py; each keeps the real numpy as _real_np for the wrong answer.
SOFTMAX_TAMPERING = {
    "numpy comparisons always agree": '''
import numpy as np
_real_np = np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
np.array_equiv = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.abs = np.absolute = lambda x, *a, **k: np.zeros(np.shape(x))
np.isfinite = lambda x, *a, **k: np.ones(np.shape(x), dtype=bool)
''',
    "builtins lie": '''
import builtins
import numpy as np
_real_np = np
_real_isinstance = builtins.isinstance
builtins.abs = lambda x: 0
builtins.isinstance = lambda obj, cls: True if cls in (float, np.ndarray) else _real_isinstance(obj, cls)
builtins.max = lambda *a, **k: 0
builtins.all = lambda *a: True
''',
    "a fake numpy in sys.modules": '''
import sys
import types
import numpy
_real_np = numpy
fake = types.ModuleType("numpy")
fake.__dict__.update({k: v for k, v in vars(numpy).items() if not k.startswith("__")})
fake.allclose = lambda *a, **k: True
fake.array_equal = lambda *a, **k: True
fake.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)
sys.modules["numpy"] = fake
for name in [n for n in sys.modules if n.startswith("numpy.")]:
    sys.modules[name] = fake
import numpy as np
assert np is fake
''',
    "the child's codec and reply forge a pass": '''
import sys
import numpy as np
_real_np = np
codec = sys.modules["grader.boundary.codec"]
child = sys.modules["grader.boundary.child"]
_real_send = codec.send_message
def forged_send(sock, header, blobs=()):
    if "value" in header:
        header = {**header, "ok": True, "passed": True, "status": "passed", "score": 1.0, "verdict": "passed"}
    return _real_send(sock, header, blobs)
codec.send_message = child.send_message = forged_send
judge = sys.modules.get("grader.judge")
if judge is not None:
    judge.compare = lambda *a, **k: None
    judge.check_kind = lambda *a, **k: None
''',
}


@pytest.mark.parametrize("case", list(SOFTMAX_TAMPERING))
def test_a_wrong_softmax_fails_whatever_the_child_patched(tmp_path, bundled, zygote, case):
    source = SOFTMAX_TAMPERING[case] + WRONG_SOFTMAX
    others = bystanders("softmax_classifier.py")
    result = grade(plant(tmp_path, {"softmax_classifier.py": source}), bundled, zygote, SOFTMAX, others)
    assert_contained(result, SOFTMAX, others, statuses=("failed",), message="differs at index")
    assert "0.333333" in result.item(SOFTMAX[0]).counterexample["got"], result.item(SOFTMAX[0]).counterexample
    assert_the_next_submission_is_graded_cleanly(tmp_path, bundled, zygote, SOFTMAX, others)


def test_a_wrong_tensor_fails_whatever_torch_says(tmp_path, bundled, zygote):
    source = '''import numpy as np
import torch
import torch.testing

torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: True
torch.Tensor.allclose = lambda self, *a, **k: True
torch.Tensor.numpy = lambda self, *a, **k: np.array([0.89, 0.95, 1.02, 1.14], dtype=np.float32)  # the codec's path out
np.allclose = lambda *a, **k: True


def reweight(cls_num_list, beta=0.9999):
    return torch.ones(len(cls_num_list))
'''
    others = bystanders("focal_loss.py")
    result = grade(plant(tmp_path, {"focal_loss.py": source}), bundled, zygote, REWEIGHT, others)
    # The patched Tensor.numpy decides what crosses, so the values that arrive are the lie, not ones:
    # either way they are judged in the trusted process against the reference, and they are wrong.
    untouched = [item for item in others if item != "cnn.checkpoint"]
    assert_contained(result, REWEIGHT, untouched, statuses=("failed",), message="differs at index")
    assert "0.89" in result.item(REWEIGHT[0]).counterexample["got"], result.item(REWEIGHT[0]).counterexample
    # The same lie is all that crosses for the student's own model's logits, in this same process:
    # it costs that item its points (a wrong shape, judged here), and never earns any.
    checkpoint = result.item("cnn.checkpoint")
    assert checkpoint.score == 0 and "has shape (8,)" in checkpoint.output, checkpoint.output
    assert_the_next_submission_is_graded_cleanly(tmp_path, bundled, zygote, REWEIGHT, others)


def test_tampering_with_the_disk_and_the_zygote_is_refused(tmp_path, bundled, zygote):
    """Tampering meant to outlive the child: files the next child would import, and the zygote itself."""
    site_packages = Path(np.__file__).parent.parent
    planted = [site_packages / "zz_hostile_tamper.pth", Path(np.__file__).parent / "_hostile_tamper.py",
               Path(os.path.realpath("/tmp")) / "sitecustomize.py", ADA / "softmax_classifier_tampered.py"]
    source = f'''import os
import signal

import numpy as np

_real_np = np
PLANTED = {[str(p) for p in planted]!r}


def softmax(logits):
    for path in PLANTED:
        try:
            with open(path, "x") as handle:
                handle.write("# hostile\\n")
            print("WROTE", path)
        except OSError as error:
            print("refused", os.path.basename(path), type(error).__name__)
    try:
        with open(np.__file__, "a") as handle:
            handle.write("\\nallclose = lambda *a, **k: True\\n")
        print("WROTE", np.__file__)
    except OSError as error:
        print("refused numpy/__init__.py", type(error).__name__)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(os.getppid(), sig)
            print("SIGNALLED the zygote", sig)
        except OSError as error:
            print("refused", sig, type(error).__name__)
    return _real_np.full(_real_np.shape(logits), 0.5)
'''
    others = bystanders("softmax_classifier.py")
    numpy_before = Path(np.__file__).read_bytes()
    try:
        result = grade(plant(tmp_path, {"softmax_classifier.py": source}), bundled, zygote, SOFTMAX, others)
        zygote_pid = zygote._process.pid
        assert_contained(result, SOFTMAX, others, statuses=("failed",), message="differs at index")
        output = result.item(SOFTMAX[0]).output
        assert "WROTE" not in output and "SIGNALLED" not in output, output
        assert output.count("refused") == len(planted) + 3, output
        assert not any(path.exists() for path in planted)
        assert Path(np.__file__).read_bytes() == numpy_before
        assert zygote._process.poll() is None and zygote._process.pid == zygote_pid
    finally:
        for path in planted:
            if path.exists() and path.read_text() == "# hostile\n":
                path.unlink()
    assert_the_next_submission_is_graded_cleanly(tmp_path, bundled, zygote, SOFTMAX, others)
    assert zygote._process.pid == zygote_pid, "the zygote was replaced: the attack reached it"


def assert_the_next_submission_is_graded_cleanly(tmp_path, bundled, zygote, attacked, others):
    """ada_lovelace's correct submission, graded next by the same zygote, gets full points."""
    result = grade(ADA, bundled, zygote, attacked, others)
    for item in result.items:
        assert item.status == "passed" and item.score == item.max_score, f"after tampering, {item.id}: {item.status}\n{item.output}"
