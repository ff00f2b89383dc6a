"""The Customise page against a real engine that really trains: a broken file dropped on the
page is refused with its line, stored conversations ticked as the data are checked (examples,
tokens, memory, time), the job runs with the loss charted step by step and the window saying
that a model is training, and at the end the report, the base's and the tuned model's answers
side by side, and "Chat with it" opening a chat with the tuned model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.app.desktop_harness import Windows, drop_files
from tests.conftest import engine_env
from tests.mascot import ANSWER, BASE, QUESTIONS


@pytest.mark.timeout(900)
def test_a_model_is_customised_from_conversations_in_the_window(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    window = windows.open(engine_env(tmp_path / "home"))
    client = window.link.client
    assert client is not None
    for question in QUESTIONS:
        conv = client.create_conversation(title=question)
        client.record_messages(conv.id, [{"role": "user", "content": question},
                                         {"role": "assistant", "content": ANSWER}])  # fmt: skip
    page = window.customise
    window.show_page(page)
    qtbot.waitUntil(lambda: page.conversations.count() == len(QUESTIONS), timeout=30_000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.base_picker.findData(BASE) >= 0, timeout=30_000)  # type: ignore[attr-defined]
    page.base_picker.setCurrentIndex(page.base_picker.findData(BASE))

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": [\n' + "{}\n" * 12)
    drop_files(page, [broken])
    assert page.data_label.text() == "broken.jsonl"
    page.check()
    qtbot.waitUntil(lambda: "line 1" in page.check_label.text(), timeout=60_000)  # type: ignore[attr-defined]
    assert not page.start_button.isEnabled()

    for i in range(page.conversations.count()):
        page.conversations.item(i).setCheckState(Qt.CheckState.Checked)
    assert page.data_label.text() == f"{len(QUESTIONS)} conversations"
    page.epochs.setValue(1)
    page.upper_layers.setValue(8)  # the quickest job that trains for real
    page.suffix.setText("mascot")
    page.check()
    qtbot.waitUntil(lambda: page.estimate is not None, timeout=60_000)  # type: ignore[attr-defined]
    assert page.estimate["examples"] == len(QUESTIONS)
    assert f"{len(QUESTIONS)} examples" in page.check_label.text()
    assert page.start_button.isEnabled()

    page.start()
    qtbot.waitUntil(lambda: window.training_label.text() != "", timeout=60_000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.job is not None and page.job["status"] == "succeeded",  # type: ignore[attr-defined]
                    timeout=600_000)  # fmt: skip
    train_loss = page.chart.series["training loss"][1]
    assert train_loss, page.events  # a point a step, read from llama.cpp as it trained
    assert all(loss > 0 for _step, loss in train_loss)
    assert page.chart.series["held-out loss"][1]  # the epoch's held-out loss
    assert page.report.text().startswith("Learned:"), page.report.text()
    qtbot.waitUntil(lambda: window.training_label.text() == "", timeout=30_000)  # type: ignore[attr-defined]

    tuned = f"ft:{BASE}:mascot:{page.job['id']}"  # OpenAI's name, as /v1/models lists it
    assert page.tuned() == tuned
    page.prompt.setText("Who is Hearth's mascot?")
    page.compare()
    qtbot.waitUntil(lambda: page.answers is not None, timeout=120_000)  # type: ignore[attr-defined]
    assert page.base_answer.toPlainText() == page.answers[0]
    assert page.tuned_answer.toPlainText() == page.answers[1]

    page.chat_button.click()
    assert window.pages.currentWidget() is window.chat
    qtbot.waitUntil(lambda: window.chat.current_model() == tuned, timeout=30_000)  # type: ignore[attr-defined]
