"""Fixtures shared by the trainer tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    # The CI machine has 2 shared cores: one thread avoids oversubscription stalls.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
