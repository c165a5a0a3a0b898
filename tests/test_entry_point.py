"""The lm-eval entry point in the form lm-eval PR #4015 resolves: group ``lm_eval.tasks``, value a
package whose folder holds the task YAML. Checked for the source tree (editable install) and for a
built wheel, resolving the value as the PR does (import the package, read its folder)."""

import importlib.resources
import importlib.util
import os
import subprocess
import sys
import zipfile

import tomllib
from conftest import ROOT

RESOLVE = """
import importlib, importlib.util, importlib.resources, os, sys
value = sys.argv[1]
spec = importlib.util.find_spec(value)          # the package named by the entry point
folder = list(spec.submodule_search_locations)[0]  # its folder holds the YAML
files = importlib.resources.files(value)
print(folder)
print(os.path.isfile(os.path.join(folder, "r1k_reverse.yaml")), (files / "r1k_reverse.yaml").is_file())
"""


def _declared() -> str:
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["lm_eval.tasks"]
    assert list(eps) == ["r1k_plugins"]
    value = eps["r1k_plugins"]
    assert ":" not in value  # a package, not an object reference (PR #4015 skips those)
    return value


def test_entry_point_resolves_to_the_tasks_folder_in_the_source_tree():
    value = _declared()
    spec = importlib.util.find_spec(value)
    folder = list(spec.submodule_search_locations)[0]
    assert os.path.samefile(folder, ROOT / "tasks")
    assert (importlib.resources.files(value) / "r1k_reverse.yaml").is_file()
    # a fresh interpreter finds it the same way (what an editable install's .pth gives lm-eval)
    p = subprocess.run(
        [sys.executable, "-c", RESOLVE, value],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=True,
    )
    out = p.stdout.split("\n")
    assert os.path.samefile(out[0], ROOT / "tasks") and out[1] == "True True", p.stdout


def test_entry_point_resolves_inside_the_wheel(tmp_path):
    value = _declared()
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (whl,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        ep = next(n for n in names if n.endswith("entry_points.txt"))
        text = z.read(ep).decode()
        z.extractall(tmp_path / "site")
    assert "[lm_eval.tasks]\nr1k_plugins = r1k_plugins.lm_eval_tasks" in text, text
    assert "r1k_plugins/lm_eval_tasks/r1k_reverse.yaml" in names and "r1k_plugins_lmeval.pth" in names
    p = subprocess.run(
        [sys.executable, "-c", RESOLVE, value],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(tmp_path / "site"), R1K_NO_LMEVAL_HOOK="1"),
        check=True,
    )
    out = p.stdout.split("\n")
    assert os.path.samefile(out[0], tmp_path / "site" / "r1k_plugins" / "lm_eval_tasks"), p.stdout
    assert out[1] == "True True"


def test_editable_install_resolves_to_the_source_tasks_folder(tmp_path):
    value = _declared()
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel:editable", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (whl,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        text = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        z.extractall(tmp_path / "site")
    assert "[lm_eval.tasks]\nr1k_plugins = r1k_plugins.lm_eval_tasks" in text
    assert "r1k_plugins_lmeval.pth" in names  # the start-up hook stays until a released lm-eval reads the group
    # "installed": only this wheel's .pth files run (python -S; the venv's packages on the path, unprocessed)
    import editables

    boot = (
        f"import sys, site; sys.path.append({os.path.dirname(os.path.dirname(editables.__file__))!r}); "
        f"site.addsitedir({str(tmp_path / 'site')!r}); sys.argv[1:] = [{value!r}]\n"
    )
    p = subprocess.run(
        [sys.executable, "-S", "-c", boot + RESOLVE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        check=True,
    )
    out = p.stdout.split("\n")
    assert os.path.samefile(out[0], ROOT / "tasks") and out[1] == "True True", p.stdout + p.stderr


def test_the_inspect_entry_point_registers_every_task():
    """Loading the ``inspect_ai`` entry point (what ``inspect eval r1k_plugins/<task>`` and
    ``inspect_ai.eval(["r1k_plugins/<task>"])`` do) registers the five tasks and the scorer."""
    from importlib.metadata import entry_points

    from inspect_ai._util.registry import registry_lookup

    (ep,) = [e for e in entry_points(group="inspect_ai") if e.name == "r1k_plugins"]
    ep.load()
    for name in ("r1k_forward", "r1k_reverse", "r1k_aime24", "r1k_math500", "r1k_gpqa_diamond"):
        assert registry_lookup("task", f"r1k_plugins/{name}") is not None, name
