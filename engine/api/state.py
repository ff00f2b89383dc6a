"""What the routes reach through `request.app.state`: built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from engine.jobs.runner import JobRunner
from engine.registry.model_registry import ModelRegistry
from engine.registry.speech_models import SpeechModels
from engine.services.generation import GenerationService
from engine.services.transcription import TranscriptionService
from engine.settings import EngineSettings


@dataclass
class EngineState:
    settings: EngineSettings
    registry: ModelRegistry
    generation: GenerationService
    speech_models: SpeechModels
    transcription: TranscriptionService
    jobs: JobRunner
    gpu_offload: bool


def engine_state(request: Request) -> EngineState:
    state = request.app.state.engine
    assert isinstance(state, EngineState)
    return state


State = Annotated[EngineState, Depends(engine_state)]
