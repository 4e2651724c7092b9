"""Equivariance errors of a tensor-frames stack, float32 and float64, with a negative control.

    python benchmarks/equivariance_errors.py

Stack: to_local -> make_equivariant(EdgeConv) -> to_global on 500 random points, features
"4x0n+2x1n+1x2n", 16 random O(3) transforms (half improper); frames from PCA, LearnedFrames (random
init) and identity frames (the control, which must fail). Also the Irreps homomorphism error up to l = 6.
"""
import torch
from torch_geometric.nn import EdgeConv

import tensorframes_core as tf


def main() -> None:
    torch.manual_seed(0)
    reps = tf.TensorReps("4x0n+2x1n+1x2n")
    for dtype in (torch.float32, torch.float64):
        pos = torch.randn(500, 3, dtype=dtype)
        x = torch.randn(500, reps.dim, dtype=dtype)
        layer = tf.make_equivariant(EdgeConv(torch.nn.Linear(2 * reps.dim, reps.dim)).to(dtype), local={"x": reps})
        learned = tf.LearnedFrames(k=16).to(dtype)

        def stack(frames_of):
            def model(p, features):
                frames = frames_of(p)
                h = layer(tf.to_local(features, reps, frames), tf.knn_graph(p, 8), frames=frames)
                return tf.to_global(h, reps, frames)
            return model

        errors = {
            "pca": stack(lambda p: tf.pca_frames(p, k=16)),
            "learned": stack(learned),
            "identity (control)": stack(lambda p: tf.identity_frames(len(p), dtype=dtype)),
        }
        cells = [f"{name} {tf.equivariance_error(fn, pos, x, in_reps=reps, out_reps=reps, trials=16):.2e}"
                 for name, fn in errors.items()]
        irreps = tf.Irreps("8x0e+4x1o+2x2e+1x3o+1x6e")
        r, s = tf.random_orthogonal(100, dtype=dtype), tf.random_orthogonal(100, dtype=dtype)
        hom = (irreps.rho(r) @ irreps.rho(s) - irreps.rho(r @ s)).abs().max().item()
        print(f"{str(dtype):14s} " + "  ".join(cells) + f"  irreps homomorphism {hom:.2e}")


if __name__ == "__main__":
    main()
