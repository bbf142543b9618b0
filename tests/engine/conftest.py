from pathlib import Path

import pytest
import yaml

from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rubric():
    return load_rubric(ROOT / "rubrics" / "assignment2.yaml")


# Six quick items, one per file, one of them hidden and one a property check.
CHEAP_ITEMS = {"conv_matrix.published", "linear_region.deep", "softmax.stability", "mlp.forward",
               "focal_loss.reweight_published", "theory.conv_matrix.entries"}


@pytest.fixture(scope="module")
def small_rubric(tmp_path_factory) -> Path:
    """The bundled rubric cut to CHEAP_ITEMS, with 10 examples per property item."""
    data = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
    data["items"] = [item for item in data["items"] if item["id"] in CHEAP_ITEMS]
    for item in data["items"]:
        if item["kind"] == "property":
            item["examples"] = 10
    path = tmp_path_factory.mktemp("rubric") / "small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
