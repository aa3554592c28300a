"""Tables and summaries of saved results, rendered from a run folder's results.json (never from live objects).

`result_table` / `summary_text` give the main table and the prose of a Collell & Moens result.
"""

from __future__ import annotations

MAP_MODELS = ("lin", "nn")
SIMILARITIES = ("cosine", "euclidean")

EXP1_COLUMNS = [("dataset", "dataset"), ("direction", "direction"), ("map", "map"),
                ("mnno_x_fx", "mNNO(X,f(X))"), ("mnno_y_fx", "mNNO(Y,f(X))"), ("mnno_x_y", "mNNO(X,Y)"),
                ("mse", "MSE"), ("r2", "R2"), ("r@1", "R@1"), ("r@5", "R@5"), ("r@10", "R@10"),
                ("median_rank", "med. rank"), ("mAP", "mAP"), ("zs_top1", "ZS top-1"), ("zs_top5", "ZS top-5"),
                ("input_closer", "X closer")]


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


def result_table(result: dict) -> tuple[list[dict], list]:
    """(rows, columns) of the main table of a result dict."""
    if result["experiment"] == "collell-exp1":
        return result["rows"], EXP1_COLUMNS
    return exp2_pivot(result["rows"], tuple(result["config"]["maps"]))


def summary_text(result: dict) -> str:
    """A few lines stating the data coverage and, for experiment 1, whether the paper's finding held."""
    if result["experiment"] == "collell-exp2":
        return (f"Untrained maps (authors' architecture, seed {result['config']['seed']}); Spearman rho; '*' = "
                f"differs from the original at p < 0.05 (Steiger). Visual vectors: ImageNet classifier rows keyed by "
                f"{result['visual_words']} single-word class lemmas; correlations need >= {result['min_pairs']} pairs.")
    d, rows = result["data"], result["rows"]
    held = sum(r["input_closer"] for r in rows)
    lines = [f"Dataset {rows[0]['dataset'] if rows else '?'}: N = {d['n']}"
             + (f" ({d['dropped']} of {d['classes']} classes dropped: no word vector)" if "dropped" in d else ""),
             f"{result['config']['folds']}-fold CV, out-of-fold predictions; mNNO K={result['config']['k']}, "
             f"{result['config']['metric']}, include_self={result['config']['include_self']} "
             f"(chance {result['chance_mnno']:.3f}).",
             *([f"mAP of a random ranking ~ {d['chance_map']:.3f} (share of label-sharing pairs)."]
               if "chance_map" in d else []),
             f"mNNO(X,f(X)) > mNNO(Y,f(X)) in {held} of {len(rows)} maps: the finding "
             + ("holds." if result["finding_holds"] else "does NOT hold everywhere.")]
    return "\n\n".join(lines)

