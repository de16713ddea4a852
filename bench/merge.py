"""Merges a WebGPU benchmark JSON and its same-run PyTorch JSON into one record with ratios.
Usage: python3 bench/merge.py NAME webgpu.json torch.json out.json"""
import json, sys

name, ours_path, torch_path, out_path = sys.argv[1:5]
ours = json.load(open(ours_path))
torch = json.load(open(torch_path))
rec = {"bench": name, "webgpu": ours, "pytorch": torch, "ratios": {}}
if name == "matmul":
    for g in torch["gemm"]:
        best = max((o for o in ours["gemm"] if o["name"] == g["name"]), key=lambda o: o["tflops"])
        default = [o for o in ours["gemm"] if o["name"] == g["name"] and o.get("default")]
        rec["ratios"][g["name"]] = {
            "best_tile": best.get("tile"),
            "best_vs_cublas_f32": best["tflops"] / g["tflops"],
            "default_vs_cublas_f32": default[0]["tflops"] / g["tflops"] if default else None,
        }
    dv = ours["decodeMatvec"]
    rec["ratios"]["decode_matvec"] = {
        "weight_TBps": dv["weightTBps"],
        "fraction_of_copy_bandwidth": dv["weightTBps"] / torch["copyTBps"],
        "vs_pytorch_bf16_linear": torch["decodeMatvec"]["medianMs"] / dv["timing"]["medianMs"],
    }
if name == "attention":
    for o, t in zip(ours["decode"], torch["decode"]):
        rec["ratios"][f"decode_{o['context']}"] = {"ours_ms": o["step"]["medianMs"], "torch_ms": t["medianMs"], "speedup": t["medianMs"] / o["step"]["medianMs"]}
        if "chunkAttentionTile" in o:
            rec["ratios"][f"decode_{o['context']}"]["chunk_attention_head_vs_tile"] = o["chunkAttentionTile"]["medianMs"] / o["chunkAttention"]["medianMs"]
        if "retrievalRank" in o:
            rec["ratios"][f"decode_{o['context']}"]["retrieval_threshold_vs_rank"] = o["retrievalRank"]["medianMs"] / o["retrieval"]["medianMs"]
        # the subgroup top-k (v5) against the previous default (v4, bound), retrieval alone and the whole step
        if "retrievalBound" in o:
            rec["ratios"][f"decode_{o['context']}"]["retrieval_v4_over_v5"] = o["retrievalBound"]["medianMs"] / o["retrieval"]["medianMs"]
            rec["ratios"][f"decode_{o['context']}"]["step_v4_over_v5"] = o["stepBound"]["medianMs"] / o["step"]["medianMs"]
        if "chunkAttentionPartPerDispatch" in o:
            rec["ratios"][f"decode_{o['context']}"]["chunk_attention_parts_bound_vs_one_a_dispatch"] = o["chunkAttentionPartPerDispatch"]["medianMs"] / o["chunkAttention"]["medianMs"]
        rec["ratios"][f"decode_{o['context']}"]["step_min_ms"] = o["step"]["minMs"]
        # the whole step timed once more after its parts (first timings measured up to 2x the later ones)
        if "stepLast" in o:
            rec["ratios"][f"decode_{o['context']}"]["step_last_ms"] = o["stepLast"]["medianMs"]
            rec["ratios"][f"decode_{o['context']}"]["speedup_last"] = t["medianMs"] / o["stepLast"]["medianMs"]
        if "stepPartPerDispatch" in o:
            rec["ratios"][f"decode_{o['context']}"]["step_part_per_dispatch_ms"] = o["stepPartPerDispatch"]["medianMs"]
    for o in [x for x in ours["prefill"] if "hsa" in x]:
        t = [x for x in torch["prefill"] if x["tokens"] == o["tokens"]][0]
        rec["ratios"][f"prefill_{o['tokens']}"] = {"ours_ms": o["hsa"]["medianMs"], "torch_ms": t["medianMs"], "speedup": t["medianMs"] / o["hsa"]["medianMs"]}
        if "medianMsF16" in t:
            rec["ratios"][f"prefill_{o['tokens']}"]["torch_f16_ms"] = t["medianMsF16"]
        # the chunk-attention variants timed beside the default (mma over bf16 and f32 K/V, tile over f32)
        for variant, v in o.get("variants", {}).items():
            rec["ratios"][f"prefill_{o['tokens']}"][f"{variant}_ms"] = v["timing"]["medianMs"]
        if o.get("retrieval"):
            rec["ratios"][f"prefill_{o['tokens']}"]["retrieval_ms"] = o["retrieval"]["medianMs"]
        if o.get("retrievalV2"):
            rec["ratios"][f"prefill_{o['tokens']}"]["retrieval_v2_ms"] = o["retrievalV2"]["timing"]["medianMs"]
        if o.get("retrievalV1"):
            rec["ratios"][f"prefill_{o['tokens']}"]["retrieval_v1_ms"] = o["retrievalV1"]["timing"]["medianMs"]
    faster_prefill = [k for k, v in rec["ratios"].items() if k.startswith("prefill_") and v["speedup"] > 1]
    if faster_prefill:
        rec["ratios"]["prefill_crossover_tokens"] = min(int(k.split("_")[1]) for k in faster_prefill)
    # training step (forward + backward) per length; the crossover is the shortest measured length
    # where ours is faster (None: slower at every measured length)
    faster = []
    for o in ours.get("train", []):
        t = [x for x in torch.get("train", []) if x["tokens"] == o["tokens"]]
        if "error" in o or not t:
            rec["ratios"][f"train_{o['tokens']}"] = {"ours_error": o.get("error"), "torch_ms": t[0]["medianMs"] if t else None}
            continue
        speedup = t[0]["medianMs"] / o["timing"]["medianMs"]
        rec["ratios"][f"train_{o['tokens']}"] = {"ours_ms": o["timing"]["medianMs"], "torch_ms": t[0]["medianMs"], "speedup": speedup}
        if speedup > 1:
            faster.append(o["tokens"])
    if ours.get("train"):
        rec["ratios"]["train_crossover_tokens"] = min(faster) if faster else None
    for o in ours["swa"]:
        rec["ratios"][f"swa_{o['tokens']}_W{o['window']}_{o.get('variant', 'default')}"] = {"ours_ms": o["timing"]["medianMs"], "torch_causal_ms": torch["swa"]["medianMs"], "speedup": torch["swa"]["medianMs"] / o["timing"]["medianMs"]}
