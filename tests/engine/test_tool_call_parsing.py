"""The call parser and grammars, without a model: calls in each format found in text fed in any
pieces, content around them kept, and grammars llama.cpp accepts."""

from __future__ import annotations

import ctypes
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine.backends.llama_batch import grammar_sampler
from engine.tools.calls import FORMATS, ToolCallParser, assemble, tools_grammar
from engine.tools.integer_ranges import integer_range

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


def _parse(fmt: str, text: str, step: int) -> tuple[str, list[tuple[str, str, str]]]:
    """Feed `text` in pieces of `step` characters; the content sent and the assembled calls."""
    parser = ToolCallParser(FORMATS[fmt])
    content, deltas = "", []
    for i in range(0, len(text), step):
        sent, events = parser.feed(text[i : i + step])
        content += sent
        deltas += events
    content += parser.finish()
    assert content == parser.content
    calls = assemble(deltas)
    assert [(c.name, c.arguments) for c in parser.calls] == [(n, a) for _i, n, a in calls]
    return content, calls


CASES = [
    ("hermes", 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}'
     "\n</tool_call>", "Let me check.\n", [("get_weather", '{"city": "Lyon"}')]),
    ("hermes", '<tool_call>\n{"name": "a", "arguments": {"x": "}{\\""}}\n</tool_call>\n<tool_call>'
     '\n{"name": "b", "arguments": {"y": [1, {"z": 2}]}}\n</tool_call>', "",
     [("a", '{"x": "}{\\""}'), ("b", '{"y": [1, {"z": 2}]}')]),
    ("hermes", '```json\n{\n  "name": "get_weather",\n  "arguments": {\n    "city": "Lyon"\n  }\n}\n```',
     "", [("get_weather", '{\n    "city": "Lyon"\n  }')]),
    ("hermes", '{"name": "get_weather", "arguments": {"city": "Nice"}}', "",
     [("get_weather", '{"city": "Nice"}')]),
    ("hermes", 'Use a list:\n```json\n[1, 2]\n```\nand {"name": "x"} is data.',
     'Use a list:\n```json\n[1, 2]\n```\nand {"name": "x"} is data.', []),
    ("hermes", "a < b and `x` ```python\nprint(1)\n```", "a < b and `x` ```python\nprint(1)\n```", []),
    ("mistral", '[TOOL_CALLS] [{"name": "a", "arguments": {"k": 1}}, {"name": "b", "arguments": {}}]',
     "", [("a", '{"k": 1}'), ("b", "{}")]),
    ("llama3", 'Sure. {"name": "get_weather", "parameters": {"city": "Oslo", "days": 2}}', "Sure. ",
     [("get_weather", '{"city": "Oslo", "days": 2}')]),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "text", "content", "calls"), CASES)
@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_calls_and_content_come_out_whatever_the_pieces(
    fmt: str, text: str, content: str, calls: list[tuple[str, str]], step: int
) -> None:
    got_content, got_calls = _parse(fmt, text, step)
    assert got_content == content
    assert [(name, args) for _id, name, args in got_calls] == calls
    assert all(json.loads(args) is not None for _n, args in calls)
    assert len({call_id for call_id, _n, _a in got_calls}) == len(got_calls)


def test_a_partial_tag_at_the_end_is_content_after_all() -> None:
    content, calls = _parse("hermes", "The tag is <tool_ca", 2)
    assert (content, calls) == ("The tag is <tool_ca", [])


@pytest.fixture(scope="module")
def vocab() -> Iterator[Any]:
    """The embedded model's vocabulary (loaded alone: no weights, no context)."""
    import llama_cpp as L

    from engine.settings import default_embedded_dir
    from tests.model_tokens import DEFAULT_MODEL_FILE

    L.llama_backend_init()
    params = L.llama_model_default_params()
    params.vocab_only = True
    model = L.llama_model_load_from_file(
        str(default_embedded_dir() / DEFAULT_MODEL_FILE).encode(), params
    )
    assert model
    yield L.llama_model_get_vocab(model)
    L.llama_model_free(model)


def _allows(vocab: Any, grammar: str, text: str, triggers: list[str] | None = None) -> bool:
    """Whether the grammar sampler lets every token of `text` through, and then an end."""
    import llama_cpp as L

    sampler = grammar_sampler(vocab, grammar, triggers or [])
    assert sampler, "llama.cpp could not parse the grammar"
    try:
        raw = text.encode()
        ids = (L.llama_token * (len(raw) + 8))()
        n = L.llama_tokenize(vocab, raw, len(raw), ids, len(ids), False, True)
        for token in [*ids[:n], L.llama_vocab_eos(vocab)]:
            cell = (L.llama_token_data * 1)(L.llama_token_data(token, 0.0, 0.0))
            cells = L.llama_token_data_array(cell, 1, -1, False)
            L.llama_sampler_apply(sampler, ctypes.byref(cells))
            if cell[0].logit == -math.inf:
                return False
            if token != L.llama_vocab_eos(vocab):
                L.llama_sampler_accept(sampler, token)
        return True
    finally:
        L.llama_sampler_free(sampler)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("parallel", [False, True])
def test_every_format_has_a_grammar_llama_cpp_parses(vocab: Any, fmt: str, parallel: bool) -> None:
    import llama_cpp as L

    for triggers in ([], FORMATS[fmt].trigger_patterns()):
        sampler = grammar_sampler(
            vocab, tools_grammar([WEATHER], FORMATS[fmt], None, parallel), triggers
        )
        assert sampler
        L.llama_sampler_free(sampler)


PRETTY = '{\n  "name": "get_weather",\n  "arguments": {\n    "city": "Lyon",\n    "days": 2\n  }\n}'


