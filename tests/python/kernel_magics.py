"""Drives the installed vmaplab kernel through the magics and charts (issue 8) with Debian's
jupyter_client and prints what it observed as JSON (assertions: tests/kernel-magics.test.ts).
Charts' SVGs are parsed here (root element) and their Vega-Lite specs validated against vega-lite's
own JSON schema. Usage: /usr/bin/python3 tests/python/kernel_magics.py STDERR_LOG_PATH
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

from jupyter_client.manager import KernelManager

from kernel_driver import TIMEOUT, run

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "node_modules", "vega-lite", "build", "vega-lite-schema.json")
VEGA_LITE = "application/vnd.vegalite.v5+json"


def check_charts(observed):
    """Adds, per chart bundle in the outputs, the SVG root tag and the schema validation result."""
    try:
        import jsonschema
        with open(SCHEMA) as f:
            validator = jsonschema.Draft7Validator(json.load(f))
    except Exception as e:  # no jsonschema: say so rather than pass silently
        validator = None
        observed["schema_unavailable"] = str(e)
    charts = []
    for m in observed["iopub"]:
        data = m["content"].get("data") or {}
        if VEGA_LITE not in data:
            continue
        entry = {"keys": sorted(data.keys())}
        try:
            entry["svg_root"] = ET.fromstring(data["image/svg+xml"]).tag
        except Exception as e:
            entry["svg_root"] = f"unparsable: {e}"
        if validator is not None:
            errors = sorted(validator.iter_errors(data[VEGA_LITE]), key=lambda e: list(e.path))
            entry["schema_errors"] = [f"{list(e.path)}: {e.message}"[:300] for e in errors[:5]]
        charts.append(entry)
    observed["charts"] = charts
    return observed


def main():
    log_path = sys.argv[1]
    out = {}
    km = KernelManager(kernel_name="vmaplab")
    log = open(log_path, "w")
    km.start_kernel(stderr=log, stdout=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        out["setup"] = run(kc, "\n".join([
            "const xs = jnp.ones([4, 3]);",
            "const w = jnp.array([1, 2, 3]);",
            "const f = (x: typeof xs) => jnp.sin(x).mul(2);",
            "const g = (x: typeof xs, v: typeof xs) => jnp.dot(x, v);",
            "const hb = (b: typeof xs) => jnp.sin(b).mul(2);",
            "const wrap = (h: (...a: any[]) => any) => (...a: any[]) => h(...a);",
            "const count = 3;",
            "const tree = 5;",
        ]))
        out["lsmagic"] = run(kc, "%lsmagic")
        out["help"] = run(kc, "%vmapbench?")
        out["jaxpr_f"] = run(kc, "%jaxpr f(w)")
        out["jaxpr_g"] = run(kc, "%jaxpr g(w, w)")
        out["jaxpr_vmap"] = run(kc, "%jaxpr vmap(f)(xs)")
        out["compare"] = run(kc, "%jaxpr --compare vmap(g, [0, null])(xs, w)")
        out["compare_wrapped"] = run(kc, "%jaxpr --compare wrap(vmap(f))(xs)")
        out["compare_not_vmap"] = run(kc, "%jaxpr --compare f(w)")
        out["jaxpr_bad_flag"] = run(kc, "%jaxpr --bogus f(w)")
        out["bench"] = check_charts(run(kc, "%vmapbench f xs --batch 1,2,8 --repeat 1 --hand hb --device cpu"))
        out["bench_no_xs"] = run(kc, "%vmapbench f")
        out["bench_bad_batch"] = run(kc, "%vmapbench f xs --batch 0,2")
        out["bench_bad_flag"] = run(kc, "%vmapbench f xs --frobnicate 2")
        out["bench_not_fn"] = run(kc, "%vmapbench count xs")
        out["bench_bad_device"] = run(kc, "%vmapbench f xs --device tpu")
        out["plot_line"] = check_charts(run(kc, "plot.line(jnp.arange(4), [1, 4, 9, 16], {title: 'squares', logY: true})"))
        out["plot_others"] = check_charts(run(kc, "\n".join([
            "display(plot.scatter([1, 2, 3], jnp.array([3, 1, 2])));",
            "display(plot.hist(jnp.arange(10), {bins: 5}));",
            "display(plot.heatmap(jnp.reshape(jnp.arange(6), [2, 3])));",
            "display({$schema: 'https://vega.github.io/schema/vega-lite/v5.json', mark: 'bar',"
            " data: {values: [{a: 1, b: 2}, {a: 2, b: 5}]},"
            " encoding: {x: {field: 'a', type: 'ordinal'}, y: {field: 'b', type: 'quantitative'}}});",
        ])))
        out["plot_bad"] = run(kc, "await plot.line([1, 2], [1, 2, 3]).toSpec()")
        out["env_set"] = run(kc, "%env VMAPLAB_MAGIC_TEST=hello world")
        out["env_get"] = run(kc, "%env VMAPLAB_MAGIC_TEST")
        out["env_process"] = run(kc, "process.env.VMAPLAB_MAGIC_TEST")
        out["env_list"] = run(kc, "%env")
        out["env_missing"] = run(kc, "%env VMAPLAB_NOT_SET_ANYWHERE")
        out["who"] = run(kc, "%who")
        out["who_typed"] = run(kc, "%who Array")
        out["reset_bad"] = run(kc, "%reset -x")
        out["reset_unconfirmed"] = run(kc, "%reset")
        out["reset"] = run(kc, "%reset -f")
        out["after_reset"] = run(kc, "[typeof xs, typeof f, typeof tree, jnp.ones([2]).shape]")
        out["who_after_reset"] = run(kc, "%who")
        out["redeclare_after_reset"] = run(kc, "const xs = jnp.zeros([2]);\nxs.shape")
        out["typecheck_bad"] = run(kc, "%%typecheck\nconst notNumber: number = 'a';\nconsole.log('ran')")
        out["typecheck_ok"] = run(kc, "%%typecheck\nconst fine: number = 1;\nconsole.log('ran')")
        out["typecheck_args"] = run(kc, "%%typecheck now")
        out["alive"] = run(kc, "21 * 2")
    except Exception:  # report what was observed up to the failure
        import traceback
        out["exception"] = traceback.format_exc()
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
    log.close()
    with open(log_path) as f:
        out["stderr_log"] = f.read()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
