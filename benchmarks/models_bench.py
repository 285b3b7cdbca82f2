"""Personas and predictive models on the demo world: the cross-validated figures of every algorithm (baselines
beside), the chosen k, the tree's fidelity and the health tags against the simulated truth, with timings.

    MEDREACH_VAR_DIR=var .venv/bin/python benchmarks/models_bench.py

Reads the lake and database of the settings (after `medreach demo`, whose pipeline builds the profile store);
trains each task once (new versions in the database, nothing promoted) and keeps a personas result.
"""

from __future__ import annotations

import json
import os
import platform
import time
import warnings

from medreach.core.db import Database
from medreach.core.settings import get_settings
from medreach.profiles import personas, propensity, service, truth


def main() -> None:
    warnings.filterwarnings("ignore")
    settings = get_settings()
    db = Database(settings.db_url)
    lake = settings.lake_path
    print(
        f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d')}"
    )
    for task in propensity.TASKS:
        started = time.perf_counter()
        with db.session() as s:
            sources = service.build_input(s).order_sources
            versions = propensity.train(s, lake, task, order_sources=sources)
            seconds = time.perf_counter() - started
            cv = versions[0].metrics["cv"]
            print(
                f"\n{task}: cut-off {versions[0].as_of:%Y-%m-%d}, {cv['support']} customers, "
                f"{cv['positives']} positives, {seconds:.1f}s for 4 algorithms x 5 folds + final fits"
            )
            print("| algorithm | accuracy | precision | recall | F1 | ROC AUC | confusion [[tn, fp], [fn, tp]] |")
            for v in versions:
                m = v.metrics["cv"]
                auc = "–" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
                print(
                    f"| {v.algorithm} | {m['accuracy']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | "
                    f"{m['f1']:.3f} ± {m['f1_std']:.3f} | {auc} | {m['confusion']} |"
                )
    started = time.perf_counter()
    result = personas.run(lake)
    print(
        f"\npersonas: {result['customers']} customers, k = {result['k']} (elbow {result['selection']['elbow']}), "
        f"tree fidelity {result['tree']['fidelity']:.3f} (cv {result['tree']['fidelity_cv']:.3f}), "
        f"{time.perf_counter() - started:.1f}s"
    )
    print("silhouette by k:", {s["k"]: round(s["silhouette"], 3) for s in result["selection"]["scores"]})
    for c in result["clusters"]:
        top = ", ".join(f"{d['feature']} {d['z']:+.2f}" for d in c["distinguishing"][:3])
        print(f"  {c['name_zh']} / {c['name_en']}: {c['size']} ({c['share']:.0%}); {top}")
    try:
        report = truth.report(lake)
    except Exception as e:  # noqa: BLE001 no simulated world
        print("truth:", e)
        return
    print(f"\nhealth tags vs truth: {report['customers']} consenting shoppers")
    for c in report["conditions"]:
        print(json.dumps({k: c[k] for k in ("condition", "tagged", "actual", "precision", "recall")}))


if __name__ == "__main__":
    main()
