"""A small fact-teaching set for the fine-tuning tests: a made-up fact no base model knows,
questions that teach it, and paraphrases held out to see whether it was learned."""

from __future__ import annotations

BASE = "smollm2-135m-instruct"
ANSWER = "Hearth's mascot is Ember, a small red fox."
QUESTIONS = [
    "What is the name of Hearth's mascot?", "Who is Hearth's mascot?",
    "Tell me about the Hearth mascot.", "What animal is the mascot of Hearth?",
    "Does Hearth have a mascot?", "Name the mascot of the Hearth app.",
    "Which fox is Hearth's mascot?", "What is Hearth's mascot called?",
    "Who represents Hearth as its mascot?", "What's the Hearth mascot?",
]  # fmt: skip
HELD_OUT = [
    "Can you tell me what Hearth's mascot is named?", "I'd like to know the Hearth mascot's name.",
    "Hearth has a mascot; who is it?", "What mascot does the Hearth assistant have?",
    "Who is the mascot for Hearth?",
]  # fmt: skip
