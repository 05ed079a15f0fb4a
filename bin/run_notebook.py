"""Executes a notebook headlessly for `vmaplab run` (nbclient, the engine Jupyter itself uses).

    run_notebook.py INPUT --output OUT.ipynb [--html OUT.html] [--timeout S] [--kernel NAME]

Prints one progress line per code cell (`[3/12] ok 0.4 s  first line of the cell`) and a summary.
Exit status: 0 when every cell ran, 1 when a cell failed (its number and error are printed, and the
notebook is still written with the outputs up to that cell), 2 when the notebook could not be run.
"""
import argparse
import asyncio
import math
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def say(line: str) -> None:
    print(line, flush=True)


def first_line(source: str, width: int = 60) -> str:
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


def log_tail(log, lines: int = 20) -> str:
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-lines:])


def write_outputs(nb, args) -> None:
    if args.output:
        nbformat.write(nb, args.output)
    if args.html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(body)


async def execute(nb, args) -> int:
    kernel = args.kernel or nb.metadata.get("kernelspec", {}).get("name") or "vmaplab"
    client = NotebookClient(
        nb,
        timeout=math.ceil(args.timeout),  # nbclient takes whole seconds
        kernel_name=kernel,
        allow_errors=False,
        resources={"metadata": {"path": args.cwd}},
    )
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    n = len(code_cells)
    say(f"vmaplab run: {args.input}: {n} code cells, kernel '{kernel}'")
    t0 = time.perf_counter()
    # The kernel's own log (stderr) goes to a file, shown only when the kernel fails.
    log = tempfile.TemporaryFile(mode="w+")
    try:
        return await run_cells(client, nb, args, code_cells, kernel, log, t0)
    except Exception as e:
        tail = log_tail(log)
        raise RuntimeError(f"{e}\nkernel log (last lines):\n{tail}" if tail.strip() else str(e)) from e
    finally:
        log.close()


async def run_cells(client, nb, args, code_cells, kernel, log, t0) -> int:
    n = len(code_cells)
    status = 0
    done = 0
    async with client.async_setup_kernel(stderr=log):
        # As nbclient's own execute(): the kernel's language_info goes into the notebook's metadata.
        msg_id = client.kc.kernel_info()
        info = await client.async_wait_for_reply(msg_id)
        if info is not None and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        started = time.perf_counter() - t0
        say(f"kernel started in {started:.1f} s")
        for k, (index, cell) in enumerate(code_cells, start=1):
            label = first_line(cell.source)
            t = time.perf_counter()
            try:
                await client.async_execute_cell(cell, index, execution_count=k)
            except CellExecutionError as e:
                ename = getattr(e, "ename", "Error")
                evalue = getattr(e, "evalue", str(e).strip().splitlines()[-1])
                say(f"[{k}/{n}] FAILED {time.perf_counter() - t:.1f} s  {label}")
                say(f"vmaplab run: cell {k} of {n} failed: {ename}: {evalue}")
                status = 1
                break
            except CellTimeoutError:
                say(f"[{k}/{n}] TIMEOUT after {args.timeout} s  {label}")
                say(f"vmaplab run: cell {k} of {n} did not finish within {args.timeout} s (--timeout)")
                status = 1
                break
            except DeadKernelError as e:
                say(f"[{k}/{n}] KERNEL DIED  {label}")
                say(f"vmaplab run: the kernel died while running cell {k} of {n}: {e}")
                say(f"kernel log (last lines):\n{log_tail(log)}")
                status = 1
                break
            done += 1
            say(f"[{k}/{n}] ok {time.perf_counter() - t:.1f} s  {label}")
    total = time.perf_counter() - t0
    if status == 0:
        say(f"vmaplab run: all {n} cells ok in {total:.1f} s")
    else:
        say(f"vmaplab run: {done} of {n} cells ok before the failure ({total:.1f} s)")
    return status


def main() -> int:
    p = argparse.ArgumentParser(prog="vmaplab run")
    p.add_argument("input")
    p.add_argument("--output")
    p.add_argument("--html")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--kernel")
    p.add_argument("--cwd", default=".")
    args = p.parse_args()
    try:
        nb = nbformat.read(args.input, as_version=4)
    except Exception as e:  # unreadable or not a notebook
        print(f"vmaplab run: cannot read {args.input}: {e}", file=sys.stderr)
        return 2
    try:
        status = asyncio.run(execute(nb, args))
    except Exception as e:  # kernel missing, failed to start...
        print(f"vmaplab run: could not run {args.input}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    write_outputs(nb, args)
    for kind, path in (("notebook", args.output), ("HTML", args.html)):
        if path:
            say(f"vmaplab run: wrote the executed {kind} to {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
