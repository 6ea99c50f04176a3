"""A Workspace over a test's temp folder, for tests that drive the core directly."""

from __future__ import annotations

from pathlib import Path

from chatapp.config import MemorySettings, ModelConfig, Settings
from chatapp.core.workspace import Workspace


def workspace_for(tmp_path: Path, model: ModelConfig, user: str = "alice", **memory) -> Workspace:
    settings = Settings(
        models={model.name: model},
        default_model=model.name,
        data_dir=tmp_path,
        memory=MemorySettings(**memory),
    )
    return Workspace(settings, user)
