# Two entry points: `make demo` (all stages on generated data) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := demo
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: demo test lint bench clean-demo

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest -q tests

lint: $(VENV)/.installed
	$(PY) -m ruff check .

# The whole pipeline on synthetic IDRiD-layout data, small settings so it ends in minutes on a CPU.
demo: $(VENV)/.installed
	$(PY) make_demo_data.py --out $(DEMO)/IDRiD --n-images 12 --size 1424x944
	$(PY) gt_binary.py --raw $(DEMO)/IDRiD --data $(DEMO)/data
	$(PY) extract_patches.py --data $(DEMO)/data
	$(PY) traintest_split.py --data $(DEMO)/data
	$(PY) train.py --data $(DEMO)/data --checkpoints $(DEMO)/checkpoints --fresh \
		--base-filters 8 --depth 5 --epochs 12 --learning-rate 1e-3
	$(PY) evaluate.py --data $(DEMO)/data --checkpoints $(DEMO)/checkpoints --results $(DEMO)/results
	$(PY) infer.py --checkpoints $(DEMO)/checkpoints --out $(DEMO)/results/infer \
		"$(DEMO)/IDRiD/A. Segmentation/1. Original Images/b. Testing Set"
	@echo "demo done: metrics in $(DEMO)/results/metrics.json, FROC plot $(DEMO)/results/froc.png"

clean-demo:
	rm -rf $(DEMO)