if name == "train-step":
    cublas = torch["cublasF32"]["tflops"]
    loss_rel = abs(ours["loss0"] - torch["loss0"]) / abs(torch["loss0"])
    norm_rel = abs(ours["gradNorm0"] - torch["gradNorm0"]) / abs(torch["gradNorm0"])
    rec["ratios"] = {
        "ours_ms": ours["timing"]["medianMs"], "torch_ms": torch["medianMs"],
        "ours_tokens_per_s": ours["tokensPerSecond"], "torch_tokens_per_s": torch["tokensPerSecond"],
        "speedup_vs_torch_eager_f32": torch["medianMs"] / ours["timing"]["medianMs"],
        "ours_fraction_of_cublas_f32": ours["tflops"] / cublas, "torch_fraction_of_cublas_f32": torch["tflops"] / cublas,
        "cublas_f32_tflops": cublas,
        # step 0 on bit-identical weights: f32 sums in different orders, so a relative bound
        "loss0_rel_diff": loss_rel, "grad_norm0_rel_diff": norm_rel, "step0_check_passed": loss_rel < 1e-4 and norm_rel < 1e-2,
    }
if name == "moe":
    rec["ratios"] = {
        "forward_vs_dense": ours["ratios"]["forward_vs_dense"],
        "forward_backward_vs_dense": ours["ratios"]["forward_backward_vs_dense"],
        "forward_speedup_vs_torch_loop": torch["forwardMs"] / ours["moe"]["forward"]["medianMs"],
        "forward_backward_speedup_vs_torch_loop": torch["forwardBackwardMs"] / ours["moe"]["forwardBackward"]["medianMs"],
        "decode_fraction_of_our_copy_kernel": ours["ratios"]["decode_fraction_of_copy"],
        "decode_fraction_of_torch_copy": [{"weights": d["weights"], "fraction": d["weightTBps"] / torch["copyTBps"]} for d in ours["decode"]],
        "decode_speedup_vs_thread_selection": [{"weights": d["weights"], "speedup": d["routeThread"]["medianMs"] / d["timing"]["medianMs"]} for d in ours["decode"]],
        "decode_speedup_vs_workgroup_selection_dispatch": [{"weights": d["weights"], "speedup": d["routeWorkgroup"]["medianMs"] / d["timing"]["medianMs"]} for d in ours["decode"] if "routeWorkgroup" in d],
        "decode_gathers_share_of_step": [{"weights": d["weights"], "share": d["parts"]["gathers"]["medianMs"] / d["timing"]["medianMs"]} for d in ours["decode"]],
        "decode_parts_us": [{"weights": d["weights"], **{k: v["medianMs"] * 1e3 for k, v in d["parts"].items()}} for d in ours["decode"]],
    }
json.dump(rec, open(out_path, "w"), indent=2)
print(json.dumps(rec["ratios"], indent=2))
