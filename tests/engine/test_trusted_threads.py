"""The grading process judges with one torch thread, and gives the caller's setting back."""

from pathlib import Path

import torch

from grader import api
from grader.checks import RUNNERS

ADA = Path(__file__).resolve().parents[2] / "submissions" / "ada_lovelace"


def test_judging_runs_on_one_torch_thread_and_the_setting_comes_back(rubric, zygote, monkeypatch):
    seen = []
    cases = RUNNERS["cases"]
    monkeypatch.setitem(RUNNERS, "cases", lambda ctx, item: seen.append(torch.get_num_threads()) or cases(ctx, item))
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = api.grade_submission(ADA, rubric, zygote=zygote, items=["focal_loss.reweight_published"])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)
    assert seen == [1] and result.items[0].status == "passed", result.items[0].output
