#!/usr/bin/env bash
# The main job: install what is missing, build rewire, and train a sparse
# network that rewires itself (SET) on Fashion-MNIST, with progress, a
# saved model, a training log and pictures in out/. Without the dataset
# package it trains on the built-in two-spirals dataset instead.
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  if [ "$a" = --help ] || [ "$a" = -h ]; then
    echo "usage: scripts/quickstart.sh [rewire train options]"
    echo "Installs what is missing (as root), builds build/rewire and trains the main"
    echo "job; options given here are passed on to 'rewire train' and override its"
    echo "settings (e.g. --epochs 3). 'build/rewire train --help' lists them."
    exit 0
  fi
done

scripts/deps.sh build
scripts/deps.sh data
scripts/deps.sh python || echo "note: python3-numpy could not be installed (only import rewire needs it)" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
# librewire.so too, for the Python package (PYTHONPATH=python /usr/bin/python3).
cmake --build build -j"$(nproc)" --target rewire_cli librewire_shared >/dev/null

mkdir -p out
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  data=fashion-mnist
  args=(--hidden 1000,1000,1000 --epsilon 20 --rewire set --drop-schedule cosine --drop-by-usage
        --epochs 10 --optimizer adamw --weight-decay 0.1 --lr 0.002 --schedule cosine)
else
  echo "dataset-fashion-mnist is not installed: training on the built-in spirals" >&2
  data=spirals
  args=(--hidden 64,64 --epsilon 4 --rewire set --epochs 60 --lr 0.01)
fi

build/rewire train --data "$data" "${args[@]}" \
  --save out/model.rwm --log out/run.jsonl --plot out "$@"
echo
build/rewire info --model out/model.rwm
echo
echo "model: out/model.rwm   log: out/run.jsonl   pictures: out/*.png"
echo "try:   build/rewire eval --model out/model.rwm --data $data"
