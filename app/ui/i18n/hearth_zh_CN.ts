<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ChatInput</name>
    <message>
        <location filename="../chat_input.py" line="23"/>
        <source>Message Hearth… (Enter sends, Shift+Enter for a new line)</source>
        <translation>给 Hearth 发消息…（Enter 发送，Shift+Enter 换行）</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <location filename="../chat_page.py" line="105"/>
        <source>Parameters</source>
        <translation>参数</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="113"/>
        <location filename="../chat_page.py" line="193"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="131"/>
        <source>Attach…</source>
        <translation>附件…</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="136"/>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="138"/>
        <source>Edit last</source>
        <translation>编辑上一条</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="140"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="143"/>
        <source>Tools</source>
        <translation>工具</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="146"/>
        <source>Let the model use tools: built-in ones and your MCP servers&apos; (Settings).</source>
        <translation>允许模型使用工具：内置工具和你的 MCP 服务器提供的工具（见设置）。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="148"/>
        <location filename="../chat_page.py" line="197"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="193"/>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="194"/>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="194"/>
        <source>Attach a file</source>
        <translation>附加文件</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="195"/>
        <source>Regenerate the last reply</source>
        <translation>重新生成上一条回复</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="196"/>
        <source>Edit the last message</source>
        <translation>编辑上一条消息</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="197"/>
        <source>Stop the reply</source>
        <translation>停止回复</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="198"/>
        <source>Let the model use tools</source>
        <translation>允许模型使用工具</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="199"/>
        <source>Show parameters</source>
        <translation>显示参数</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="225"/>
        <source>chat</source>
        <translation>聊天</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="227"/>
        <source>sees images</source>
        <translation>能看图片</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="229"/>
        <source>tuned by you</source>
        <translation>由你微调</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="231"/>
        <source>tiny, for trying Hearth out</source>
        <translation>很小，用于试用 Hearth</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="311"/>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="319"/>
        <source>Attach images</source>
        <translation>添加图片</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="328"/>
        <source>Only images can be attached to a message; drop audio on the window to transcribe it.</source>
        <translation>消息只能附加图片；把音频拖到窗口上即可转写。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="337"/>
        <source>Attached: %1</source>
        <translation>已附加：%1</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="355"/>
        <source>The engine is not ready yet; your message is kept in the box.</source>
        <translation>引擎尚未就绪；你的消息仍保留在输入框中。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="361"/>
        <source>The chosen model does not take images; pick a vision model, or drop the image on the window for a caption and its text.</source>
        <translation>所选模型不支持图片；请选择视觉模型，或把图片拖到窗口上获取描述和文字。</translation>
    </message>
</context>
<context>
    <name>CollectionPicker</name>
    <message>
        <location filename="../collection_picker.py" line="42"/>
        <source>No collections yet (see Knowledge)</source>
        <translation>还没有资料库（见“知识”页面）</translation>
    </message>
    <message>
        <location filename="../collection_picker.py" line="52"/>
        <source>Collections (%1)</source>
        <translation>资料库（%1）</translation>
    </message>
    <message>
        <location filename="../collection_picker.py" line="53"/>
        <source>Collections</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../collection_picker.py" line="54"/>
        <source>Search these collections of your files for each message.</source>
        <translation>每条消息都在这些文件资料库中检索。</translation>
    </message>
</context>
<context>
    <name>ConversationList</name>
    <message>
        <location filename="../conversation_list.py" line="39"/>
        <location filename="../conversation_list.py" line="40"/>
        <source>Search conversations</source>
        <translation>搜索对话</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="47"/>
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="51"/>
        <source>Conversations</source>
        <translation>对话列表</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="71"/>
        <source>New conversation</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="87"/>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="88"/>
        <source>Export as Markdown…</source>
        <translation>导出为 Markdown…</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="89"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="95"/>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="95"/>
        <source>Title:</source>
        <translation>标题：</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="108"/>
        <source>Export conversation</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="119"/>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="124"/>
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <location filename="../conversation_list.py" line="124"/>
        <source>Delete this conversation?</source>
        <translation>删除这个对话？</translation>
    </message>
