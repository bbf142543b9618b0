"""Write checkpoints/my_model.pt for the bundled submissions, as their authors would have.

Each model is trained on the digits training split with its own config.yaml,
by the same loop the grader runs in the sandbox, then saved as a state_dict.
Run from the repository root: python submissions/make_checkpoints.py
"""

import importlib.util
import shutil
from pathlib import Path

import torch
import yaml

from grader.boundary import trainer
from reference.data import training_data

HERE = Path(__file__).resolve().parent
AUTHORS = ("ada_lovelace", "ben_okafor")
RECIPE = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0, "epochs": 3, "batch_size": 64, "seed": 0}


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    torch.set_num_threads(1)
    data = training_data("digits")
    inputs = {name: data[name] for name in ("train_images", "train_labels", "test_images", "mean", "std")}
    for author in AUTHORS:
        folder = HERE / author
        config = yaml.safe_load((folder / "config.yaml").read_text())
        recipe = {**RECIPE, **{k: v for k, v in config.items() if k in RECIPE}}
        module = _module(folder / "my_model.py")
        built = {}

        def namespace(_name, module=module, built=built):
            names = dict(vars(module))
            model_class = names["MyModel"]
            names["MyModel"] = lambda: built.setdefault("model", model_class())
            return names

        request = {"model": {"module": "my_model", "expr": "MyModel()"}, "recipe": recipe}
        result = trainer.train_and_predict(request, inputs, namespace, progress=lambda report: None)
        accuracy = (result["logits"].argmax(1) == data["test_labels"]).mean()
        target = folder / "checkpoints" / "my_model.pt"
        target.parent.mkdir(exist_ok=True)
        torch.save(built["model"].state_dict(), target)
        print(f"{target.relative_to(HERE)}: {recipe['epochs']} epochs, test accuracy {accuracy:.3f}")
    # The other examples are copies of ada_lovelace's model, so they carry her checkpoint.
    for folder in sorted(HERE.iterdir()):
        if folder.is_dir() and folder.name not in AUTHORS and (folder / "my_model.py").is_file():
            if (folder / "my_model.py").read_bytes() == (HERE / "ada_lovelace" / "my_model.py").read_bytes():
                (folder / "checkpoints").mkdir(exist_ok=True)
                shutil.copyfile(HERE / "ada_lovelace" / "checkpoints" / "my_model.pt", folder / "checkpoints" / "my_model.pt")


if __name__ == "__main__":
    main()
