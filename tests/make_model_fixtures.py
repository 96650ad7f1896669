"""Writes the TorchScript modules the model-objective tests load (run by the tests themselves with
Debian's /usr/bin/python3): make_model_fixtures.py OUT_DIR."""
import sys

import torch
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)


def save(module, name, train=False):
    module.train(train)
    torch.jit.save(torch.jit.script(module), f"{out}/{name}.pt")


# 6 features, 3 classes: the synthetic data of the tests.
save(nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)), "seq")
save(nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.5), nn.Tanh(), nn.Linear(5, 3)), "dropout_train", train=True)
save(nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.5), nn.Tanh(), nn.Linear(5, 3)), "dropout_eval")
save(nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 3)), "batchnorm_train", train=True)
save(nn.Sequential(nn.Linear(7, 5), nn.Tanh(), nn.Linear(5, 3)), "wrong_input")
save(nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4)), "wrong_output")


class Noisy(nn.Module):  # random in any mode
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(x) + torch.randn(x.shape[0], 3)


save(Noisy(), "noisy")
