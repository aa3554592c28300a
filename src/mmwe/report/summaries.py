"""Tables and summaries of saved results, rendered from a run folder's results.json (never from live objects).

`result_table` / `summary_text` give the main table and the prose of a Collell & Moens result.
"""

from __future__ import annotations

MAP_MODELS = ("lin", "nn")
SIMILARITIES = ("cosine", "euclidean")

# hubness-reduced retrieval (CSLS, k = 10) and P@k with several correct targets (IAPR TC-12 labels)
CSLS_COLUMNS = [("csls_r@1", "CSLS R@1"), ("csls_r@5", "CSLS R@5"), ("csls_r@10", "CSLS R@10")]
P_COLUMNS = [("p@1", "P@1"), ("p@5", "P@5"), ("p@10", "P@10"),
             ("csls_p@1", "CSLS P@1"), ("csls_p@5", "CSLS P@5"), ("csls_p@10", "CSLS P@10")]
ZS_CSLS_COLUMNS = [("zs_csls_top1", "ZS CSLS top-1"), ("zs_csls_top5", "ZS CSLS top-5")]
EXP1_COLUMNS = [("dataset", "dataset"), ("direction", "direction"), ("map", "map"),
                ("mnno_x_fx", "mNNO(X,f(X))"), ("mnno_y_fx", "mNNO(Y,f(X))"), ("mnno_x_y", "mNNO(X,Y)"),
                ("mse", "MSE"), ("r2", "R2 (var.-weighted)"), ("r@1", "R@1"), ("r@5", "R@5"), ("r@10", "R@10"),
                *CSLS_COLUMNS, ("median_rank", "med. rank"), ("mAP", "mAP"), *P_COLUMNS,
                ("zs_top1", "ZS top-1"), ("zs_top5", "ZS top-5"), *ZS_CSLS_COLUMNS, ("input_closer", "X closer")]


def exp2_pivot(rows: list[dict], maps=MAP_MODELS) -> tuple[list[dict], list[str]]:
    """The paper's Table 3 layout: per embedding and similarity, rows original / f_lin / f_nn, one column per
    benchmark; '*' marks a mapped correlation that differs from the original (Steiger p < 0.05)."""
    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    out = []
    for emb in dict.fromkeys(r["embedding"] for r in rows):
        for sim in SIMILARITIES:
            sel = {r["benchmark"]: r for r in rows if r["embedding"] == emb and r["similarity"] == sim}
            if not sel:
                continue
            out.append({"embedding": emb, "similarity": sim, "vectors": "pairs found",
                        **{b: f"{sel[b]['found']}/{sel[b]['pairs']}" for b in sel}})
            out.append({"embedding": emb, "similarity": sim, "vectors": "original",
                        **{b: sel[b]["original"] for b in sel}})
            for m in maps:
                cells = {}
                for b, r in sel.items():
                    v, p = r.get(f"f_{m}"), r.get(f"p_{m}")
                    cells[b] = None if v is None else f"{v:.3f}" + ("*" if p is not None and p < 0.05 else "")
                out.append({"embedding": emb, "similarity": sim, "vectors": f"f_{m}", **cells})
    return out, ["embedding", "similarity", "vectors", *benches]


BRIDGE_COLUMNS = [("dataset", "dataset"), ("direction", "direction"), ("map", "map"), ("loss", "loss"),
                  ("chosen", "setting (most folds)"), ("mnno_x_fx", "mNNO(X,f(X))"), ("mnno_y_fx", "mNNO(Y,f(X))"),
                  ("mnno_x_y", "mNNO(X,Y)"), ("gap", "gap Y-X"), ("gap_ci", "gap 95% CI"), ("r@1", "R@1"),
                  ("r@5", "R@5"), ("r@10", "R@10"), *CSLS_COLUMNS, ("mAP", "mAP"), *P_COLUMNS, ("zs_top1", "ZS top-1"),
                  ("zs_top5", "ZS top-5"), *ZS_CSLS_COLUMNS, ("above", "above diag."), ("goal", "goal")]


def _star(v, p) -> str | None:
    return None if v is None else f"{v:.3f}" + ("*" if p is not None and p < 0.05 else "")


