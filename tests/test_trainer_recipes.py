"""README's "Feeding a trainer" recipes, run as written on a small run (the substitutions below scale
them down: 64-token samples, global batch 8, a tiny model): each yields exactly the batches of
`pileline inspect`, read here from the sequence shards' bytes."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.multiprocessing
from test_export import _expected

from pipeline.phases.export import ExportConfig, export_run
from pipeline.runtime.progress import Progress

README = Path(__file__).resolve().parent.parent / "README.md"
# Sizes scaled down wherever a recipe has them.
SCALE = [
    ("2049", "64"),
    ("B, accumulation = 1024, 4", "B, accumulation = 8, 2"),
    ("num_workers=2, pin_memory=True", "num_workers=0"),
]


def recipe(name: str, paths: dict[str, Path], extra: list[tuple[str, str]] = ()) -> str:
    """The code of README's recipe `name`, with the run's paths and the small run's sizes put in."""
    found = re.findall(rf"<!-- recipe: {name} -->\n```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert len(found) == 1, f"README has {len(found)} recipes named {name}"
    code = found[0]
    for old, new in SCALE:
        code = code.replace(old, new)
    for old, new in [*extra, *((k, str(v)) for k, v in paths.items())]:
        assert old in code, f"recipe {name} no longer contains {old!r}"
        code = code.replace(old, new)
    return code


@pytest.fixture(scope="module")
def exports(training_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("recipes")
    for fmt in ("hf", "litdata"):
        export_run(
            str(training_run), str(root / fmt), ExportConfig(format=fmt, file_bytes=30_000), None, Progress(quiet=True)
        )
    return {"RUN_DIR-hf": root / "hf", "RUN_DIR-litdata": root / "litdata"}


def test_the_numpy_and_nanogpt_recipes(training_run):
    expected = _expected(training_run)
    names = {"step": 5}
    exec(recipe("numpy", {"RUN_DIR": training_run}), names)
    assert names["batch"].tolist() == expected[40:48].tolist()
    assert names["documents"].info(0)["doc_id"] >= 0
    names = {"i": 3}
    exec(recipe("nanogpt", {"RUN_DIR": training_run}), names)
    assert names["x"].tolist() == expected[3, :-1].tolist() and names["y"].tolist() == expected[3, 1:].tolist()


def test_the_litdata_recipe(training_run, exports):
    names: dict = {}
    exec(recipe("litdata", {"RUN_DIR-litdata": exports["RUN_DIR-litdata"]}), names)
    batches = [np.asarray(batch) for batch in names["loader"]]
    assert all(b.shape == (8, 64) for b in batches[:-1])
    assert np.concatenate(batches).tolist() == _expected(training_run).tolist()


HIDE_TORCHVISION = "import sys; sys.modules['torchvision'] = None\n"
"""litdata depends on torchvision, and PyPI's torchvision is a CUDA build that cannot load beside the
CPU torch 2.13.0 wheel the `train` extra pins; transformers imports torchvision whenever it is installed,
so the Trainer recipe runs in its own interpreter where torchvision counts as absent (images only)."""

RECORD_BATCHES = """
import numpy as np
def record(trainer, **train_args):
    seen = []
    def recording(rows):
        batch = collate(rows)
        seen.append(np.stack([batch["input_ids"].numpy(), batch["shift_labels"].numpy()]))
        return batch
    trainer.data_collator = recording
    result = trainer.train(**train_args)
    assert result.global_step == 3 and np.isfinite(result.training_loss), result
    return np.stack(seen)
np.save(OUT + "/uninterrupted.npy", record(trainer))
resumed = Trainer(model=GPT2LMHeadModel(model.config), args=args, train_dataset=train, data_collator=collate)
np.save(OUT + "/resumed.npy", record(resumed, resume_from_checkpoint=OUT + "/checkpoint-2"))
"""


def test_the_hugging_face_trainer_recipe_and_its_resume(training_run, exports, tmp_path):
    small = [
        ("GPT2Config(n_positions=2048)", "GPT2Config(n_positions=63, n_embd=8, n_layer=1, n_head=1)"),
        (
            "per_device_train_batch_size=32, gradient_accumulation_steps=4, max_steps=143_000",
            "per_device_train_batch_size=4, gradient_accumulation_steps=2, max_steps=3, save_steps=2",
        ),
        ('output_dir="checkpoints"', f'output_dir="{tmp_path}"'),
    ]
    code = recipe("hf", {"RUN_DIR-hf": exports["RUN_DIR-hf"]}, small)
    script = tmp_path / "recipe.py"
    script.write_text(HIDE_TORCHVISION + f"OUT = {str(tmp_path)!r}\n" + code + RECORD_BATCHES)
    finished = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr[-3000:]
    expected = _expected(training_run)

    def step_batches(seen: np.ndarray, first_step: int, steps: int) -> None:
        """`seen` holds steps first_step… as 2 micro-batches of 4 each (accelerate collates one more ahead)."""
        assert seen.shape[0] in (2 * steps, 2 * steps + 1) and seen.shape[1:] == (2, 4, 63), seen.shape
        for k in range(steps):
            micro = np.concatenate([seen[2 * k], seen[2 * k + 1]], axis=1)
            tokens = expected[8 * (first_step + k) : 8 * (first_step + k + 1)]
            assert micro[0].tolist() == tokens[:, :-1].tolist() and micro[1].tolist() == tokens[:, 1:].tolist()

    step_batches(np.load(tmp_path / "uninterrupted.npy"), 0, 3)
    step_batches(np.load(tmp_path / "resumed.npy"), 2, 1)


def _ddp_rank(rank: int, world_size: int, port: int, code: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        names: dict = {}
        exec(code, names)
        assert names["x"].shape[1] == 63 and (names["x"][:, 1:] == names["y"][:, :-1]).all()
        np.save(f"{out}/rank{rank}.npy", np.stack([batch.numpy() for batch in names["loader"]]))
    finally:
        dist.destroy_process_group()


def test_the_pytorch_ddp_recipe_on_two_processes(training_run, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = recipe("ddp", {"RUN_DIR": training_run})
    torch.multiprocessing.spawn(_ddp_rank, args=(2, port, code, str(tmp_path)), nprocs=2, join=True)
    ranks = [np.load(tmp_path / f"rank{r}.npy") for r in range(2)]
    expected = _expected(training_run)
    steps = len(expected) // 8
    assert all(r.shape == (2 * steps, 2, 64) for r in ranks), "2 micro-batches of 2 per rank and step"
    for step in range(steps):
        together = np.concatenate(
            [ranks[0][2 * step], ranks[0][2 * step + 1], ranks[1][2 * step], ranks[1][2 * step + 1]]
        )
        assert together.tolist() == expected[8 * step : 8 * step + 8].tolist()
