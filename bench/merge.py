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
    for o in [x for x in ours["prefill"] if "hsa" in x]:
        t = [x for x in torch["prefill"] if x["tokens"] == o["tokens"]][0]
        rec["ratios"][f"prefill_{o['tokens']}"] = {"ours_ms": o["hsa"]["medianMs"], "torch_ms": t["medianMs"], "speedup": t["medianMs"] / o["hsa"]["medianMs"]}
    for o in ours["swa"]:
        rec["ratios"][f"swa_{o['tokens']}_W{o['window']}"] = {"ours_ms": o["timing"]["medianMs"], "torch_causal_ms": torch["swa"]["medianMs"], "speedup": torch["swa"]["medianMs"] / o["timing"]["medianMs"]}
json.dump(rec, open(out_path, "w"), indent=2)
print(json.dumps(rec["ratios"], indent=2))