</context>
<context>
    <name>CustomisePage</name>
    <message>
        <location filename="../customise_page.py" line="55"/>
        <source>checking</source>
        <translation>检查中</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="55"/>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="56"/>
        <source>training</source>
        <translation>训练中</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="56"/>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="57"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="57"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="61"/>
        <source>Choose a file…</source>
        <translation>选择文件…</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="63"/>
        <source>Drop a JSONL or CSV file here, or tick conversations.</source>
        <translation>把 JSONL 或 CSV 文件拖到这里，或勾选对话。</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="68"/>
        <source>Conversations to train on</source>
        <translation>用于训练的对话</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="75"/>
        <source>all</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="76"/>
        <source>Train only this many upper layers: faster, less memory, and less of the rest forgotten</source>
        <translation>只训练这么多上层：更快、更省内存，也更少遗忘其他知识</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="79"/>
        <source>Name suffix of the tuned model</source>
        <translation>微调模型的名称后缀</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="80"/>
        <source>a name for the result (optional)</source>
        <translation>结果的名称（可选）</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="81"/>
        <source>Check</source>
        <translation>检查</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="83"/>
        <source>Start training</source>
        <translation>开始训练</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="91"/>
        <location filename="../customise_page.py" line="157"/>
        <source>Base model</source>
        <translation>基础模型</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="92"/>
        <source>Epochs</source>
        <translation>轮数</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="93"/>
        <source>Layers trained</source>
        <translation>训练的层</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="94"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="98"/>
        <source>Teach a model your data</source>
        <translation>用你的数据教模型</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="102"/>
        <source>Your conversations:</source>
        <translation>你的对话：</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="118"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="120"/>
        <source>Loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="126"/>
        <source>A question for both models</source>
        <translation>向两个模型提的问题</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="127"/>
        <source>Ask both models something…</source>
        <translation>向两个模型提问…</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="129"/>
        <source>Compare</source>
        <translation>比较</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="131"/>
        <source>Chat with it</source>
        <translation>与它聊天</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="112"/>
        <location filename="../customise_page.py" line="143"/>
        <source>Training jobs</source>
        <translation>训练任务</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="135"/>
        <source>The base model&apos;s answer</source>
        <translation>基础模型的回答</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="138"/>
        <source>The tuned model&apos;s answer</source>
        <translation>微调模型的回答</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="158"/>
        <source>Tuned model</source>
        <translation>微调后的模型</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="192"/>
        <source>(untitled)</source>
        <translation>（无标题）</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="210"/>
        <source>%1 conversations</source>
        <translation>%1 个对话</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="214"/>
        <source>Training data</source>
        <translation>训练数据</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="215"/>
        <source>Training data (*.jsonl *.csv)</source>
        <translation>训练数据 (*.jsonl *.csv)</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="238"/>
        <source>Training data is a .jsonl or .csv file.</source>
        <translation>训练数据是 .jsonl 或 .csv 文件。</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="254"/>
        <source>Choose a file or tick conversations first.</source>
        <translation>请先选择文件或勾选对话。</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="262"/>
        <source>Checking…</source>
        <translation>检查中…</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="269"/>
        <source>%1 examples, %2 tokens. About %3 GiB of memory (%4 GiB free) and %5 min of training.</source>
        <translation>%1 个样例，%2 个词元。约需 %3 GiB 内存（可用 %4 GiB），训练约 %5 分钟。</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="276"/>
        <source>This does not fit: free memory or train fewer layers.</source>
        <translation>内存不够：请释放内存或训练更少的层。</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="355"/>
        <source>Training finished: %1</source>
        <translation>训练完成：%1</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="367"/>
        <source>step %1 of %2, %3 tokens/s, about %4 s left</source>
        <translation>第 %1/%2 步，每秒 %3 个词元，约剩 %4 秒</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="380"/>
        <source>training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="381"/>
        <source>held-out loss</source>
        <translation>留出集损失</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="385"/>
        <source>Learned: %1 held-out answers as written. Kept: %2 control answers still right (%3 word for word as the base).</source>
        <translation>学会：留出样例中 %1 个答案与所写一致。保留：%2 个对照问题仍答对（%3 个与基础模型逐字相同）。</translation>
    </message>
    <message>
        <location filename="../customise_page.py" line="418"/>
        <location filename="../customise_page.py" line="419"/>
        <source>Asking…</source>
        <translation>提问中…</translation>
    </message>
</context>
<context>
    <name>DictationBar</name>
    <message>
        <location filename="../dictation_bar.py" line="41"/>
        <source>Dictate (%1): click to start and stop, or hold to talk</source>
        <translation>听写（%1）：单击开始和停止，或按住说话</translation>
    </message>
    <message>
        <location filename="../dictation_bar.py" line="43"/>
        <source>Dictate</source>
        <translation>听写</translation>
    </message>
    <message>
        <location filename="../dictation_bar.py" line="140"/>
        <source>Dictation stopped: %1</source>
        <translation>听写已停止：%1</translation>
    </message>
    <message>
        <location filename="../dictation_bar.py" line="171"/>
        <source>Not recording</source>
        <translation>未在录音</translation>
    </message>
    <message>
        <location filename="../dictation_bar.py" line="176"/>
        <source>Recording; Esc cancels</source>
        <translation>正在录音；按 Esc 取消</translation>
    </message>
    <message>
        <location filename="../dictation_bar.py" line="181"/>
        <source>Finishing the text</source>
        <translation>正在完成文字</translation>
    </message>
