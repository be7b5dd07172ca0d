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

# ---- Real data: the documented recipes (README / RESULTS.md). DATA is your copy of the dataset.
# The training flags are the CPU-sized settings used for RESULTS.md; set TRAIN_FLAGS= for the
# paper's defaults (16 filters x 7 levels, 100 epochs, lr 1e-4) on a GPU.
SHELL := /bin/bash
LESION ?= EX
RUN ?= runs/idrid-$(shell echo $(LESION) | tr A-Z a-z)
# Mild photometric augmentation: the paper's deltas (0.7, 0.3), applied to [0, 1] pixels as they
# should be, are too strong for a short CPU budget (RESULTS.md shows such a run learning nothing).
MILD_AUG := --brightness-delta 0.1 --hue-delta 0.02
# IDRID_EPOCHS: 6 for the short runs of RESULTS.md; a larger value on a folder that holds a run
# extends that run (train.py resumes), giving the same weights as one uninterrupted run.
IDRID_EPOCHS ?= 6
TRAIN_FLAGS ?= --base-filters 8 --depth 6 --epochs $(IDRID_EPOCHS) --steps-per-epoch 100 --learning-rate 1e-3 $(MILD_AUG)
SPLIT_FLAGS ?= --test-fraction 0.2 --val-fraction 0.2 --seed 42

.PHONY: reproduce-idrid reproduce-drive
reproduce-idrid: $(VENV)/.installed
	@test -n "$(DATA)" || { echo "usage: make reproduce-idrid DATA=/path/to/IDRiD [LESION=EX]"; exit 2; }
	time $(PY) gt_binary.py --raw "$(DATA)" --lesion $(LESION) --data $(RUN)/data
	time $(PY) extract_patches.py --data $(RUN)/data
	time $(PY) traintest_split.py --data $(RUN)/data $(SPLIT_FLAGS)
	time $(PY) train.py --data $(RUN)/data --checkpoints $(RUN)/checkpoints $(TRAIN_FLAGS)
	time $(PY) evaluate.py --data $(RUN)/data --checkpoints $(RUN)/checkpoints --results $(RUN)/results

DRIVE_RUN ?= runs/drive
DRIVE_TRAIN_FLAGS ?= --base-filters 8 --depth 6 --epochs 40 --learning-rate 1e-3 $(MILD_AUG)
reproduce-drive: $(VENV)/.installed
	@test -n "$(DATA)" || { echo "usage: make reproduce-drive DATA=/path/to/DRIVE/training"; exit 2; }
	time $(PY) gt_binary.py --raw "$(DATA)" --data $(DRIVE_RUN)/data
	time $(PY) extract_patches.py --data $(DRIVE_RUN)/data --patch-size 256 --stride 128
	time $(PY) traintest_split.py --data $(DRIVE_RUN)/data --test-fraction 0.25 --val-fraction 0.2 --seed 42
	time $(PY) train.py --data $(DRIVE_RUN)/data --checkpoints $(DRIVE_RUN)/checkpoints $(DRIVE_TRAIN_FLAGS)
	time $(PY) evaluate.py --data $(DRIVE_RUN)/data --checkpoints $(DRIVE_RUN)/checkpoints \
		--results $(DRIVE_RUN)/results --patch-size 256 --stride 128
