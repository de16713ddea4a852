"""Timing shared by the PyTorch baselines: CUDA events over `iters` calls, 3 warm-up calls, median of
`reps` repetitions, milliseconds per call."""
import statistics
import torch


def timed(fn, iters, reps=10):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(iters):
            fn()
        e.record()
        torch.cuda.synchronize()
        out.append(s.elapsed_time(e) / iters)
    return statistics.median(out)
