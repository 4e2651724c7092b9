# Two commands for a new user: `make app` and `make test`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: app test install fuzz bench screenshot clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[app,test]"
	touch $(STAMP)

install: $(STAMP)

app: $(STAMP)
	$(VENV)/bin/streamlit run app/main.py

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2

# Long fuzz profile of the file loaders: 850 cases per format (12 formats: 10,200 cases).
fuzz: $(STAMP)
	TFE_FUZZ_EXAMPLES=850 OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 tests/data/test_data_fuzz.py

bench: $(STAMP)
	$(VENV)/bin/tensorframes bench

# The README's screenshot, taken by the real-browser test (needs /usr/bin/chromium).
screenshot: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q tests/app/test_app_browser.py
	mkdir -p docs && cp tests/artifacts/explorer.png docs/explorer.png

clean:
	rm -rf $(VENV)
