"""The built wheel, installed into a fresh venv and run from outside the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("mops-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    # Dependencies come from the test environment (no network needed); mops itself
    # only from the wheel: the test venv's editable finder is not on this path.
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run([py, "-c", "import mops, mops.resources as r; print(mops.__file__);"
                                     "print(r.data_dir('policies')); print(r.templates_dir())"],
                          cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    where = proc.stdout.split()
    assert all(p.startswith(str(env_dir)) for p in where), where
    mops = env_dir / "bin" / "mops"
    out = subprocess.run([mops, "--version"], cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("mops "), out.stderr
    out = subprocess.run([mops, "init", "inv", "--pack", "baseline"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([mops, "-C", "inv", "register", "m", "--version", "1", "--owner", "a@b.c",
                          "--tier", "2"], cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([mops, "-C", "inv", "show", "nope"], cwd=work, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 2 and out.stderr.startswith("error: unknown model 'nope'")
    assert "Traceback" not in out.stderr
