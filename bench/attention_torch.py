"""Same-run PyTorch baseline for bench/attention: bf16 SDPA with enable_gqa=True (FlashAttention /
cuDNN), 32 query heads, 2 KV heads, head size 128, batch 1. CUDA events, warm-up, median of 10.
  decode: F.scaled_dot_product_attention(q[1,32,1,128], k, v [1,2,L,128]) at L = 128K, 1M, 4M, 16M
  prefill: causal SDPA at 32K, 128K (and 256K in prefill mode; PREFILL_LENGTHS=131072,... for
  others), bf16 and (medianMsF16) f16; training: causal forward + backward at 16K, 64K, 128K
  swa: causal SDPA at 32K (the same length as our W = 4K window).
Usage: attention_torch.py OUT.json [decode|prefill]   (only the decode cases, or only prefill)"""
import json, os, sys, torch
from torch_timing import timed
import torch.nn.functional as F

dev, bf = "cuda", torch.bfloat16
HQ, HK, D = 32, 2, 128


def sdpa(q, k, v, causal):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)

def check(q, k, v, causal):
    # a few query rows against a float32 matmul-softmax reference
    L = k.shape[2]
    rows = [0, q.shape[2] // 2, q.shape[2] - 1]
    out = sdpa(q, k, v, causal).float()
    for t in rows:
        qt = q[:, :, t:t + 1].float()
        kk = k.float().repeat_interleave(HQ // HK, 1)
        vv = v.float().repeat_interleave(HQ // HK, 1)
        end = (L - q.shape[2] + t + 1) if causal else L
        p = torch.softmax(qt @ kk[:, :, :end].transpose(-1, -2) / D ** 0.5, -1)
        ref = p @ vv[:, :, :end]
        assert torch.allclose(out[:, :, t:t + 1], ref, atol=2e-2), (t, (out[:, :, t:t + 1] - ref).abs().max())

res = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "call": "F.scaled_dot_product_attention(q, k, v, is_causal=..., enable_gqa=True), bf16"}
mode = sys.argv[2] if len(sys.argv) > 2 else "all"
res["decode"] = []
for L in [] if mode in ("prefill", "train", "swa") else [1 << 17, 1 << 20, 1 << 22, 1 << 24]:
    q = torch.randn(1, HQ, 1, D, device=dev, dtype=bf)
    k = torch.randn(1, HK, L, D, device=dev, dtype=bf)
    v = torch.randn(1, HK, L, D, device=dev, dtype=bf)
    if L <= 1 << 17:
        check(q, k, v, False)
    ms = timed(lambda: sdpa(q, k, v, False), 20)
    res["decode"].append({"context": L, "medianMs": ms, "kvTBps": 2 * k.numel() * 2 / (ms * 1e-3) / 1e12})
    del k, v
decode_only = mode == "decode"
res["prefill"] = []
prefill_lengths = [int(x) for x in os.environ["PREFILL_LENGTHS"].split(",")] if os.environ.get("PREFILL_LENGTHS") else [1 << 15] if mode == "swa" else [1 << 15, 1 << 17] + ([1 << 18] if mode == "prefill" else [])
for T in [] if decode_only or mode == "train" else prefill_lengths:
    q = torch.randn(1, HQ, T, D, device=dev, dtype=bf)
    k = torch.randn(1, HK, T, D, device=dev, dtype=bf)
    v = torch.randn(1, HK, T, D, device=dev, dtype=bf)
    if T <= 1 << 15:
        check(q, k, v, True)
    ms = timed(lambda: sdpa(q, k, v, True), 1, 5)
    # the same in f16 (our fastest K/V storage is f16: the same bytes as bf16)
    qh, kh, vh = q.half(), k.half(), v.half()
    ms16 = timed(lambda: sdpa(qh, kh, vh, True), 1, 5)
    del qh, kh, vh
    res["prefill"].append({"tokens": T, "medianMs": ms, "medianMsF16": ms16, "tflops": 2 * 2 * HQ * D * T * T / 2 / (ms * 1e-3) / 1e12})
res["train"] = []
for T in [] if decode_only or mode in ("prefill", "swa") else [int(x) for x in os.environ.get("TRAIN_LENGTHS", "16384,65536,131072").split(",")]:
    q = torch.randn(1, HQ, T, D, device=dev, dtype=bf, requires_grad=True)
    k = torch.randn(1, HK, T, D, device=dev, dtype=bf, requires_grad=True)
    v = torch.randn(1, HK, T, D, device=dev, dtype=bf, requires_grad=True)
    g = torch.randn(1, HQ, T, D, device=dev, dtype=bf)
    ms = timed(lambda: sdpa(q, k, v, True).backward(g), 1, 5)
    res["train"].append({"tokens": T, "medianMs": ms})
if res["prefill"]:
    res["swa"] = res["prefill"][0]
print(json.dumps(res, indent=2))
if len(sys.argv) > 1:
    json.dump(res, open(sys.argv[1], "w"), indent=2)
