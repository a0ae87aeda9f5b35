"""docker/: the image, the `ray up` config and the KubeRay RayJob agree with the package (no Docker needed).

Oracles are the package's own metadata (pyproject.toml, `pipeline.__version__`, the `pileline` CLI
parser, `load_manifest`) and Ray's own parsers: the cluster launcher's config validation and the
`ray start` command's option parser.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from importlib import import_module
from pathlib import Path

import pytest
import ray
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.scripts.scripts import start as ray_start_command

import pipeline
from pipeline.cli.main import build_parser
from pipeline.formats.filesystems import is_uri
from pipeline.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
RUN_MOUNT = "/mnt/pile"
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


@cache
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@cache
def pinned_ray_version() -> str:
    for line in pyproject()["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.name == "ray":
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"ray must be pinned exactly, got {line!r}"
            return spec.version
    raise AssertionError("pyproject.toml does not depend on ray")


@cache
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in (DOCKER / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def instructions(name: str) -> list[str]:
    return [arguments for instruction, arguments in dockerfile_instructions() if instruction == name]


def documented_build_command(text: str) -> list[str]:
    """The single `docker build …` command line in a file (a Dockerfile comment or a README block)."""
    commands = [line.strip().lstrip("#").strip() for line in text.splitlines() if "docker build " in line]
    assert len(commands) == 1, f"expected one documented `docker build` command, found {commands}"
    return shlex.split(commands[0])


def built_tag() -> str:
    """The tag the Dockerfile's documented build command gives the image."""
    argv = documented_build_command((DOCKER / "Dockerfile").read_text(encoding="utf-8"))
    return argv[argv.index("-t") + 1]


@cache
def cluster_config() -> dict:
    return yaml.safe_load((DOCKER / "cluster.yaml").read_text(encoding="utf-8"))


@cache
def rayjob_documents() -> dict[str, dict]:
    documents = list(yaml.safe_load_all((DOCKER / "rayjob.yaml").read_text(encoding="utf-8")))
    by_kind = {document["kind"]: document for document in documents}
    assert len(by_kind) == len(documents), "one document per kind expected"
    return by_kind


def rayjob() -> dict:
    return rayjob_documents()["RayJob"]


def pod_specs() -> list[dict]:
    """The head pod spec, then one per worker group."""
    cluster = rayjob()["spec"]["rayClusterSpec"]
    return [cluster["headGroupSpec"]["template"]["spec"]] + [
        group["template"]["spec"] for group in cluster["workerGroupSpecs"]
    ]


def parse_ray_start(arguments: list[str]) -> dict:
    """Parse `ray start` arguments with Ray's own option parser; an unknown flag raises."""
    context = ray_start_command.make_context("ray start", list(arguments))
    return context.params


def ray_start_arguments(commands: list[str]) -> list[str]:
    """The arguments of the one `ray start` among shell command lines (`a; ray start …`)."""
    found = []
    for command in commands:
        for part in command.split(";"):
            argv = shlex.split(part)
            if argv[:2] == ["ray", "start"]:
                found.append(argv[2:])
    assert len(found) == 1, f"expected one `ray start`, found {found}"
    return found[0]


def entrypoint_args():
    argv = shlex.split(rayjob()["spec"]["entrypoint"])
    assert argv[0] == "pileline", f"the entrypoint must run the `pileline` console script, got {argv[0]!r}"
    return build_parser().parse_args(argv[1:])


# --- the image ---------------------------------------------------------------------------------


def test_the_installed_ray_is_the_pinned_one():
    # The other checks read Ray's own schema and parsers: they must be those of the pinned version.
    assert ray.__version__ == pinned_ray_version()


def test_base_image_is_the_official_cpu_image_of_the_pinned_ray():
    (base,) = instructions("FROM")
    match = re.fullmatch(r"rayproject/ray:(\d+\.\d+\.\d+)-py(\d)(\d+)-cpu", base)
    assert match, f"expected rayproject/ray:<version>-py3XX-cpu, got {base!r}"
    assert match.group(1) == pinned_ray_version()
    python = f"{match.group(2)}.{match.group(3)}"
    assert SpecifierSet(pyproject()["project"]["requires-python"]).contains(python)


