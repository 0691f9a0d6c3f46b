/*
 * An umbrella over every floor's header, for the tests, benchmarks and
 * fuzzers only: no file in src/ includes it (tests/include_check.py checks
 * that). Library files include their own floor's header instead; the floors
 * are drawn in docs/architecture.md. Not installed.
 */
#ifndef RW_INTERNAL_H
#define RW_INTERNAL_H

#include "base/base.h"
#include "base/bytes.h"
#include "layers/layers.h"
#include "data/data.h"
#include "net/net.h"
#include "dist/dist.h"
#include "plasticity/plasticity.h"
#include "io/io.h"
#include "learn/learn.h"

#endif /* RW_INTERNAL_H */