def bridge_rows(rows: list[dict]) -> list[dict]:
    """Bridge rows with the gap's CI as one cell."""
    return [{**r, "gap_ci": None if r.get("gap_ci_low") is None else f"[{r['gap_ci_low']:.3f}, {r['gap_ci_high']:.3f}]"}
            for r in rows]


def imagined_pivot(rows: list[dict], maps=MAP_MODELS) -> tuple[list[dict], list[str]]:
    """Per visual set and similarity: pairs found (visual / imagined), then Spearman rows visual / text / f_m /
    untrained f_m, one column per benchmark ('*': differs from the visual vectors at p < 0.05, Steiger)."""
    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    cols = ["original", "text", *(f"f_{m}" for m in maps), *(f"untrained_{m}" for m in maps)]
    label = {"original": "visual (original)", "text": "text (GloVe)",
             **{f"f_{m}": f"imagined f_{m}" for m in maps}, **{f"untrained_{m}": f"untrained f_{m}" for m in maps}}
    out = []
    for emb in dict.fromkeys(r["embedding"] for r in rows):
        for sim in SIMILARITIES:
            sel = {r["benchmark"]: r for r in rows if r["embedding"] == emb and r["similarity"] == sim}
            if not sel:
                continue
            head = {"embedding": emb, "similarity": sim}
            out.append({**head, "vectors": "pairs scored / visual / imagined",
                        **{b: f"{r['scored']} / {r['found_visual']} / {r['found_imagined']}" for b, r in sel.items()}})
            for c in cols:
                cells = {b: _star(r.get(c), r.get(f"p_{c}")) for b, r in sel.items()}
                out.append({**head, "vectors": label[c], **cells})
    return out, ["embedding", "similarity", "vectors", *benches]


def result_table(result: dict) -> tuple[list[dict], list]:
    """(rows, columns) of the main table of a result dict."""
    if result["experiment"] == "collell-exp1":
        return result["rows"], EXP1_COLUMNS
    if result["experiment"] == "collell-bridge":
        return bridge_rows(result["rows"]), BRIDGE_COLUMNS
    if result["experiment"] == "collell-imagined":
        return imagined_pivot(result["rows"], tuple(result["config"]["maps"]))
    return exp2_pivot(result["rows"], tuple(result["config"]["maps"]))


def imagined_text(result: dict) -> str:
    """Coverage and, per visual set, similarity and map, on how many benchmarks each finding holds."""
    lines = []
    for name, s in result["visual_sets"].items():
        built = result.get("visual_words", {}).get(name)
        src = f" from {built['images_with_features']} images of {built['corpus_spec']}" if built else ""
        lines.append(f"{name}: {s['words']} visual words{src} (>= {built['min_images'] if built else '?'} images), "
                     f"{s['shared_with_text']} with a text vector: f trained on {s['train_words']}, "
                     f"{s['heldout_words']} held out (held-out mean cosine of f(x) with y: "
                     + ", ".join(f"{m} {v['cosine']:.3f}" for m, v in s["heldout"].items()) + ").")
    for f in result["findings"].values():
        n = f["benchmarks"]
        lines.append(f"{f['embedding']}, {f['similarity']}, f_{f['map']}: Finding 1 (imagined > visual) on "
                     f"{f['finding1']} of {n} benchmarks ({f['finding1_significant']} significant); Finding 2 "
                     f"(untrained imagined > visual) on {f['finding2_vs_visual']} of {n} "
                     f"({f['finding2_vs_visual_significant']} significant), > trained imagined on "
                     f"{f['finding2_vs_trained']} of {n}; GloVe itself > visual on {f['text_beats_visual']} of {n}.")
    gain = [r for r in result["rows"] if r["similarity"] == result["rows"][0]["similarity"]] if result["rows"] else []
    if gain:
        lines.append("Pairs scorable, visual -> imagined: " + ", ".join(
            f"{r['benchmark']} {r['found_visual']} -> {r['found_imagined']}" for r in gain
            if r["embedding"] == gain[0]["embedding"]) + ".")
    lines.append(f"Spearman rho on the pairs the visual vectors cover; '*' = differs from the visual vectors at "
                 f"p < 0.05 (Steiger); a benchmark needs >= {result['min_pairs']} such pairs.")
    return "\n\n".join(lines)