def test_image_tag_embeds_package_and_ray_versions():
    assert pipeline.__version__ == pyproject()["project"]["version"]
    assert built_tag() == f"pileline:{pipeline.__version__}-ray{pinned_ray_version()}"
    (label,) = instructions("LABEL")
    assert f'org.opencontainers.image.version="{pipeline.__version__}"' in label


def test_build_runs_from_the_repository_root_and_the_readme_documents_the_same_command():
    in_dockerfile = documented_build_command((DOCKER / "Dockerfile").read_text(encoding="utf-8"))
    assert in_dockerfile[in_dockerfile.index("-f") + 1] == "docker/Dockerfile"
    assert in_dockerfile[-1] == "."
    assert documented_build_command((DOCKER / "README.md").read_text(encoding="utf-8")) == in_dockerfile


def test_image_installs_this_repository_as_the_non_root_ray_user():
    users = instructions("USER")
    assert users and users[-1] == "ray"
    (workdir,) = instructions("WORKDIR")
    copies = instructions("COPY")
    assert copies == ["--chown=ray:users . ."], "the whole build context goes to WORKDIR, owned by ray"
    runs = instructions("RUN")
    assert any(shlex.split(run) == ["pip", "install", "--no-cache-dir", "."] for run in runs)
    # The offline check runs the installed console script with the network switched off.
    assert any(run.startswith("--network=none") and "pileline --help" in run for run in runs)
    assert workdir.startswith("/home/ray/")


def test_dockerignore_keeps_local_state_out_and_the_sources_in():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in (".venv", "runs", "pileline-demo", ".git"):
        assert name in patterns
    assert "**/__pycache__" in patterns
    needed = ["pyproject.toml", "README.md", "pipeline", "stages", "manifests"]
    for pattern in patterns:
        for path in needed:
            assert not Path(path).match(pattern.removeprefix("**/")), f"{pattern} would drop {path} from the build"


# --- ray up -----------------------------------------------------------------------------------


def test_cluster_config_passes_the_cluster_launchers_validation():
    # Ray's schema refuses unknown keys; the file itself must pass (`prepare_config` would silently
    # drop legacy keys such as a top-level min_workers), and so must what `ray up` makes of it.
    validate_config(cluster_config())
    config = prepare_config(cluster_config())
    validate_config(config)
    assert config["provider"]["type"] == "aws"


def test_cluster_runs_the_built_image():
    docker = cluster_config()["docker"]
    registry, _, tag = docker["image"].rpartition("/")
    assert tag == built_tag()
    assert registry == "{{REGISTRY}}"
    assert docker["container_name"]


