import numpy as np
import torch

from scarce._torch import labels_to_tensor, resolve_device


def test_labels_to_tensor_hard_and_soft():
    hard = labels_to_tensor([2, 0, np.int64(1)])
    assert hard.dtype == torch.int64 and hard.tolist() == [2, 0, 1]
    soft = labels_to_tensor([np.array([0.25, 0.75]), [1.0, 0.0]])
    assert soft.dtype == torch.float32 and soft.shape == (2, 2)
    assert torch.allclose(soft, torch.tensor([[0.25, 0.75], [1.0, 0.0]]))


def test_resolve_device_is_shared():
    import scarce.synth.trainer
    import scarce.train

    assert scarce.train.resolve_device is resolve_device is scarce.synth.trainer.resolve_device
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