</context>
<context>
    <name>EngineLink</name>
    <message>
        <location filename="../../engine_link.py" line="118"/>
        <source>Starting the engine…</source>
        <translation>正在启动引擎…</translation>
    </message>
    <message>
        <location filename="../../engine_link.py" line="161"/>
        <source>The engine stopped unexpectedly (exit code %1).</source>
        <translation>引擎意外停止（退出码 %1）。</translation>
    </message>
    <message>
        <location filename="../../engine_link.py" line="176"/>
        <source>The engine stopped answering.</source>
        <translation>引擎没有响应。</translation>
    </message>
    <message>
        <location filename="../../engine_link.py" line="193"/>
        <source>Trying again in %1 s.</source>
        <translation>%1 秒后重试。</translation>
    </message>
</context>
<context>
    <name>ImageCard</name>
    <message>
        <location filename="../drop_cards.py" line="191"/>
        <source>Insert text into chat</source>
        <translation>把文字插入对话</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="196"/>
        <source>Send image to chat</source>
        <translation>把图片发送到对话</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="203"/>
        <source>No vision model is installed: showing the text only.</source>
        <translation>未安装视觉模型：只显示文字。</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="206"/>
        <source>Install a vision model (Models page) to send images.</source>
        <translation>安装视觉模型（模型页面）后即可发送图片。</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="217"/>
        <source>(no text found)</source>
        <translation>（未找到文字）</translation>
    </message>
</context>
<context>
    <name>KnowledgePage</name>
    <message>
        <location filename="../knowledge_page.py" line="62"/>
        <source>indexing</source>
        <translation>正在索引</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="62"/>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="63"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="63"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="69"/>
        <source>New collection…</source>
        <translation>新建资料库…</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="71"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="67"/>
        <location filename="../knowledge_page.py" line="76"/>
        <source>Collections</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="83"/>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="85"/>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="92"/>
        <source>Files in the collection</source>
        <translation>集合中的文件</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="94"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="94"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="94"/>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="102"/>
        <source>Search the collection</source>
        <translation>搜索集合</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="103"/>
        <source>Search this collection…</source>
        <translation>在此资料库中搜索…</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="107"/>
        <source>Search results</source>
        <translation>搜索结果</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="119"/>
        <source>Drop files or folders here. Hearth reads documents, recordings (transcribed) and pictures (OCR).</source>
        <translation>把文件或文件夹拖到这里。Hearth 可读取文档、录音（转写）和图片（OCR）。</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="167"/>
        <source>New collection</source>
        <translation>新建资料库</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="167"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="204"/>
        <source>Watched folders: %1</source>
        <translation>监视的文件夹：%1</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="231"/>
        <source>Add files to the collection</source>
        <translation>向资料库添加文件</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="235"/>
        <source>Watch a folder</source>
        <translation>监视文件夹</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="243"/>
        <source>Create a collection first.</source>
        <translation>请先新建一个资料库。</translation>
    </message>
    <message>
        <location filename="../knowledge_page.py" line="271"/>
        <source>Nothing found.</source>
        <translation>没有找到结果。</translation>
    </message>
</context>
<context>
    <name>LevelClock</name>
    <message>
        <location filename="../microphone.py" line="179"/>
        <source>Microphone level</source>
        <translation>麦克风音量</translation>
    </message>
    <message>
        <location filename="../microphone.py" line="184"/>
        <source>Recording time</source>
        <translation>录音时长</translation>
    </message>
</context>
<context>
    <name>LineChart</name>
    <message>
        <location filename="../line_chart.py" line="43"/>
        <source>No data yet</source>
        <translation>暂无数据</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="63"/>
        <location filename="../main_window.py" line="147"/>
        <source>Hearth</source>
        <translation>Hearth</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="87"/>
        <source>Pages</source>
        <translation>页面</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="89"/>
        <source>Chat</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="90"/>
        <source>Transcribe</source>
        <translation>转写</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="91"/>
        <source>Knowledge</source>
        <translation>知识</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="92"/>
        <source>Customise</source>
        <translation>定制</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="93"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="94"/>
        <source>Usage</source>
        <translation>用量</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="95"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="119"/>
        <source>Training a model…</source>
        <translation>正在训练模型…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="128"/>
        <source>The engine was restarted: %1</source>
        <translation>引擎已重新启动：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="149"/>
        <source>Ask Hearth…</source>
        <translation>问 Hearth…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="150"/>
        <source>Show Hearth</source>
        <translation>显示 Hearth</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="152"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="241"/>
        <source>Starting</source>
        <translation>启动中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="242"/>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="243"/>
        <source>Working</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="244"/>
        <source>Engine problem</source>
        <translation>引擎出现问题</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="281"/>
        <source>Fully local</source>
        <translation>完全本地</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="284"/>
        <source>No remote provider is enabled: nothing leaves this device.</source>
        <translation>未启用远程服务：数据不会离开本机。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="288"/>
        <source>May contact: %1</source>
        <translation>可能连接：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="290"/>
        <source>Remote providers are configured.</source>
        <translation>已配置远程服务。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="335"/>
        <source>%1 cannot be opened here: drop audio, video, images or .gguf model files.</source>
        <translation>无法在此打开 %1：请拖入音频、视频、图片或 .gguf 模型文件。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="340"/>
        <source>Import model</source>
        <translation>导入模型</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="341"/>
        <source>Import %1 as a model?</source>
        <translation>把 %1 导入为模型？</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="378"/>
        <source>Save as…</source>
        <translation>另存为…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="382"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
