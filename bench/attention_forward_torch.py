"""Same-run PyTorch baseline for bench/attention-forward: F.scaled_dot_product_attention at the same
shapes, f32 (TF32 off; the math our WGSL kernels do) and bf16 (FlashAttention / cuDNN), batch 1.
  train:   q, k, v [1, 8, 4096, 64], is_causal=True
  prefill: q [1, 32, 32768, 128], k, v [1, 2, 32768, 128], is_causal=True, enable_gqa=True (full
           causal: SDPA has no sliding window; ours uses W = 4K, i.e. 1/4 of these FLOPs)
  chunk:   q, k, v [512, 8, 64, 64], bidirectional
CUDA events, 3 warm-up calls, median of 10. Usage: attention_forward_torch.py OUT.json"""
import json, sys, torch
import torch.nn.functional as F
from torch_timing import timed

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"
CASES = [("train", 1, 8, 8, 4096, 64, True), ("prefill", 1, 32, 2, 1 << 15, 128, True), ("chunk", 512, 8, 8, 64, 64, False)]


def flop(b, hq, t, d, causal):
    return 4 * b * hq * d * (t * (t + 1) / 2 if causal else t * t)


res = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "call": "F.scaled_dot_product_attention(q, k, v, is_causal=..., enable_gqa=True)", "cases": []}
for name, b, hq, hk, t, d, causal in CASES:
    row = {"name": name, "b": b, "hq": hq, "hk": hk, "t": t, "d": d, "causal": causal}
    for dt in [torch.float32, torch.bfloat16]:
        q = torch.randn(b, hq, t, d, device=dev, dtype=dt)
        k = torch.randn(b, hk, t, d, device=dev, dtype=dt)
        v = torch.randn(b, hk, t, d, device=dev, dtype=dt)
        fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hq != hk)
        try:
            ms = timed(fn, 1 if t > 4096 else 10)
            row[str(dt).split(".")[1]] = {"medianMs": ms, "tflops": flop(b, hq, t, d, causal) / (ms * 1e-3) / 1e12}
        except Exception as e:  # e.g. out of memory for the f32 math path at 32K
            row[str(dt).split(".")[1]] = {"error": str(e).split("\n")[0]}
        del q, k, v
        torch.cuda.empty_cache()
    print(json.dumps(row), file=sys.stderr)
    res["cases"].append(row)
json.dump(res, open(sys.argv[1], "w"), indent=2)
