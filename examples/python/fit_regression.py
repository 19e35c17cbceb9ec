"""Declare an MLP with onyx.nn, train it on scikit-learn's diabetes data with onyx.train.fit
(mse, a cosine schedule, gradient clipping), then serve it with onyx.InferenceSession.
Exits with status 1 unless the validation error ends well below the data's variance."""
import numpy as np
from sklearn.datasets import load_diabetes

import onyx
from onyx import nn

data = load_diabetes()
x = data.data.astype(np.float32) / data.data.std(0).astype(np.float32)
y = ((data.target - data.target.mean()) / data.target.std()).astype(np.float32)

net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
result = onyx.train.fit(net.to_onnx([10], seed=0), (x, y), epochs=30, batch_size=32, loss="mse",
                        metrics=["mse", "mae"], optimizer="adam", lr=0.003, lr_schedule="cosine:T_max=330",
                        clip_grad_norm=1.0, validation_split=0.2, seed=1, progress=False)
mse = result.history["val_mse"]
print(f"validation mse {mse[0]:.3f} -> {mse[-1]:.3f} (the targets have variance 1)")

session = onyx.InferenceSession(result.model.to_bytes())
first = session.run(None, {"input": x[:3]})[0]
print("predictions for the first three patients:", first.ravel().round(2), "targets:", y[:3].round(2))
raise SystemExit(0 if mse[-1] < 0.7 else 1)
