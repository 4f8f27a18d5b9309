"""Glue shared by the experiments that run `joules search`: start a run, or resume it, or
reuse it when it finished, so that an experiment script can be stopped and started again."""

import json
import pathlib
import subprocess
import time


def finished(out: pathlib.Path) -> bool:
    """True when the run directory `out` holds a search that ran to its end."""
    checkpoint = out / "checkpoint.json"
    return checkpoint.exists() and bool(json.loads(checkpoint.read_text()).get("finished"))


def evaluations(out: pathlib.Path) -> list:
    """Every record of the run's evaluations.jsonl, in the order it was logged."""
    with open(out / "evaluations.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def search(joules: pathlib.Path, out: pathlib.Path, config_text: str, on_seconds=None) -> pathlib.Path:
    """Runs `joules search` into `out` on `config_text` (written beside it as OUT.yaml), resumes
    it when `out` already holds the run, or does nothing when it finished. `on_seconds(s)`, when
    given, is told the wall seconds this call ran joules, also when joules failed or was stopped."""
    if finished(out):
        print(f"{out.name}: done already", flush=True)
        return out
    if (out / "config.yaml").exists():
        command = [str(joules), "search", "--resume", "--out", str(out)]
    else:
        config = out.parent / f"{out.name}.yaml"
        config.write_text(config_text)
        command = [str(joules), "search", str(config), "--out", str(out)]
    print(f"{out.name}: {' '.join(command)}", flush=True)
    start = time.monotonic()
    try:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    finally:
        if on_seconds:
            on_seconds(time.monotonic() - start)
    return out