def test_cluster_has_a_cpu_free_head_and_autoscaling_workers():
    config = cluster_config()
    node_types = config["available_node_types"]
    head = node_types[config["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    (worker,) = [spec for name, spec in node_types.items() if name != config["head_node_type"]]
    assert 1 <= worker["min_workers"] < worker["max_workers"] <= config["max_workers"]


def test_head_and_worker_start_commands_call_ray_start_with_the_right_flags():
    config = cluster_config()
    head = parse_ray_start(ray_start_arguments(config["head_start_ray_commands"]))
    assert head["head"] is True
    assert head["autoscaling_config"] == "~/ray_bootstrap_config.yaml"
    assert head["dashboard_host"] == "0.0.0.0"
    worker = parse_ray_start(ray_start_arguments(config["worker_start_ray_commands"]))
    assert worker["head"] is False
    assert worker["address"] == f"$RAY_HEAD_IP:{head['port']}"
    assert worker["object_manager_port"] == head["object_manager_port"]


def test_every_cluster_node_mounts_the_shared_run_directory_into_the_container():
    config = cluster_config()
    mounts = [
        command
        for command in config["initialization_commands"]
        if re.search(rf"\bmount -t \S+ .* {RUN_MOUNT}$", command)
    ]
    assert mounts, f"no initialization command mounts a shared file system at {RUN_MOUNT}"
    assert f"--volume {RUN_MOUNT}:{RUN_MOUNT}" in config["docker"]["run_options"]


# --- KubeRay ----------------------------------------------------------------------------------


def test_rayjob_is_a_kuberay_v1_job_on_the_pinned_ray():
    job = rayjob()
    assert job["apiVersion"] == "ray.io/v1"
    assert job["spec"]["rayClusterSpec"]["rayVersion"] == pinned_ray_version()


def test_every_rayjob_pod_runs_the_built_image_in_the_image_workdir():
    (workdir,) = instructions("WORKDIR")
    images = set()
    for spec in pod_specs():
        (container,) = spec["containers"]
        images.add(container["image"])
        assert container["workingDir"] == workdir
    (image,) = images
    assert image.rpartition("/")[2] == built_tag()
    assert image == cluster_config()["docker"]["image"]


def test_entrypoint_is_the_pileline_console_script():
    module, _, function = pyproject()["project"]["scripts"]["pileline"].partition(":")
    assert callable(getattr(import_module(module), function))
    assert entrypoint_args().command == "run"


def test_entrypoint_manifest_is_in_the_repository_and_validates():
    args = entrypoint_args()
    # The repository is the image's WORKDIR, where Ray (and so the job's entrypoint) starts.
    manifest_path = ROOT / args.manifest
    assert manifest_path.is_file()
    manifest = load_manifest(manifest_path, {"output": args.out, "ray.address": args.address})
    assert manifest.ray.address == "auto"
    assert not is_uri(manifest.output), "token shards are memory-mapped: the run directory must be a mount"


def test_run_directory_is_on_a_read_write_many_claim_mounted_on_every_pod():
    claim = rayjob_documents()["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    mount_paths = set()
    for spec in pod_specs():
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        (container,) = spec["containers"]
        for mount in container["volumeMounts"]:
            claim_ref = volumes[mount["name"]].get("persistentVolumeClaim", {})
            if claim_ref.get("claimName") == claim["metadata"]["name"]:
                mount_paths.add(mount["mountPath"])
                break
        else:
            pytest.fail(f"a pod does not mount the claim {claim['metadata']['name']}")
    assert mount_paths == {RUN_MOUNT}
    assert entrypoint_args().out.startswith(RUN_MOUNT + "/")


def test_rayjob_head_takes_no_tasks_and_workers_autoscale():
    cluster = rayjob()["spec"]["rayClusterSpec"]
    head = parse_ray_start([f"--{key}={value}" for key, value in cluster["headGroupSpec"]["rayStartParams"].items()])
    assert head["num_cpus"] == 0
    assert cluster["enableInTreeAutoscaling"] is True
    for group in cluster["workerGroupSpecs"]:
        parse_ray_start([f"--{key}={value}" for key, value in group["rayStartParams"].items()])
        assert 1 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


# --- documentation ----------------------------------------------------------------------------


def test_readme_runs_the_same_command_on_both_clusters():
    readme = (DOCKER / "README.md").read_text(encoding="utf-8")
    entrypoint = rayjob()["spec"]["entrypoint"]
    assert f"ray job submit --address http://localhost:8265 --no-wait -- {entrypoint}" in readme
    assert readme.count(entrypoint) >= 2


def test_every_placeholder_is_explained_in_the_readme():
    readme = (DOCKER / "README.md").read_text(encoding="utf-8")
    for name in ("cluster.yaml", "rayjob.yaml"):
        placeholders = set(PLACEHOLDER.findall((DOCKER / name).read_text(encoding="utf-8")))
        assert placeholders, f"{name} has no placeholders to fill in"
        for placeholder in placeholders:
            assert f"| `{{{{{placeholder}}}}}` |" in readme, f"{name}: {{{{{placeholder}}}}} is not in docker/README.md"