def bridge_text(result: dict) -> str:
    """The data, the goal and the best map (largest gap)."""
    d, c, b = result["data"], result["config"], result["best"]
    above = [r for r in result["rows"] if r.get("above")]
    ci = "" if b.get("gap_ci_low") is None else f", 95% CI [{b['gap_ci_low']:.3f}, {b['gap_ci_high']:.3f}]"
    return "\n\n".join([
        f"Dataset {b['dataset']}: N = {d.get('n', '?')}; {c['folds']}-fold out-of-fold f(X); mNNO K={c['k']}, "
        f"{c['metric']}, include_self={c['include_self']} (chance {result['chance_mnno']:.3f}); settings chosen on "
        f"a validation split inside each training fold.",
        f"Above the diagonal (CI of mNNO(Y,f(X)) - mNNO(X,f(X)) above 0): {len(above)} of {len(result['rows'])} maps; "
        "goal (above, with R@10 >= the MSE map's) " + ("REACHED." if result["goal_reached"] else "not reached."),
        f"Best gap: {b['direction']} {b['map']} {b['loss']} ({b['chosen']}): mNNO(X,f(X)) {b['mnno_x_fx']:.3f}, "
        f"mNNO(Y,f(X)) {b['mnno_y_fx']:.3f}, gap {b['gap']:.3f}{ci}; R@10 {b['r@10']:.3f} "
        f"(MSE {b['r10_mse']:.3f})." if b.get("r10_mse") is not None else
        f"Best gap: {b['direction']} {b['map']} {b['loss']}: gap {b['gap']:.3f}{ci}."])


def summary_text(result: dict) -> str:
    """A few lines stating the data coverage and, for experiment 1, whether the paper's finding held."""
    if result["experiment"] == "collell-bridge":
        return bridge_text(result)
    if result["experiment"] == "collell-imagined":
        return imagined_text(result)
    if result["experiment"] == "collell-exp2":
        sets = result.get("visual_word_sets") or {}
        words = "".join(f" {n}: {s['words_kept']} visual words from {s['images_with_features']} images of "
                        f"{s['corpus_spec']} (>= {s['min_images']} images, {s['aggregate']})." for n, s in sets.items())
        return (f"Untrained maps (authors' architecture, seed {result['config']['seed']}); Spearman rho; '*' = "
                f"differs from the original at p < 0.05 (Steiger). Visual vectors: ImageNet classifier rows keyed by "
                f"{result['visual_words']} single-word class lemmas (efficientnet-lite0-fc);"
                + (words or " no visual word vectors (`--corpus` not given).")
                + f" Correlations need >= {result['min_pairs']} pairs.")
    d, rows = result["data"], result["rows"]
    held = sum(r["input_closer"] for r in rows)
    lines = [f"Dataset {rows[0]['dataset'] if rows else '?'}: N = {d['n']}"
             + (f" ({d['dropped']} of {d['classes']} classes dropped: no word vector)" if "dropped" in d else "")
             + (f"; text side: {d.get('text', '?')}; image side: {d['visual_cnn']} visual word vectors (>= "
                f"{d.get('min_images', '?')} images of {d.get('corpus', '?')})." if "visual_cnn" in d else ""),
             f"{result['config']['folds']}-fold CV, out-of-fold predictions; mNNO K={result['config']['k']}, "
             f"{result['config']['metric']}, include_self={result['config']['include_self']} "
             f"(chance {result['chance_mnno']:.3f}).",
             *([f"mAP of a random ranking ~ {d['chance_map']:.3f} (share of label-sharing pairs)."]
               if "chance_map" in d else []),
             f"mNNO(X,f(X)) > mNNO(Y,f(X)) in {held} of {len(rows)} maps: the finding "
             + ("holds." if result["finding_holds"] else "does NOT hold everywhere.")]
    return "\n\n".join(lines)

