"""Processes and devices: one process, or several under ``torchrun`` (DistributedDataParallel).

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; with them the
process group is gloo on CPU and nccl on CUDA, each process drives
``cuda:LOCAL_RANK``, and only rank 0 writes files or prints.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from flame.core.errors import ConfigError, param


@dataclass
class DistContext:
    """Where this process runs and who it is.

    Attributes:
        rank: global rank (0 when not distributed).
        world_size: number of processes.
        local_rank: rank on this machine (selects the GPU).
        device: the torch device this process trains on.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        """Whether a process group is in use."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (no-op alone)."""
        if self.distributed:
            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index])
            else:
                dist.barrier()

    def mean(self, value: float) -> float:
        """The mean of a number over all processes."""
        if not self.distributed:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def gather(self, obj: Any) -> list[Any]:
        """One picklable object from every process, in rank order (on every rank)."""
        if not self.distributed:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        """Leave the process group."""
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def resolve_device(request: str, local_rank: int = 0) -> torch.device:
    """The device for ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        ConfigError: on an unknown device or CUDA asked for without a GPU.
    """
    request = (request or "auto").lower()
    if request == "auto":
        request = "cuda" if torch.cuda.is_available() else "cpu"
    if request == "cpu":
        return torch.device("cpu")
    if request.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{param('device')} {request} asked for, but this torch sees no CUDA device; use {param('device')} cpu")
        if request == "cuda":
            return torch.device("cuda", local_rank)
        try:
            device = torch.device(request)
        except RuntimeError as exc:
            raise ConfigError(f"unknown {param('device')} {request!r}; expected auto, cpu, cuda or cuda:N") from exc
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{param('device')} {request}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return device
    raise ConfigError(f"unknown {param('device')} {request!r}; expected auto, cpu, cuda or cuda:N")


def ddp_device_ids(device: torch.device) -> list[int] | None:
    """``DistributedDataParallel``'s ``device_ids``: the one GPU this process drives, None on the CPU.

    Raises:
        ConfigError: for a CUDA device without an index (``setup`` always gives one).
    """
    if device.type != "cuda":
        return None
    if device.index is None:
        raise ConfigError(f"DistributedDataParallel needs an indexed CUDA device (cuda:LOCAL_RANK), found {device}")
    return [device.index]


def setup(device_request: str) -> DistContext:
    """Join the ``torchrun`` process group when there is one, and pick the device.

    Raises:
        ConfigError: on a bad device request.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1 and (device_request or "").lower().startswith("cuda:"):
        raise ConfigError(f"{param('device')} {device_request} under torchrun: use {param('device')} cuda (each process takes "
                          "cuda:LOCAL_RANK) or CUDA_VISIBLE_DEVICES to choose the GPUs")
    device = resolve_device(device_request, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        # Rank 0 validates alone while the others wait: allow far longer than the default 10-30 min.
        timeout = datetime.timedelta(hours=6)
        if device.type == "cuda":
            dist.init_process_group("nccl", timeout=timeout, device_id=device)
        else:
            dist.init_process_group("gloo", timeout=timeout)
    return DistContext(rank, world_size, local_rank, device)
