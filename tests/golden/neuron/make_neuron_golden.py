"""Writes the golden file for the articles' sigmoid neuron (configs/neuron.json and
examples/sigmoid_neuron): the TensorFlow listing run in PyTorch, and in Keras when it is installed,
from the same glorot-uniform initial weights.

    bash scripts/setup-peers.sh        # once
    python3 tests/golden/neuron/make_neuron_golden.py

tests/golden/neuron/initial.safetensors holds the initial weights under nabla's state_dict names
(0.weight [1, 3], 0.bias [1]; a file `model.initial_weights` and the example accept), and
tests/golden/neuron/expected.safetensors
  0.weight, 0.bias              PyTorch's weights after 1000 epochs
  prediction [1, 1]             PyTorch's prediction for [10, 11, 12]
  loss [1000]                   PyTorch's loss before each epoch's step
and metadata {"keras_prediction": Keras' prediction (torch backend) from the same start, or ""}.
"""

import os
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden, for golden_io
from golden_io import case_seed, save_file  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
Y = [[1.0], [0.0], [1.0]]
NEW = [[10.0, 11.0, 12.0]]


def torch_run(weight, bias):
    """model = Dense(1, sigmoid); SGD(0.1); mean squared error; 1000 epochs of one full batch."""
    torch.set_num_threads(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    with torch.no_grad():
        net[0].weight.copy_(weight)
        net[0].bias.copy_(bias)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.tensor(X), torch.tensor(Y)
    losses = []
    for _ in range(1000):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        prediction = net(torch.tensor(NEW))
    return net, prediction, torch.tensor(losses)


def keras_run(weight, bias):
    """The listing itself, in Keras 3 on its torch backend, from the same weights."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return ""
    import numpy as np

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.layers[0].set_weights([weight.numpy().T, bias.numpy()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mean_squared_error")
    model.fit(np.array(X, dtype="float32"), np.array(Y, dtype="float32"), epochs=1000, verbose=0)
    return repr(float(model.predict(np.array(NEW, dtype="float32"), verbose=0)[0, 0]))


def main():
    gen = torch.Generator().manual_seed(case_seed("neuron"))
    weight = torch.empty(1, 3)
    bound = (6.0 / (3 + 1)) ** 0.5  # glorot-uniform for a 3 -> 1 kernel, as Keras' Dense
    weight.uniform_(-bound, bound, generator=gen)
    bias = torch.zeros(1)
    net, prediction, losses = torch_run(weight, bias)
    save_file({"0.weight": weight, "0.bias": bias}, HERE / "initial.safetensors", {})
    expected = {"0.weight": net[0].weight.detach().clone(), "0.bias": net[0].bias.detach().clone(),
                "prediction": prediction, "loss": losses}
    keras_prediction = keras_run(weight, bias)
    save_file(expected, HERE / "expected.safetensors", {"keras_prediction": keras_prediction})
    print(f"{HERE}: PyTorch prediction {prediction.item():.6f}, Keras {keras_prediction or 'not installed'}")


if __name__ == "__main__":
    main()