@pytest.mark.parametrize(
    ("text", "parallel", "allowed"),
    [
        (f"<tool_call>\n{PRETTY}\n</tool_call>", False, True),
        (f"```json\n{PRETTY}\n```", False, True),
        (PRETTY, False, True),
        ('<tool_call>\n{"name": "get_weather", "arguments": {"days": 2}}\n</tool_call>', False, False),
        ('<tool_call>\n{"name": "get_wetter", "arguments": {"city": "X"}}\n</tool_call>', False, False),
        ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "X", "days": "2"}}\n</tool_call>', False, False),
        ("Sunny.", False, False),
        ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "A"}}\n</tool_call>\n<tool_call>\n'
         '{"name": "get_weather", "arguments": {"city": "B"}}\n</tool_call>', True, True),
        ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "A"}}\n</tool_call>\n<tool_call>\n'
         '{"name": "get_weather", "arguments": {"city": "B"}}\n</tool_call>', False, False),
    ],
)  # fmt: skip
def test_the_grammar_lets_through_calls_matching_the_schema_and_nothing_else(
    vocab: Any, text: str, parallel: bool, allowed: bool
) -> None:
    grammar = tools_grammar([WEATHER], FORMATS["hermes"], None, parallel)
    assert _allows(vocab, grammar, text) is allowed


def test_with_triggers_text_is_free_until_a_call_starts(vocab: Any) -> None:
    fmt = FORMATS["hermes"]
    grammar = tools_grammar([WEATHER], fmt, None, False)
    triggers = fmt.trigger_patterns()
    assert _allows(vocab, grammar, "It is sunny in Lyon, I think.", triggers)
    assert _allows(vocab, grammar, f"Checking.\n```json\n{PRETTY}\n```", triggers)
    assert not _allows(vocab, grammar, 'Checking.\n<tool_call>\n{"name": "nope"', triggers)
    assert not _allows(
        vocab, grammar, '```json\n{\n  "name": "get_weather", "arguments": {}}', triggers
    )
    # Text the grammar could not take is never handed to it (llama.cpp would abort): such a
    # call goes unconstrained, and the parser still reads it.
    assert _allows(vocab, grammar, '```json\n\n\n{"name": "x"}\n```', triggers)


def _rendered_history(template: str | None) -> str:
    """A call and its result rendered with `template`, as a request with tools would be."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from engine.schemas import ChatCompletionRequest
    from engine.services.tool_calling import plan_tools, template_messages

    req = ChatCompletionRequest.model_validate({
        "model": "m", "tools": [WEATHER], "messages": [
            {"role": "user", "content": "Weather in Lyon?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "RESULT-sunny-24"},
        ],
    })  # fmt: skip
    plan = plan_tools(req, template)
    assert plan is not None
    messages = template_messages(req.messages, plan, lambda text: text)
    formatter = Jinja2ChatFormatter(
        template=template or "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}",
        eos_token="</s>", bos_token="<s>",
    )  # fmt: skip
    return formatter(messages=messages, tools=plan.tools if plan.renders_tools else None).prompt


def test_a_call_and_its_result_reach_the_models_own_template() -> None:
    """Qwen's template, read from the test model: the tools, the earlier call with its
    arguments as an object, and the result in its tool_response block."""
    from gguf import GGUFReader

    from tests.model_files import QWEN, tool_model_dir

    field = GGUFReader(tool_model_dir() / QWEN).fields["tokenizer.chat_template"]
    template = bytes(field.parts[field.data[0]]).decode()
    prompt = _rendered_history(template)
    assert '"name": "get_weather"' in prompt  # the tools, in the template's system part
    assert (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>'
        in prompt
    )
    assert "<tool_response>\nRESULT-sunny-24\n</tool_response>" in prompt


def test_without_tool_support_in_the_template_the_generic_format_is_used() -> None:
    prompt = _rendered_history(None)
    assert prompt.startswith("<system>You can call functions")
    assert (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>'
        in prompt
    )
    assert "<user>Result of get_weather: RESULT-sunny-24" in prompt


def _as_regex(expression: str) -> re.Pattern[str]:
    """The integer-range GBNF (literals, classes, counts, alternatives) as a Python regex."""
    pattern = re.sub(r'"([^"]*)"', lambda m: re.escape(m.group(1)), expression).replace(" ", "")
    return re.compile(pattern)


@pytest.mark.parametrize(
    ("lo", "hi"), [(1, 7), (0, 100), (-5, 5), (13, 2047), (-130, -7), (-1, 0), (5, 5), (99, 1000)]
)
def test_integer_ranges_match_exactly_their_integers(lo: int, hi: int) -> None:
    regex = _as_regex(integer_range(lo, hi))
    for n in range(lo - 150, hi + 150):
        assert bool(regex.fullmatch(str(n))) == (lo <= n <= hi), n
    assert not regex.fullmatch(f"0{lo}" if lo >= 0 else "-0")  # no leading zeros


def test_bounded_integers_in_arguments_are_held_to_their_bounds(vocab: Any) -> None:
    tool = {"type": "function", "function": {"name": "w", "parameters": {
        "type": "object", "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 7},
                                         "n": {"type": "integer", "exclusiveMinimum": 0}},
        "required": ["days", "n"]}}}  # fmt: skip
    grammar = tools_grammar([tool], FORMATS["hermes"], None, False)
    call = '<tool_call>\n{{"name": "w", "arguments": {{"days": {}, "n": {}}}}}\n</tool_call>'
    assert _allows(vocab, grammar, call.format(7, 12))
    assert not _allows(vocab, grammar, call.format(12, 12))
    assert not _allows(vocab, grammar, call.format(3, 0))
    assert not _allows(vocab, grammar, call.format(3, -4))
