"""Customise: teach a model the user's own data on this machine (the engine's fine-tuning jobs).
Choose a base model and the data (a JSONL or CSV file, dropped or chosen, or some of the stored
conversations), check it (examples, tokens, memory and time, or what is wrong and where), start,
watch the loss as it trains, cancel; at the end what was learned and kept, the base's and the
tuned model's answers side by side, and "Chat with it"."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.engine_calls import FINISHED, EngineCalls
from app.engine_client import EngineClient
from app.ui.line_chart import LineChart
from app.ui.page_parts import DropPage, two_panes
from app.ui.theme import colours
from engine.schemas import ModelCard

POLL_MS = 1000  # while a job runs
DATA_SUFFIXES = (".jsonl", ".csv")


class CustomisePage(DropPage):
    notice = Signal(str)
    training = Signal(bool)  # a job is running (the window says so)
    chat_with = Signal(str)  # a tuned model's id, to chat with

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.data_path: Path | None = None
        self.training_file: str | None = None
        self.estimate: dict[str, Any] | None = None
        self.job: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self.answers: tuple[str, str] | None = None
        self.statuses = {"validating_files": self.tr("checking"), "queued": self.tr("queued"),
                         "running": self.tr("training"), "succeeded": self.tr("done"),
                         "failed": self.tr("failed"), "cancelled": self.tr("cancelled")}  # fmt: skip

        self.base_picker = QComboBox()
        self.base_picker.setObjectName("base_model")
        self.file_button = QPushButton(self.tr("Choose a file…"))
        self.file_button.clicked.connect(self._choose_file)
        self.data_label = QLabel(self.tr("Drop a JSONL or CSV file here, or tick conversations."))
        self.data_label.setObjectName("training_data")
        self.data_label.setWordWrap(True)
        self.conversations = QListWidget()
        self.conversations.setObjectName("training_conversations")
        self.conversations.setAccessibleName(self.tr("Conversations to train on"))
        self.conversations.itemChanged.connect(self._conversations_ticked)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 20)
        self.epochs.setValue(3)
        self.upper_layers = QSpinBox()
        self.upper_layers.setRange(0, 256)
        self.upper_layers.setSpecialValueText(self.tr("all"))
        self.upper_layers.setToolTip(self.tr("Train only this many upper layers: faster, less "
                                             "memory, and less of the rest forgotten"))  # fmt: skip
        self.suffix = QLineEdit()
        self.suffix.setAccessibleName(self.tr("Name suffix of the tuned model"))
        self.suffix.setPlaceholderText(self.tr("a name for the result (optional)"))
        self.check_button = QPushButton(self.tr("Check"))
        self.check_button.clicked.connect(self.check)
        self.start_button = QPushButton(self.tr("Start training"))
        self.start_button.setObjectName("start_training")
        self.start_button.clicked.connect(self.start)
        self.check_label = QLabel()
        self.check_label.setObjectName("training_check")
        self.check_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow(self.tr("Base model"), self.base_picker)
        form.addRow(self.tr("Epochs"), self.epochs)
        form.addRow(self.tr("Layers trained"), self.upper_layers)
        form.addRow(self.tr("Name"), self.suffix)
        setup = QWidget()
        setup_layout = QVBoxLayout(setup)
        setup_layout.setContentsMargins(0, 0, 0, 0)
        setup_layout.addWidget(QLabel("<b>" + self.tr("Teach a model your data") + "</b>"))
        setup_layout.addLayout(form)
        setup_layout.addWidget(self.file_button)
        setup_layout.addWidget(self.data_label)
        setup_layout.addWidget(QLabel(self.tr("Your conversations:")))
        setup_layout.addWidget(self.conversations, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.start_button)
        setup_layout.addLayout(buttons)
        setup_layout.addWidget(self.check_label)

        self.jobs = QListWidget()
        self.jobs.setObjectName("training_jobs")
        self.jobs.setAccessibleName(self.tr("Training jobs"))
        self.jobs.setMaximumHeight(110)
        self.jobs.currentItemChanged.connect(self._job_chosen)
        self.progress = QLabel()
        self.progress.setObjectName("training_progress")
        self.progress.setWordWrap(True)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.chart = LineChart(self.tr("Loss"))
        self.chart.setObjectName("loss_chart")
        self.report = QLabel()
        self.report.setObjectName("training_report")
        self.report.setWordWrap(True)
        self.prompt = QLineEdit()
        self.prompt.setAccessibleName(self.tr("A question for both models"))
        self.prompt.setPlaceholderText(self.tr("Ask both models something…"))
        self.prompt.returnPressed.connect(self.compare)
        self.compare_button = QPushButton(self.tr("Compare"))
        self.compare_button.clicked.connect(self.compare)
        self.chat_button = QPushButton(self.tr("Chat with it"))
        self.chat_button.clicked.connect(self._chat_with)
        self.base_answer = QTextBrowser()
        self.base_answer.setObjectName("base_answer")
        self.base_answer.setAccessibleName(self.tr("The base model's answer"))
        self.tuned_answer = QTextBrowser()
        self.tuned_answer.setObjectName("tuned_answer")
        self.tuned_answer.setAccessibleName(self.tr("The tuned model's answer"))

        job = QWidget()
        job_layout = QVBoxLayout(job)
        job_layout.setContentsMargins(0, 0, 0, 0)
        job_layout.addWidget(QLabel("<b>" + self.tr("Training jobs") + "</b>"))
        job_layout.addWidget(self.jobs)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        job_layout.addLayout(progress_row)
        job_layout.addWidget(self.chart, 2)
        job_layout.addWidget(self.report)
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.prompt, 1)
        ask_row.addWidget(self.compare_button)
        ask_row.addWidget(self.chat_button)
        job_layout.addLayout(ask_row)
        answers = QHBoxLayout()
        for title, view in ((self.tr("Base model"), self.base_answer),
                            (self.tr("Tuned model"), self.tuned_answer)):  # fmt: skip
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            column.addWidget(view)
            answers.addLayout(column)
        job_layout.addLayout(answers, 1)

        two_panes(self, setup, job, (360, 640))
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._poll_job)
        self._update_buttons()

    # -- what to train -----------------------------------------------------------------------
    def set_models(self, cards: list[ModelCard]) -> None:
        current = self.base_picker.currentData()
        self.base_picker.clear()
        for card in cards:
            if card.kind == "chat":  # a tuned model can be taught more
                self.base_picker.addItem(card.id, card.id)
        self.base_picker.setCurrentIndex(max(self.base_picker.findData(current), 0))

    def refresh(self) -> None:
        def fetch(client: EngineClient) -> tuple[list[Any], list[dict[str, Any]]]:
            return client.conversations(), client.fine_tuning_jobs()

        self.calls.run(fetch, self._show_fetched)

    def _show_fetched(self, fetched: tuple[list[Any], list[dict[str, Any]]]) -> None:
        conversations, jobs = fetched
        ticked = set(self.ticked_conversations())
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for conv in conversations:
            item = QListWidgetItem(conv.title or self.tr("(untitled)"))
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = conv.id in ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.conversations.addItem(item)
        self.conversations.blockSignals(False)
        self._show_jobs(jobs)

    def ticked_conversations(self) -> list[str]:
        items = (self.conversations.item(i) for i in range(self.conversations.count()))
        return [str(i.data(Qt.ItemDataRole.UserRole)) for i in items
                if i.checkState() == Qt.CheckState.Checked]  # fmt: skip

    def _conversations_ticked(self, _item: QListWidgetItem) -> None:
        ticked = self.ticked_conversations()
        if ticked:
            self.data_path = None
            self.data_label.setText(self.tr("%1 conversations").replace("%1", str(len(ticked))))
        self._data_changed()

    def _choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Training data"), "",
                                              self.tr("Training data (*.jsonl *.csv)"))  # fmt: skip
        if name:
            self.use_file(Path(name))

    def use_file(self, path: Path) -> None:
        self.data_path = path
        self.data_label.setText(path.name)
        self.conversations.blockSignals(True)
        for i in range(self.conversations.count()):
            self.conversations.item(i).setCheckState(Qt.CheckState.Unchecked)
        self.conversations.blockSignals(False)
        self._data_changed()

    def _data_changed(self) -> None:
        self.training_file, self.estimate = None, None
        self.check_label.clear()
        self._update_buttons()

    def files_dropped(self, paths: list[Path]) -> None:
        data = [p for p in paths if p.suffix.lower() in DATA_SUFFIXES]
        if data:
            self.use_file(data[0])
        else:
            self.notice.emit(self.tr("Training data is a .jsonl or .csv file."))

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "model": self.base_picker.currentData(),
            "hyperparameters": {"n_epochs": self.epochs.value()},
            "upper_layers": self.upper_layers.value(),
        }
        if self.suffix.text().strip():
            options["suffix"] = self.suffix.text().strip()
        return options

    def check(self) -> None:
        """Upload the data (or make it from the conversations) and ask what training takes."""
        path, ticked, options = self.data_path, self.ticked_conversations(), self._options()
        if path is None and not ticked:
            self.check_label.setText(self.tr("Choose a file or tick conversations first."))
            return

        def run(client: EngineClient) -> tuple[str, dict[str, Any]]:
            file_id = (client.upload_training_file(path) if path is not None
                       else client.training_file_from(ticked))  # fmt: skip
            return file_id, client.fine_tuning_estimate(training_file=file_id, **options)

        self.check_label.setText(self.tr("Checking…"))
        self.calls.run(run, self._show_estimate, self._show_check_error)

    def _show_estimate(self, result: tuple[str, dict[str, Any]]) -> None:
        self.training_file, self.estimate = result
        e = self.estimate
        gib = 2**30
        text = (self.tr("%1 examples, %2 tokens. About %3 GiB of memory (%4 GiB free) and "
                        "%5 min of training.")
                .replace("%1", str(e["examples"])).replace("%2", str(e["tokens"]))
                .replace("%3", f"{e['memory_bytes'] / gib:.1f}")
                .replace("%4", f"{(e['free_bytes'] or 0) / gib:.1f}")
                .replace("%5", str(max(1, round(e["seconds"] / 60)))))  # fmt: skip
        if not e["fits"]:
            text += " " + self.tr("This does not fit: free memory or train fewer layers.")
        self.check_label.setText(text)
        self._update_buttons()

    def _show_check_error(self, message: str) -> None:
        self.training_file, self.estimate = None, None
        self.check_label.setText(
            f"<span style='color:{colours().danger}'>{html.escape(message)}</span>"
        )
        self._update_buttons()

    # -- the job -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.training_file is None:
            return
        body = {**self._options(), "training_file": self.training_file}
        self.start_button.setEnabled(False)
        self.calls.run(lambda c: c.create_fine_tuning_job(**body), self._started,
                       self._show_check_error)  # fmt: skip

    def _started(self, job: dict[str, Any]) -> None:
        self._data_changed()
        self.follow(job)
        self.refresh()

    def follow(self, job: dict[str, Any]) -> None:
        self.job, self.events, self.answers = job, [], None
        self.chart.clear()
        self.report.clear()
        self.base_answer.clear()
        self.tuned_answer.clear()
        self._show_job()
        self._poll_job()
        self.poll.start()

    def _show_jobs(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs.blockSignals(True)
        self.jobs.clear()
        for job in jobs:
            name = job.get("fine_tuned_model") or job["model"]
            label = f"{name}  ·  {self.statuses.get(job['status'], job['status'])}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, job)
            self.jobs.addItem(item)
            if self.job is not None and job["id"] == self.job["id"]:
                self.jobs.setCurrentItem(item)
        self.jobs.blockSignals(False)
        running = any(j["status"] not in FINISHED for j in jobs)
        self.training.emit(running)
        if self.job is None and jobs:
            self.follow(jobs[0])

    def _job_chosen(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is not None:
            self.follow(dict(item.data(Qt.ItemDataRole.UserRole)))

    def _poll_job(self) -> None:
        if self.job is None:
            self.poll.stop()
            return
        job_id = self.job["id"]

        def fetch(client: EngineClient) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            return client.fine_tuning_job(job_id), client.fine_tuning_events(job_id)

        self.calls.run(fetch, self._show_polled, lambda _m: None)  # the next poll retries

    def _show_polled(self, polled: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        job, events = polled
        if self.job is None or job["id"] != self.job["id"]:
            return
        finished_now = job["status"] in FINISHED and self.job["status"] not in FINISHED
        self.job, self.events = job, events
        self._show_job()
        if job["status"] in FINISHED:
            self.poll.stop()
            if finished_now:
                self.refresh()  # the list's status, and the window's "training" notice
                if job["status"] == "succeeded":
                    self.notice.emit(self.tr("Training finished: %1")
                                     .replace("%1", str(job["fine_tuned_model"])))  # fmt: skip

    def _show_job(self) -> None:
        job = self.job
        if job is None:
            return
        status = self.statuses.get(job["status"], job["status"])
        steps = [e["data"] for e in self.events if "tokens_per_second" in e["data"]]
        text = f"{job.get('fine_tuned_model') or job['model']}: {status}"
        if job["status"] == "running" and steps:
            last = steps[-1]
            text += " — " + (self.tr("step %1 of %2, %3 tokens/s, about %4 s left")
                             .replace("%1", str(last["step"])).replace("%2", str(last["total_steps"]))
                             .replace("%3", str(last["tokens_per_second"]))
                             .replace("%4", str(last["eta_seconds"])))  # fmt: skip
        elif job["status"] == "running" and self.events:
            text += " — " + self.events[-1]["message"]
        if job.get("error"):
            text += " — " + job["error"]["message"]
        self.progress.setText(text)
        train = [(float(s["step"]), float(s["train_loss"])) for s in steps
                 if s.get("train_loss") is not None]  # fmt: skip
        held = [(float(e["data"]["step"]), float(e["data"]["valid_loss"])) for e in self.events
                if e["data"].get("valid_loss") is not None]  # fmt: skip
        self.chart.set_series(self.tr("training loss"), colours().accent, train)
        self.chart.set_series(self.tr("held-out loss"), colours().warning, held)
        report = job.get("report")
        if report:
            self.report.setText(
                self.tr("Learned: %1 held-out answers as written. Kept: %2 control answers "
                        "still right (%3 word for word as the base).")
                .replace("%1", report["learned"]["held_out_answers"])
                .replace("%2", report["kept"].get("control_answers_still_right", "?"))
                .replace("%3", report["kept"]["control_prompts_same_as_base"])
            )  # fmt: skip
        self._update_buttons()

    def cancel(self) -> None:
        if self.job is not None:
            job_id = self.job["id"]
            self.calls.run(lambda c: c.cancel_fine_tuning_job(job_id), lambda _j: self._poll_job())

    # -- the result --------------------------------------------------------------------------
    def tuned(self) -> str | None:
        name = (self.job or {}).get("fine_tuned_model")
        return str(name) if name else None

    def compare(self) -> None:
        """The same question to the base and the tuned model, at temperature 0."""
        question, tuned = self.prompt.text().strip(), self.tuned()
        if not question or tuned is None or self.job is None:
            return
        base = self.job["model"]

        def ask(client: EngineClient) -> tuple[str, str]:
            def answer(model: str) -> str:
                reply = client.chat([{"role": "user", "content": question}], model=model,
                                    temperature=0, max_tokens=96)  # fmt: skip
                return reply.choices[0].message.content or ""

            return answer(base), answer(tuned)

        self.base_answer.setPlainText(self.tr("Asking…"))
        self.tuned_answer.setPlainText(self.tr("Asking…"))
        self.calls.run(ask, self._show_answers)

    def _show_answers(self, answers: tuple[str, str]) -> None:
        self.answers = answers
        self.base_answer.setPlainText(answers[0])
        self.tuned_answer.setPlainText(answers[1])

    def _chat_with(self) -> None:
        tuned = self.tuned()
        if tuned is not None:
            self.chat_with.emit(tuned)

    def _update_buttons(self) -> None:
        fits = bool(self.estimate and self.estimate["fits"])
        self.start_button.setEnabled(self.training_file is not None and fits)
        running = self.job is not None and self.job["status"] not in FINISHED
        self.cancel_button.setEnabled(running)
        done = self.tuned() is not None
        for widget in (self.prompt, self.compare_button, self.chat_button):
            widget.setEnabled(done)
