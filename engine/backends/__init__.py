"""The only modules that import inference libraries (llama_cpp, faster_whisper, rapidocr)."""