</context>
<context>
    <name>McpBox</name>
    <message>
        <location filename="../mcp_box.py" line="31"/>
        <source>Tools from MCP servers</source>
        <translation>来自 MCP 服务器的工具</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="38"/>
        <source>Server or tool</source>
        <translation>服务器或工具</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="38"/>
        <source>On</source>
        <translation>启用</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="38"/>
        <source>Always allow</source>
        <translation>始终允许</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="43"/>
        <source>name, e.g. files</source>
        <translation>名称，例如 files</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="46"/>
        <source>a command (npx -y some-server) or a URL (http://127.0.0.1:8000/mcp)</source>
        <translation>一条命令（npx -y some-server）或一个 URL（http://127.0.0.1:8000/mcp）</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="48"/>
        <source>Add server</source>
        <translation>添加服务器</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="50"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="52"/>
        <source>Start and refresh</source>
        <translation>启动并刷新</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="82"/>
        <source>not started</source>
        <translation>未启动</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="83"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="84"/>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="85"/>
        <source>error</source>
        <translation>出错</translation>
    </message>
    <message>
        <location filename="../mcp_box.py" line="121"/>
        <source>Give the server a name and a command or a URL.</source>
        <translation>请为服务器填写名称，以及一条命令或一个 URL。</translation>
    </message>
</context>
<context>
    <name>Microphone</name>
    <message>
        <location filename="../microphone.py" line="93"/>
        <source>No microphone found. Connect one, or choose another in Settings.</source>
        <translation>未找到麦克风。请连接一个，或在设置中选择其他麦克风。</translation>
    </message>
    <message>
        <location filename="../microphone.py" line="109"/>
        <source>This microphone records in a format Hearth cannot read.</source>
        <translation>此麦克风的录音格式 Hearth 无法读取。</translation>
    </message>
    <message>
        <location filename="../microphone.py" line="117"/>
        <source>The microphone could not be opened: access was refused, or another program holds it.</source>
        <translation>无法打开麦克风：访问被拒绝，或另一个程序正在占用它。</translation>
    </message>
    <message>
        <location filename="../microphone.py" line="157"/>
        <source>The microphone stopped (unplugged?). What was recorded is kept.</source>
        <translation>麦克风已停止（被拔出？）。已录制的内容会保留。</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <location filename="../models_page.py" line="51"/>
        <source>Installed models</source>
        <translation>已安装的模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="54"/>
        <location filename="../models_page.py" line="69"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="55"/>
        <location filename="../models_page.py" line="71"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="56"/>
        <source>Quantisation</source>
        <translation>量化</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="57"/>
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="58"/>
        <source>Capabilities</source>
        <translation>能力</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="66"/>
        <source>Models to download</source>
        <translation>可下载的模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="70"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="72"/>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="73"/>
        <location filename="../models_page.py" line="155"/>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="79"/>
        <source>Import a GGUF file…</source>
        <translation>导入 GGUF 文件…</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="81"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="89"/>
        <source>Installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="91"/>
        <source>Catalog</source>
        <translation>模型目录</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="125"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="129"/>
        <source>built in</source>
        <translation>内置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="139"/>
        <source>recommended for this computer</source>
        <translation>推荐用于这台电脑</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="141"/>
        <source>needs more memory than is free</source>
        <translation>需要的内存超过空闲内存</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="148"/>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="152"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="171"/>
        <source>Downloaded %1</source>
        <translation>已下载 %1</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="187"/>
        <source>Download cancelled; it resumes where it stopped.</source>
        <translation>下载已取消；下次会从中断处继续。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="191"/>
        <source>Import a model</source>
        <translation>导入模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="197"/>
        <source>Imported %1</source>
        <translation>已导入 %1</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="207"/>
        <source>Delete model</source>
        <translation>删除模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="208"/>
        <source>Delete %1 from this device?</source>
        <translation>从本机删除 %1？</translation>
    </message>
</context>
<context>
    <name>ParamsPanel</name>
    <message>
        <location filename="../params_panel.py" line="24"/>
        <source>Balanced</source>
        <translation>均衡</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="25"/>
        <source>Customer service</source>
        <translation>客户服务</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="26"/>
        <source>Writing</source>
        <translation>写作</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="27"/>
        <source>Coding</source>
        <translation>编程</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="28"/>
        <source>Data analysis</source>
        <translation>数据分析</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="48"/>
        <source>Optional instructions for the model</source>
        <translation>给模型的可选指示</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="52"/>
        <source>Summarize older messages</source>
        <translation>摘要较早的消息</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="53"/>
        <source>Drop the oldest messages</source>
        <translation>丢弃最早的消息</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="54"/>
        <source>Stop and say so</source>
        <translation>停止并说明</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="58"/>
        <source>Save as preset…</source>
        <translation>保存为预设…</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="60"/>
        <source>Delete preset</source>
        <translation>删除预设</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="64"/>
        <source>Preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="65"/>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="66"/>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="67"/>
        <source>Max tokens</source>
        <translation>最大词元数</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="68"/>
        <source>Frequency penalty</source>
        <translation>频率惩罚</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="69"/>
        <source>Presence penalty</source>
        <translation>存在惩罚</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="70"/>
        <source>When the context is full</source>
        <translation>上下文已满时</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="72"/>
        <source>Parameters</source>
        <translation>参数</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="47"/>
        <location filename="../params_panel.py" line="76"/>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="121"/>
        <source>Save preset</source>
        <translation>保存预设</translation>
    </message>
    <message>
        <location filename="../params_panel.py" line="121"/>
        <source>Preset name:</source>
        <translation>预设名称：</translation>
    </message>
</context>
<context>
    <name>QuickAsk</name>
    <message>
        <location filename="../quick_ask.py" line="39"/>
        <source>Ask Hearth</source>
        <translation>问 Hearth</translation>
    </message>
    <message>
        <location filename="../quick_ask.py" line="43"/>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <location filename="../quick_ask.py" line="44"/>
        <source>Ask anything… (Enter)</source>
        <translation>随便问…（回车）</translation>
    </message>
    <message>
        <location filename="../quick_ask.py" line="48"/>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <location filename="../quick_ask.py" line="51"/>
        <source>Open in Hearth</source>
        <translation>在 Hearth 中打开</translation>
    </message>
    <message>
        <location filename="../quick_ask.py" line="61"/>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../quick_ask.py" line="74"/>
        <source>Thinking…</source>
        <translation>思考中…</translation>
    </message>
</context>
<context>
    <name>RecorderBar</name>
    <message>
        <location filename="../recorder_bar.py" line="31"/>
        <location filename="../recorder_bar.py" line="86"/>
        <source>Record</source>
        <translation>录音</translation>
    </message>
    <message>
        <location filename="../recorder_bar.py" line="33"/>
        <source>Record from the microphone</source>
        <translation>用麦克风录音</translation>
    </message>
    <message>
        <location filename="../recorder_bar.py" line="86"/>
        <source>Stop recording</source>
        <translation>停止录音</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <location filename="../settings_page.py" line="70"/>
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="83"/>
        <source>Models and hardware</source>
        <translation>模型与硬件</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="86"/>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="91"/>
        <location filename="../settings_page.py" line="403"/>
        <source>Models folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="94"/>
        <source>Default chat model</source>
        <translation>默认对话模型</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="95"/>
        <source>Default transcription model</source>
        <translation>默认转写模型</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="99"/>
        <source>Context size (tokens)</source>
        <translation>上下文长度（词元）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="102"/>
        <source>automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="103"/>
        <source>CPU threads</source>
        <translation>CPU 线程</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="104"/>
        <source>Automatic (as many layers as fit)</source>
        <translation>自动（尽可能多的层）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="115"/>
        <source>GPU layers</source>
        <translation>GPU 层数</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="119"/>
        <source>Privacy</source>
        <translation>隐私</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="123"/>
        <source>Local only (nothing leaves this device)</source>
        <translation>仅本地（数据不离开本机）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="124"/>
        <source>Local first, remote as a fallback</source>
        <translation>本地优先，远程备用</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="125"/>
        <source>Remote first, local as a fallback</source>
        <translation>远程优先，本地备用</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="126"/>
        <source>Remote only</source>
        <translation>仅远程</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="130"/>
        <source>Routing</source>
        <translation>路由</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="133"/>
        <source>Fallback remote model</source>
        <translation>备用远程模型</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="135"/>
        <source>comma-separated names and words</source>
        <translation>用逗号分隔的名称和词语</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="136"/>
        <source>Always redact</source>
        <translation>始终脱敏</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="138"/>
        <source>one regular expression per line</source>
        <translation>每行一个正则表达式</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="140"/>
        <source>Redaction patterns</source>
        <translation>脱敏规则</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="141"/>
        <source>Apply the moderation lists</source>
        <translation>应用内容审核列表</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="142"/>
        <source>Save &quot;remember that …&quot; as a memory</source>
        <translation>把“记住……”保存为记忆</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="143"/>
        <source>Keep message text in the audit log</source>
        <translation>在审计日志中保留消息文本</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="145"/>
        <source>Let programs on this computer use the Ollama API without the token</source>
        <translation>允许本机上的程序不带令牌使用 Ollama API</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="149"/>
        <source>Ollama&apos;s clients (Open WebUI, editor plugins) send no token. With this on, any program running on this computer can use /api/* on Hearth&apos;s port; other machines and web pages still cannot.</source>
        <translation>Ollama 的客户端（Open WebUI、编辑器插件）不发送令牌。开启后，本机上运行的任何程序都可以使用 Hearth 端口上的 /api/*；其他机器和网页仍然不能。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="157"/>
        <source>Remote providers and keys</source>
        <translation>远程服务与密钥</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="168"/>
        <source>comma-separated model names</source>
        <translation>用逗号分隔的模型名称</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="171"/>
        <source>kept in the key store, never shown again</source>
        <translation>保存在密钥库中，不再显示</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="172"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="173"/>
        <source>Base URL</source>
        <translation>基础 URL</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="174"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="175"/>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="179"/>
        <source>Add provider</source>
        <translation>添加服务</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="180"/>
        <source>Test selected</source>
        <translation>测试所选</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="181"/>
        <source>Remove selected</source>
        <translation>移除所选</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="191"/>
        <source>Keys in the key store</source>
        <translation>密钥库中的密钥</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="198"/>
        <source>Unlock…</source>
        <translation>解锁…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="215"/>
        <source>Key store: open.</source>
        <translation>密钥库：已打开。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="217"/>
        <source>Key store: locked. Hearth asks for its passphrase when a secret is needed.</source>
        <translation>密钥库：已锁定。需要用到机密时，Hearth 会询问口令。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="220"/>
        <source>Key store: no passphrase yet. Hearth asks you to choose one when you first store a key.</source>
        <translation>密钥库：尚未设置口令。首次保存密钥时，Hearth 会请您设置一个。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="222"/>
        <source>Key store: the system keyring does not answer.</source>
        <translation>密钥库：系统钥匙环没有响应。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="228"/>
        <source>Local API (for other tools)</source>
        <translation>本地 API（供其他工具使用）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="232"/>
        <location filename="../settings_page.py" line="250"/>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="239"/>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="243"/>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="252"/>
        <source>Rotate</source>
        <translation>轮换</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="258"/>
        <source>API token</source>
        <translation>API 令牌</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="262"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="272"/>
        <source>Interface language (after a restart)</source>
        <translation>界面语言（重启后生效）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="276"/>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="279"/>
        <location filename="../settings_page.py" line="285"/>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="280"/>
        <source>As the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="280"/>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="281"/>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="294"/>
        <location filename="../settings_page.py" line="297"/>
        <source>Microphone</source>
        <translation>麦克风</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="301"/>
        <source>Record from</source>
        <translation>录音设备</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="302"/>
        <source>Send the message as soon as I stop dictating</source>
        <translation>停止听写后立即发送消息</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="313"/>
        <source>The system&apos;s default</source>
        <translation>系统默认</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="379"/>
        <source>[key locked]</source>
        <translation>[密钥已锁定]</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="389"/>
        <source>This build runs models on the CPU (no GPU offload).</source>
        <translation>此版本在 CPU 上运行模型（不支持 GPU 卸载）。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="396"/>
        <source>About %1 of GPU memory for the default model</source>
        <translation>默认模型约占用 %1 显存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="444"/>
        <source>Nothing to change.</source>
        <translation>没有需要更改的内容。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="449"/>
        <source>Settings saved.</source>
        <translation>设置已保存。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="468"/>
        <source>Provider %1 saved.</source>
        <translation>服务 %1 已保存。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="484"/>
        <source>%1 answers: %2</source>
        <translation>%1 已响应：%2</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="499"/>
        <source>A new API token is in use; update other tools that used the old one.</source>
        <translation>新的 API 令牌已启用；请更新使用旧令牌的其他工具。</translation>
    </message>
</context>
<context>
    <name>TranscribePage</name>
    <message>
        <location filename="../transcribe_page.py" line="54"/>
        <source>Transcriptions</source>
        <translation>转写任务</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="57"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="58"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="59"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="60"/>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="61"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="66"/>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="68"/>
        <source>Transcribe all</source>
        <translation>全部转写</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="70"/>
        <source>Cancel all</source>
        <translation>全部取消</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="75"/>
        <source>Export all…</source>
        <translation>全部导出…</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="77"/>
        <source>Clear finished</source>
        <translation>清除已完成</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="86"/>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="92"/>
        <source>Add audio or video files, or record from the microphone; choose a language and model for each, and transcribe them in the background.</source>
        <translation>添加音频或视频文件，或用麦克风录音；为每个文件选择语言和模型，并在后台转写。</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="111"/>
        <source>Add files</source>
        <translation>添加文件</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="121"/>
        <source>auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="127"/>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="137"/>
        <source>Recording saved as %1; transcribing it.</source>
        <translation>录音已保存为 %1；正在转写。</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="153"/>
        <source>Sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="172"/>
        <source>Failed: %1</source>
        <translation>失败：%1</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="190"/>
        <source>Export to folder</source>
        <translation>导出到文件夹</translation>
    </message>
    <message>
        <location filename="../transcribe_page.py" line="206"/>
        <source>Exported %1 transcripts</source>
        <translation>已导出 %1 份转写稿</translation>
    </message>
</context>
<context>
    <name>TranscriptCard</name>
    <message>
        <location filename="../drop_cards.py" line="114"/>
        <source>Insert into chat</source>
        <translation>插入对话</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="116"/>
        <source>Open as document</source>
        <translation>作为文档打开</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="119"/>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="146"/>
        <source>Export transcript</source>
        <translation>导出转写稿</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="157"/>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
</context>
<context>
    <name>TranscriptView</name>
    <message>
        <location filename="../transcript_view.py" line="45"/>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="53"/>
        <source>Explain what a GGUF file is, in three sentences.</source>
        <translation>用三句话解释什么是 GGUF 文件。</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="54"/>
        <source>Write a Python function that reverses the words in a sentence.</source>
        <translation>写一个 Python 函数，把句子中的单词顺序反转。</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="55"/>
        <source>Give me a packing list for a weekend hike.</source>
        <translation>给我一份周末徒步的行李清单。</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="79"/>
        <source>What can I help with?</source>
        <translation>有什么可以帮你？</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="79"/>
        <source>Try:</source>
        <translation>试试：</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="83"/>
        <source>Everything runs on this computer, even with the network unplugged.</source>
        <translation>一切都在这台电脑上运行，即使断开网络也可以。</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="89"/>
        <source>Drop audio to transcribe it, an image to caption and read it, or documents on the Knowledge page to ask about them. The microphone button (Ctrl+Shift+D) takes dictation.</source>
        <translation>拖入音频即可转写，拖入图片即可生成描述并识别文字，或在“知识”页面添加文档后就其提问。麦克风按钮（Ctrl+Shift+D）可以听写。</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="99"/>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="101"/>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="131"/>
        <source>waiting for your approval</source>
        <translation>等待你的批准</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="132"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="133"/>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="134"/>
        <source>denied</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="135"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="169"/>
        <source>Sources:</source>
        <translation>来源：</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="177"/>
        <source>%1 tokens</source>
        <translation>%1 个词元</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="179"/>
        <source>%1 tokens/s</source>
        <translation>%1 词元/秒</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="186"/>
        <source>%1 earlier messages left out</source>
        <translation>省略了 %1 条较早的消息</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="189"/>
        <source>%1 messages summarized</source>
        <translation>已摘要 %1 条消息</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="191"/>
        <source>%1 items redacted</source>
        <translation>已脱敏 %1 项</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="193"/>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../transcript_view.py" line="224"/>
        <source>Code copied</source>
        <translation>代码已复制</translation>
    </message>
</context>
<context>
    <name>UnlockDialog</name>
    <message>
        <location filename="../unlock_dialog.py" line="27"/>
        <source>Choose a passphrase for your secrets</source>
        <translation>为您的机密设置口令</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="29"/>
        <source>This system has no keyring, so Hearth keeps secrets, such as remote providers&apos; API keys, in a file encrypted with a passphrase you choose now. Hearth asks for it only when it needs one of those secrets; everything else works without it. It cannot be recovered if you forget it.</source>
        <translation>此系统没有钥匙环，因此 Hearth 将机密（例如远程服务商的 API 密钥）保存在一个用您现在设置的口令加密的文件中。只有在需要这些机密时 Hearth 才会询问口令，其他功能无需口令即可使用。口令遗忘后无法找回。</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="35"/>
        <source>Unlock your secrets</source>
        <translation>解锁您的机密</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="37"/>
        <source>Hearth needs a secret from its encrypted key store (a remote provider&apos;s API key). Enter the key store&apos;s passphrase to unlock it.</source>
        <translation>Hearth 需要读取加密密钥库中的机密（远程服务商的 API 密钥）。请输入密钥库口令以解锁。</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="47"/>
        <source>Passphrase</source>
        <translation>口令</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="48"/>
        <source>Passphrase:</source>
        <translation>口令：</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="52"/>
        <source>Passphrase again</source>
        <translation>再次输入口令</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="54"/>
        <source>Again:</source>
        <translation>再次输入：</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="56"/>
        <source>Keep it unlocked until Hearth closes</source>
        <translation>在 Hearth 关闭前保持解锁</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="60"/>
        <source>Otherwise the key store locks itself again after a few minutes unused.</source>
        <translation>否则密钥库在闲置几分钟后会自动重新锁定。</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="79"/>
        <source>The passphrase cannot be empty.</source>
        <translation>口令不能为空。</translation>
    </message>
    <message>
        <location filename="../unlock_dialog.py" line="81"/>
        <source>The two passphrases differ.</source>
        <translation>两次输入的口令不一致。</translation>
    </message>
</context>
<context>
    <name>UsagePage</name>
    <message>
        <location filename="../usage_page.py" line="48"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="49"/>
        <source>Endpoint</source>
        <translation>接口</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="50"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="51"/>
        <source>Provider</source>
        <translation>服务</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="52"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="53"/>
        <source>Time (ms)</source>
        <translation>耗时（毫秒）</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="60"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="45"/>
        <location filename="../usage_page.py" line="64"/>
        <source>Recent requests</source>
        <translation>最近的请求</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="37"/>
        <source>Tokens per day, by provider</source>
        <translation>每日词元数（按提供方）</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="38"/>
        <source>First token (ms), day by day</source>
        <translation>首个词元延迟（毫秒），按天</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="39"/>
        <source>Cost by provider (30 days)</source>
        <translation>各提供方的费用（30 天）</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="69"/>
        <source>Edit…</source>
        <translation>编辑…</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="71"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="78"/>
        <source>What Hearth remembers across conversations (say &quot;remember that …&quot; in a chat to add one).</source>
        <translation>Hearth 跨对话记住的内容（在对话中说“记住……”即可添加）。</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="90"/>
        <source>Usage</source>
        <translation>用量</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="91"/>
        <source>Memories</source>
        <translation>记忆</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="140"/>
        <source>%1 on %2: %3 tokens</source>
        <translation>%1 在 %2：%3 个词元</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="149"/>
        <source>%1 on %2: first token after %3 ms</source>
        <translation>%1 在 %2：首个词元用时 %3 毫秒</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="155"/>
        <source>cost</source>
        <translation>费用</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="156"/>
        <source>%1: %2 %3</source>
        <translation>%1：%2 %3</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="172"/>
        <source>Edit memory</source>
        <translation>编辑记忆</translation>
    </message>
    <message>
        <location filename="../usage_page.py" line="172"/>
        <source>Memory:</source>
        <translation>记忆：</translation>
    </message>
</context>
<context>
    <name>Welcome</name>
    <message>
        <location filename="../welcome.py" line="40"/>
        <source>Welcome to Hearth</source>
        <translation>欢迎使用 Hearth</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="43"/>
        <source>Everything runs on this computer, and it keeps working with the network unplugged. Built in: a tiny chat model for trying Hearth out (its answers are rough), Whisper for speech, and a model that searches your files.</source>
        <translation>一切都在这台电脑上运行，断开网络也能继续工作。内置：一个用于试用 Hearth 的小型聊天模型（回答比较粗糙）、用于语音的 Whisper，以及一个搜索你文件的模型。</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="50"/>
        <source>Download and use it</source>
        <translation>下载并使用</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="55"/>
        <source>Download progress</source>
        <translation>下载进度</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="58"/>
        <source>Not now</source>
        <translation>以后再说</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="80"/>
        <source>The catalog on the Models page has larger models.</source>
        <translation>“模型”页面的目录中有更大的模型。</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="84"/>
        <source>%1 is installed: choose it in the model list for better answers.</source>
        <translation>%1 已安装：在模型列表中选择它，可以得到更好的回答。</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="90"/>
        <source>For better answers, get %1 (about %2). It fits this computer&apos;s free memory, and becomes the default model when it has arrived.</source>
        <translation>要获得更好的回答，请下载 %1（约 %2）。它适合这台电脑的空闲内存，下载完成后将成为默认模型。</translation>
    </message>
    <message>
        <location filename="../welcome.py" line="104"/>
        <source>%1 is in, and is now the default model.</source>
        <translation>%1 已就绪，现在是默认模型。</translation>
    </message>
</context>
<context>
    <name>_Card</name>
    <message>
        <location filename="../drop_cards.py" line="40"/>
        <source>Sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="43"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="47"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="70"/>
        <source>Waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="71"/>
        <source>Working</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="72"/>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="73"/>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="74"/>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="87"/>
        <source>Failed: %1</source>
        <translation>失败：%1</translation>
    </message>
    <message>
        <location filename="../drop_cards.py" line="94"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
</context>
</TS>
