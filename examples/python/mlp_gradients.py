"""A two-layer MLP trained with onyx.np's lazy arrays and onyx.np.gradients (the
GradientTape style onnxruntime-numpy's README sketches): y = x plus a little noise, 100
steps of gradient descent. Exits with status 1 unless the loss falls tenfold."""
import numpy as np

import onyx
import onyx.np as onp

rng = np.random.default_rng(0)
batch, features, hidden, steps, lr = 32, 1, 64, 100, 0.05

x = rng.random((batch, features), dtype=np.float32)
y = x + rng.random((batch, 1), dtype=np.float32) / 10
w1 = onp.array(rng.standard_normal((features, hidden), dtype=np.float32) * 0.5)
b1 = onp.array(np.zeros(hidden, np.float32))
w2 = onp.array(rng.standard_normal((hidden, 1), dtype=np.float32) * 0.1)
b2 = onp.array(np.zeros(1, np.float32))
x, y = onp.array(x), onp.array(y)

losses = []
for step in range(steps):
    hidden_out = onp.nn.relu(x @ w1 + b1)
    loss = onp.square(hidden_out @ w2 + b2 - y).mean()
    dw1, db1, dw2, db2 = onp.gradients(loss, [w1, b1, w2, b2])
    losses.append(float(loss))
    # Each update is a new expression; eval() computes it now so the next step starts
    # from plain values instead of the whole history.
    w1, b1, w2, b2 = ((p - dp * lr).eval() for p, dp in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2)))

print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} after {steps} steps")
raise SystemExit(0 if losses[-1] < losses[0] / 10 else 1)
