"""Same-run PyTorch baseline for bench/train-step: the same dense model on bit-identical weights and
tokens (train_step_init.py), f32 with TF32 off, eager, attention through
F.scaled_dot_product_attention(q, k, v, is_causal=True) (f32: PyTorch's memory-efficient kernel),
F.rms_norm, rotate-half RoPE, F.silu(gate)·up, F.cross_entropy; torch.optim.AdamW (default foreach
on CUDA) with weight decay on the matrices only. Step = zero_grad(set_to_none) + forward + backward +
optimizer step. Records step 0's loss and global gradient norm (bench/merge.py compares them with
ours), then CUDA events over `iters` steps, median of `reps` after warm-up; and torch.mm 4096³ f32
(cuBLAS, no TF32) as the card's f32 rate in this run.
With --fused (as our side's flag): each layer's q/k/v weights one [3d, d] parameter and gate/up one
[2·ffn, d], each one F.linear split into views (torch.split / chunk).
Usage: train_step_torch.py OUT.json [--d 512 --layers 12 --heads 8 --ffn 1536 --vocab 32000 --tokens 4096 --iters 2 --reps 10] [--fused]"""
import argparse, json
import torch
import torch.nn.functional as F
from torch_timing import timed
from train_step_init import hash_tokens, init_params

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
dev = "cuda"
LR, BETAS, EPS, WD = 1e-4, (0.9, 0.95), 1e-8, 0.1

ap = argparse.ArgumentParser()
ap.add_argument("out")
for k, v in dict(d=512, layers=12, heads=8, ffn=1536, vocab=32000, tokens=4096, iters=2, reps=10).items():
    ap.add_argument(f"--{k}", type=int, default=v)
ap.add_argument("--profile", action="store_true", help="also one step under torch.profiler: CUDA time by kernel")
ap.add_argument("--fused", action="store_true", help="q/k/v and gate/up weights as one parameter each, one F.linear each (split into views)")
a, _ = ap.parse_known_args()  # our side's own flags pass through
c = dict(d=a.d, layers=a.layers, heads=a.heads, ffn=a.ffn, vocab=a.vocab, tokens=a.tokens)
T, D, H = a.tokens, a.d, a.heads
DH = D // H

P = {name: torch.tensor(w, device=dev, requires_grad=True) for name, w, _ in init_params(c)}
FUSED = {"wqkv": ("wq", "wk", "wv"), "wGateUp": ("wGate", "wUp")}
if a.fused:  # the same numbers, stacked [out1; out2; ...] as the rows of one nn.Linear weight
    for l in range(a.layers):
        for f, parts in FUSED.items():
            P[f"l{l}.{f}"] = torch.cat([P.pop(f"l{l}.{w}").detach() for w in parts]).requires_grad_()
norms = {n for n in P if n.endswith("Norm")}
toks = torch.tensor(hash_tokens(T + 1, 12345, a.vocab), device=dev)
ids, targets = toks[:-1], toks[1:]

# RoPE tables, fp32 exactly as HF Llama forms them: inv_freq = 1/θ^(2i/D), angle = pos·inv_freq
inv_freq = 1.0 / (10000.0 ** (torch.arange(0, DH, 2, device=dev).float() / DH))
ang = torch.arange(T, device=dev).float()[:, None] * inv_freq[None, :]
cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]


def rope(x):  # x [T, H, DH], rotate-half layout
    x1, x2 = x[..., : DH // 2], x[..., DH // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def rms(x, w):
    return F.rms_norm(x, (D,), w, eps=1e-6)


def layer(l, x):
    p = lambda n: P[f"l{l}.{n}"]
    h = rms(x, p("attnNorm"))
    heads = lambda y: y.view(T, H, DH)
    if a.fused:
        q, k, v = F.linear(h, p("wqkv")).split(D, -1)
        q, k, v = rope(heads(q)), rope(heads(k)), heads(v)
    else:
        q, k, v = rope(heads(F.linear(h, p("wq")))), rope(heads(F.linear(h, p("wk")))), heads(F.linear(h, p("wv")))
    q, k, v = (t.transpose(0, 1).unsqueeze(0) for t in (q, k, v))  # [1, H, T, DH]
    att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + F.linear(att.squeeze(0).transpose(0, 1).reshape(T, D), p("wo"))
    h2 = rms(x, p("mlpNorm"))
    gate, up = F.linear(h2, p("wGateUp")).chunk(2, -1) if a.fused else (F.linear(h2, p("wGate")), F.linear(h2, p("wUp")))
    return x + F.linear(F.silu(gate) * up, p("wDown"))


def loss_fn():
    x = F.embedding(ids, P["embed"])
    for l in range(a.layers):
        x = layer(l, x)
    return F.cross_entropy(F.linear(rms(x, P["finalNorm"]), P["lmHead"]), targets)


decay = [t for n, t in P.items() if n not in norms]
nodecay = [t for n, t in P.items() if n in norms]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn()
    loss.backward()
    opt.step()
    return loss


opt.zero_grad(set_to_none=True)
loss0 = loss_fn()
loss0.backward()
grad_norm0 = torch.sqrt(sum((t.grad.double() ** 2).sum() for t in P.values())).item()
opt.step()
torch.cuda.reset_peak_memory_stats()
ms = timed(step, a.iters, a.reps)
peak = torch.cuda.max_memory_allocated()

A = torch.randn(4096, 4096, device=dev)
B = torch.randn(4096, 4096, device=dev)
Cm = torch.empty(4096, 4096, device=dev)
ref = (A[:64].double() @ B.double()).float()
assert torch.allclose(torch.mm(A[:64], B), ref, rtol=1e-4, atol=1e-3), "cuBLAS f32 check failed (TF32 on?)"
mm_ms = timed(lambda: torch.mm(A, B, out=Cm), 10)

profile = None
if a.profile:
    # one step under the profiler after the timed ones (the card at full clock): CUDA time by kernel name
    from torch.profiler import ProfilerActivity, profile as tprofile

    for _ in range(3):
        step()
    with tprofile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    rows = [(e.key, e.count, e.self_device_time_total / 1e3) for e in prof.key_averages() if e.self_device_time_total > 0]
    rows.sort(key=lambda r: -r[2])
    profile = {"kernels": [{"name": n[:160], "count": c, "ms": ms_} for n, c, ms_ in rows[:40]], "totalMs": sum(r[2] for r in rows)}

flops = 6 * (a.layers * (4 * D * D + 3 * D * a.ffn) + a.vocab * D) * T + 6 * a.layers * T * T * D
res = {
    "torch": torch.__version__,
    "device": torch.cuda.get_device_name(),
    "config": c,
    "call": "eager f32, TF32 off; F.scaled_dot_product_attention(is_causal=True); F.rms_norm; F.cross_entropy; torch.optim.AdamW (foreach)",
    "fused": a.fused,
    "loss0": loss0.item(),
    "gradNorm0": grad_norm0,
    "medianMs": ms,
    "iters": a.iters,
    "reps": a.reps,
    "tokensPerSecond": T / (ms * 1e-3),
    "tflops": flops / (ms * 1e-3) / 1e12,
    "peakBytes": peak,
    "cublasF32": {"call": "torch.mm 4096x4096x4096 f32, allow_tf32=False", "medianMs": mm_ms, "tflops": 2 * 4096 ** 3 / (mm_ms * 1e-3) / 1e12},
    "profile": profile,
}
json.dump(res, open(a.out, "w"), indent=2)
print(json.dumps(res, indent=2))
